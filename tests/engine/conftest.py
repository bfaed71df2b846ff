"""Engine fixtures: a real sshd on 127.0.0.1, real git repositories, and a task-run helper.

The sshd is started as STACK-NOTES.md §6 says: its own host key, a free port, an
AuthorizedKeysFile in a temp directory, root login by key only. One per xdist worker.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from semaphore.engine.runner import TaskRunner
from semaphore.engine.spec import (
    Credential,
    EngineSettings,
    RepositorySpec,
    RunResult,
    TaskSpec,
    TemplateSpec,
)
from tests.services import free_port, wait_for_port

STUBS = Path(__file__).parent / "stubs"
VENV_BIN = Path(sys.executable).parent
PASSPHRASE = "correct horse battery"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
}


# --- sshd -----------------------------------------------------------------------------------


@dataclass
class Sshd:
    port: int
    directory: Path
    authorized_keys: Path

    def url(self, path: Path) -> str:
        return f"ssh://root@127.0.0.1:{self.port}{path}"


@dataclass
class SshKey:
    private: str
    public: str
    passphrase: str = ""


def _keygen(directory: Path, name: str, *extra: str, passphrase: str = "") -> SshKey:
    path = directory / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", name, "-f", str(path)]
        + list(extra),
        check=True,
    )
    return SshKey(path.read_text(), (directory / f"{name}.pub").read_text(), passphrase)


@pytest.fixture(scope="session")
def ssh_keys() -> Iterator[dict[str, SshKey]]:
    directory = Path(tempfile.mkdtemp(prefix="sem-keys-"))
    keys = {
        "good": _keygen(directory, "good"),
        "locked": _keygen(directory, "locked", passphrase=PASSPHRASE),
        "wrong": _keygen(directory, "wrong"),
    }
    # An RSA key in the legacy PEM format with a passphrase: the other format clients upload.
    pem = directory / "pem"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", PASSPHRASE]
        + ["-f", str(pem)],
        check=True,
    )
    keys["pem"] = SshKey(pem.read_text(), (directory / "pem.pub").read_text(), PASSPHRASE)
    yield keys
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def sshd(ssh_keys: dict[str, SshKey]) -> Iterator[Sshd]:
    """sshd on 127.0.0.1 accepting root with the good, locked and pem keys (not `wrong`)."""
    program = shutil.which("sshd", path="/usr/sbin:/usr/bin")
    if program is None:
        pytest.fail("openssh-server is not installed (make test installs it)")
    directory = Path(tempfile.mkdtemp(prefix="sem-sshd-"))
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(directory / "host_key")],
        check=True,
    )
    authorized = directory / "authorized_keys"
    authorized.write_text("".join(ssh_keys[k].public for k in ("good", "locked", "pem")))
    authorized.chmod(0o600)
    port = free_port()
    config = directory / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {directory / 'host_key'}\n"
        f"PidFile {directory / 'sshd.pid'}\nAuthorizedKeysFile {authorized}\n"
        "PermitRootLogin prohibit-password\nPubkeyAuthentication yes\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "StrictModes no\nMaxStartups 100\n"
        # The cheapest key exchange: this machine spends 0.2 s per connection on the default.
        "KexAlgorithms curve25519-sha256\nSubsystem sftp /usr/lib/openssh/sftp-server\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    process = subprocess.Popen(
        [program, "-D", "-f", str(config), "-E", str(directory / "sshd.log")],
        start_new_session=True,
    )
    try:
        wait_for_port(port)
        yield Sshd(port, directory, authorized)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


# --- git ------------------------------------------------------------------------------------


def git(*args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, **GIT_IDENTITY}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@dataclass
class Repo:
    """A bare repository with a scratch clone to commit through."""

    bare: Path
    work: Path

    @property
    def url(self) -> str:
        return f"file://{self.bare}"

    def commit(self, files: Mapping[str, str], message: str, branch: str = "main") -> str:
        """Write files on a branch (created from main if new), push, return the hash."""
        existing = git("branch", "--list", branch, cwd=self.work)
        git("checkout", *(["-q"] if existing else ["-q", "-b"]), branch, cwd=self.work)
        for name, content in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            if name.endswith(".sh"):
                path.chmod(0o755)
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "-m", message, cwd=self.work)
        git("push", "-q", "origin", branch, cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)


@pytest.fixture
def make_repo(tmp_path: Path):
    """make_repo(files, message="initial") -> Repo with one commit on main."""
    counter = {"n": 0}

    def make(files: Mapping[str, str], message: str = "initial") -> Repo:
        counter["n"] += 1
        root = tmp_path / f"repo{counter['n']}"
        bare = root / "repo.git"
        work = root / "work"
        git("init", "-q", "--bare", "-b", "main", str(bare))
        git("clone", "-q", str(bare), str(work))
        git("checkout", "-q", "-b", "main", cwd=work)
        repo = Repo(bare, work)
        repo.commit(files, message)
        return repo

    return make


# --- runs -----------------------------------------------------------------------------------

_ids = itertools.count(1)


def unique_key_id() -> int:
    """A key id no other test uses at the same time, in this or another xdist worker: agent
    sockets are named after it, and tests look for leftovers by that name."""
    return os.getpid() * 1000 + next(_ids)


@pytest.fixture
def settings(tmp_path: Path) -> EngineSettings:
    """Engine settings for a test: its own tmp_path; the stubs first on the server PATH.

    The tools run in the sandbox (the default): the stubs' log directory is shown to them
    read-write, as an admin would with task_sandbox_paths, and local repositories may live
    anywhere in the test's directory.
    """
    path = f"{STUBS}:{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    stub_log = tmp_path / "stub-log" / "stub.log"
    stub_log.parent.mkdir()
    return EngineSettings(
        tmp_path=str(tmp_path / "tmp"),
        env_vars={"STUB_LOG": str(stub_log)},
        server_env={"PATH": path, "LANG": "C.UTF-8"},
        stop_grace_seconds=2.0,
        sandbox_paths=(f"{stub_log.parent}:rw",),
        local_repository_roots=(str(tmp_path),),
    )


def stub_calls(settings: EngineSettings) -> list[dict[str, Any]]:
    log = Path(settings.env_vars["STUB_LOG"])
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


@dataclass
class Run:
    result: RunResult
    lines: list[str] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    commits: list[tuple[str, str]] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


def start(spec: TaskSpec, settings: EngineSettings, confirm: Any = None) -> tuple[TaskRunner, Run]:
    """A TaskRunner wired to a Run that records everything it reports (run() not called)."""
    run = Run(RunResult("unknown"))

    def on_line(text: str, at: datetime) -> None:
        # One read's lines come together, joined by "\n".
        for line in text.split("\n"):
            run.lines.append(line)
            run.times.append(at)

    runner = TaskRunner(
        spec,
        settings,
        on_line=on_line,
        on_status=run.statuses.append,
        on_commit=lambda h, m: run.commits.append((h, m)),
        confirm=confirm,
    )
    return runner, run


def run_task(spec: TaskSpec, settings: EngineSettings, confirm: Any = None) -> Run:
    runner, run = start(spec, settings, confirm)
    run.result = runner.run()
    return run


def task(
    repo_url: str,
    app: str = "bash",
    script: str = "run.sh",
    credential: Credential | None = None,
    task_id: int = 1,
    template: dict[str, Any] | None = None,
    **fields: Any,
) -> TaskSpec:
    """A TaskSpec with defaults. `script` is the template's playbook; `template` its fields."""
    spec = TaskSpec(
        task_id=task_id,
        project_id=1,
        template=TemplateSpec(id=7, app=app, playbook=script),
        repository=RepositorySpec(id=3, url=repo_url, branch="main", credential=credential),
    )
    if template:
        spec = replace(spec, template=replace(spec.template, **template))
    return replace(spec, **fields)


def leftovers(settings: EngineSettings) -> list[str]:
    """Files of finished runs still under tmp_path, other than the kept checkouts and HOMEs
    (tmp_path itself without the sandbox, a project's home_<id> in it), whose mount points
    for the run must be gone too."""
    root = Path(settings.tmp_path)
    if not root.exists():
        return []
    found = []
    for path in root.iterdir():
        if path.name.startswith("home_"):
            found += [f"{path.name}/{p.name}" for p in path.iterdir() if p.name != ".ansible"]
        elif not path.name.startswith("repository_") and path.name != ".ansible":
            found.append(path.name)
    return sorted(found)
