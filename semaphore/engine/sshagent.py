"""SSH keys for git and ansible, given through an ssh-agent as the original does.

Why an agent rather than a 0600 key file: the original hands keys to git and ansible only
through SSH_AUTH_SOCK (never `--private-key`), so an agent keeps ansible's command line exactly
the original's, and the key never touches the disk. A passphrase-protected key is decrypted here,
in memory, with `cryptography`, and the unencrypted copy goes to `ssh-add -` through a pipe, so
no prompt and no askpass are needed. The agent's socket lives in the task's 0700 directory and
the agent is stopped when the run ends, in every outcome: it runs under the supervisor
(engine.supervisor), so it dies with the thread that started it, a SIGKILLed worker
included (ssh-agent is setgid on Debian, which would clear a parent-death signal of its own).
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from semaphore.engine import supervisor
from semaphore.engine.errors import EngineError
from semaphore.engine.process import supervised_argv

AGENT_START_SECONDS = 5.0


def unlock_private_key(private_key: str, passphrase: str = "") -> bytes:
    """The key in OpenSSH format without a passphrase, decrypted in memory.

    Raises:
        EngineError: the key does not parse or the passphrase is wrong.
    """
    # Imported by the first run with an SSH key: a worker whose runs use none never loads
    # cryptography (issue 17).
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    data = private_key.strip().encode() + b"\n"
    password = passphrase.encode() or None
    if b"BEGIN OPENSSH PRIVATE KEY" in data:
        load = serialization.load_ssh_private_key
    else:
        load = serialization.load_pem_private_key  # PKCS#1, PKCS#8, SEC1 ("-m PEM" keys)
    problem = "unsupported private key format"
    locked = False
    for attempt in (password, None) if password else (None,):
        try:
            key = load(data, attempt)
        except TypeError as exc:
            # Encrypted but no passphrase given, or a passphrase given for a plain key.
            problem, locked = str(exc), attempt is None
            continue
        except (ValueError, UnsupportedAlgorithm) as exc:
            problem = str(exc) or "wrong passphrase or damaged key"
            break
        return key.private_bytes(  # type: ignore[union-attr]
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    if password is None and not locked and b"PRIVATE KEY" in data:
        # A plain key in a format cryptography does not read (e.g. a security-key type) but
        # ssh-add may: hand it over as it is.
        return data
    raise EngineError(f"cannot load the SSH private key: {problem}")


def _accepting(path: Path) -> bool:
    """True when something listens on the unix socket at `path`."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


class SshAgent:
    """An ssh-agent process holding one key, on a socket in the task's private directory."""

    def __init__(self, socket_dir: Path, key_id: int, search_path: str | None) -> None:
        suffix = secrets.token_hex(5)
        self.socket = socket_dir / f"ssh-agent-{key_id}-{suffix}.sock"
        self._search_path = search_path
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, private_key: str, passphrase: str = "") -> SshAgent:
        """Start the agent and load the key.

        Raises:
            EngineError: the key cannot be loaded or ssh-agent/ssh-add fail.
        """
        key = unlock_private_key(private_key, passphrase)
        agent = self._program("ssh-agent")
        self._proc = subprocess.Popen(  # noqa: S603
            supervised_argv([agent, "-D", "-a", str(self.socket)]),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + AGENT_START_SECONDS
        # Accepting, not only there: the agent binds its socket a moment before it listens,
        # and ssh-add connecting in between is refused.
        while not _accepting(self.socket):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise EngineError("ssh-agent did not start")
            time.sleep(0.005)
        try:
            added = subprocess.run(  # noqa: S603
                [self._program("ssh-add"), "-q", "-"],
                input=key,  # through a pipe: the key is never written to disk
                env={"SSH_AUTH_SOCK": str(self.socket)},
                capture_output=True,
                timeout=30,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            self.stop()
            raise EngineError("ssh-add did not answer") from exc
        if added.returncode != 0:
            self.stop()
            message = added.stderr.decode(errors="replace").strip()
            raise EngineError(f"cannot add the SSH key to the agent: {message}")
        return self

    def stop(self) -> None:
        """Stop the agent (it forgets the key) and remove its socket."""
        if self._proc is not None:
            self._proc.terminate()  # the supervisor passes it on to the agent
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.send_signal(supervisor.KILL_TREE)
                try:
                    self._proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            self._proc = None
        self.socket.unlink(missing_ok=True)

    def env(self) -> Mapping[str, str]:
        return {"SSH_AUTH_SOCK": str(self.socket)}

    def _program(self, name: str) -> str:
        found = shutil.which(name, path=self._search_path) or shutil.which(
            name, path="/usr/bin:/bin"
        )
        if not found:
            raise EngineError(f"{name} is not installed")
        return found
