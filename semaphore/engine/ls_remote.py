"""Asking a remote which commit a branch is at (`git ls-remote <url> <branch>`), as the
original's repository-bound schedules do before starting a run.

The key reaches git the way a task's checkout gets it (engine.git): an ssh-agent for ssh keys,
a GIT_ASKPASS helper for a login and password over https. Both live in a private temporary
directory that is removed, with the agent stopped, in every outcome.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from semaphore.engine.errors import EngineError
from semaphore.engine.git import ASKPASS_SCRIPT, HTTPS, git_env, https_credentials, repository_kind
from semaphore.engine.spec import EngineSettings, RepositorySpec
from semaphore.engine.sshagent import SshAgent
from semaphore.executables import find_executable

# Short: a schedule's check waits for this at most, and its next fire time skips meanwhile.
LS_REMOTE_SECONDS = 20


def remote_head(repository: RepositorySpec, settings: EngineSettings) -> str:
    """The commit hash the repository's branch points at on the remote.

    Raises:
        EngineError: git failed (unreachable remote, refused key) or the branch does not exist.
    """
    git = shutil.which("git", path=settings.server_env.get("PATH")) or find_executable("git")
    if not git:
        raise EngineError("git is not installed on this server")
    credential = repository.credential
    with tempfile.TemporaryDirectory(prefix="semaphore-ls-remote-") as private:
        agent: SshAgent | None = None
        askpass = None
        try:
            if credential is not None and credential.type == "ssh":
                agent = SshAgent(Path(private), credential.id, settings.server_env.get("PATH"))
                agent.start(credential.private_key, credential.passphrase)
            elif credential is not None and credential.type == "login_password":
                if repository_kind(repository.url) == HTTPS:
                    script = Path(private) / "git-askpass.sh"
                    script.write_text(ASKPASS_SCRIPT)
                    script.chmod(0o700)
                    login, password = https_credentials(credential.login, credential.password)
                    askpass = (str(script), login, password)
            env = git_env(
                settings.server_env,
                agent_socket=str(agent.socket) if agent else None,
                ssh_config_path=settings.ssh_config_path,
                askpass=askpass,
            )
            argv = [git, "ls-remote", repository.url]
            if repository.branch:
                argv.append(repository.branch)
            try:
                done = subprocess.run(  # noqa: S603
                    argv,
                    env=env,
                    cwd=private,
                    capture_output=True,
                    text=True,
                    timeout=LS_REMOTE_SECONDS,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise EngineError(f"git ls-remote failed: {exc}") from exc
        finally:
            if agent is not None:
                agent.stop()
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()
        raise EngineError(f"git ls-remote failed: {message[-1] if message else done.returncode}")
    first = done.stdout.split("\n", 1)[0].split()
    if not first:
        raise EngineError(f"branch {repository.branch} not found in {repository.url}")
    return first[0]
