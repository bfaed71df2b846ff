"""A real OpenLDAP slapd for the LDAP tests: a throwaway directory on loopback.

Debian's slapd, started from its own temp dir with a slapd.conf (mdb database, suffix
dc=example,dc=org), loaded offline with slapadd, listening on ldap:// and, with a self-signed
certificate, ldaps:// on a second port. One per pytest-xdist worker (tests/ldap/conftest.py).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.services import free_port

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")

SUFFIX = "dc=example,dc=org"
PEOPLE = f"ou=people,{SUFFIX}"
READER_DN = f"cn=reader,{SUFFIX}"
READER_PASSWORD = "reader-secret"
ROOT_DN = f"cn=admin,{SUFFIX}"


@dataclass(frozen=True)
class Person:
    uid: str
    cn: str
    password: str
    mail: str | None = None
    display_name: str | None = None
    rdn: str = ""

    @property
    def dn(self) -> str:
        return f"{self.rdn or f'uid={self.uid}'},{PEOPLE}"


# The test directory. Twin entries share a uid, so a filter on uid finds two.
PEOPLE_ENTRIES = (
    Person("alice", "Alice Liddell", "alice-pw", "alice@example.org", "Alice L."),
    Person("Bob", "Bob Builder", "bob-pw", "Bob@Example.org", "Bobby"),
    Person("carol", "Carol Local", "carol-pw", "carol@example.org"),
    Person("dave", "Dave NoMail", "dave-pw"),
    Person("twin", "Twin One", "twin-pw", "twin1@example.org", rdn="cn=Twin One"),
    Person("twin", "Twin Two", "twin-pw", "twin2@example.org", rdn="cn=Twin Two"),
)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def ssha(password: str) -> str:
    """userPassword in slapd's salted SHA-1 form, so the directory never holds plain text."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def _ldif(people: tuple[Person, ...]) -> str:
    blocks = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
        f"dn: {READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: reader\nuserPassword: {ssha(READER_PASSWORD)}",
    ]
    for person in people:
        lines = [
            f"dn: {person.dn}",
            "objectClass: inetOrgPerson",
            f"uid: {person.uid}",
            f"cn: {person.cn}",
            f"sn: {person.cn.split()[-1]}",
            f"userPassword: {ssha(person.password)}",
        ]
        if person.mail:
            lines.append(f"mail: {person.mail}")
        if person.display_name:
            lines.append(f"displayName: {person.display_name}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _slapd_conf(root: Path) -> str:
    schemas = "\n".join(
        f"include {SCHEMA_DIR / name}.schema" for name in ("core", "cosine", "inetorgperson")
    )
    return f"""{schemas}
pidfile {root}/slapd.pid
argsfile {root}/slapd.args
modulepath {MODULE_DIR}
moduleload back_mdb
TLSCertificateFile {root}/cert.pem
TLSCertificateKeyFile {root}/key.pem
# Lets a DN with an empty password bind "unauthenticated" and succeed: the trap the code avoids.
allow bind_anon_dn

database mdb
maxsize 16777216
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw admin-secret
directory {root}/db

access to attrs=userPassword
    by anonymous auth
    by * none
access to *
    by dn.exact="{READER_DN}" read
    by self read
    by * none
"""


def _write_certificate(root: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (root / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (root / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@dataclass
class Slapd:
    """slapd on two loopback ports (ldap:// and ldaps://), run as the current user."""

    root: Path
    port: int = field(default_factory=free_port)
    tls_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.root / "slapd.log"

    def settings(self, **overrides: object) -> dict:
        """Config overrides that point Semaphore's LDAP login at this directory."""
        values = {
            "ldap_enable": True,
            "ldap_server": f"127.0.0.1:{self.port}",
            "ldap_binddn": READER_DN,
            "ldap_bindpassword": READER_PASSWORD,
            "ldap_searchdn": PEOPLE,
            "ldap_searchfilter": "(&(objectClass=inetOrgPerson)(uid=%s))",
            "ldap_needtls": False,
        }
        values.update(overrides)
        return values

    def start(self) -> Slapd:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "db").mkdir(exist_ok=True)
        _write_certificate(self.root)
        conf = self.root / "slapd.conf"
        conf.write_text(_slapd_conf(self.root))
        (self.root / "directory.ldif").write_text(_ldif(PEOPLE_ENTRIES))
        loaded = subprocess.run(
            [SLAPADD, "-f", str(conf), "-l", str(self.root / "directory.ldif")],
            capture_output=True,
            text=True,
        )
        if loaded.returncode != 0:
            raise RuntimeError(f"slapadd failed:\n{loaded.stdout}{loaded.stderr}")
        urls = f"ldap://127.0.0.1:{self.port}/ ldaps://127.0.0.1:{self.tls_port}/"
        with self.log_path.open("w") as log:
            # -d keeps slapd in the foreground (so Popen owns it) and logs connections to stderr.
            self.process = subprocess.Popen(
                [SLAPD, "-f", str(conf), "-h", urls, "-d", "stats"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_listening()
        return self

    def _wait_until_listening(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        for port in (self.port, self.tls_port):
            while not _listening(port):
                # A slapd that exited (bad config, port taken) fails now, with its log.
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"slapd did not start on port {port}:\n{self.log_path.read_text()}"
                    )
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
