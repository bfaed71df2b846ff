"""Checking out a task's repository with the git command line (the original's `cmd_git`).

A template's checkout lives at <tmp_path>/repository_<repoID>_<templateID>: cloned the first
time (`git clone --recursive --branch <b> <url> <dir>`), then brought up to date with
`git fetch origin` + `git checkout --force -B <b> origin/<b>`, which also switches branches and
discards local edits (the original pulls, and deletes and re-clones when it cannot). A checkout
whose origin URL changed is cloned again. A local path (`/…`) is used in place.

Credentials never appear on git's command line or in the checkout's .git/config:
* ssh keys: an ssh-agent (engine.sshagent) and the original's GIT_SSH_COMMAND;
* login/password over http(s): the original puts them in the URL (`scheme://login:password@…`,
  visible in the process list and stored in .git/config); here git asks a GIT_ASKPASS helper
  for the same user name and password, which it reads from its environment.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from semaphore.engine.errors import CommandFailed, EngineError

LOCAL = "local"
HTTPS = "https"
SSH = "ssh"

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")

# Answers git's "Username for …" and "Password for …" prompts from the environment.
ASKPASS_SCRIPT = """#!/bin/sh
case "$1" in
  Username*) printf '%s\\n' "$SEMAPHORE_GIT_USERNAME" ;;
  *) printf '%s\\n' "$SEMAPHORE_GIT_PASSWORD" ;;
esac
"""

# (argv, cwd, env) -> exit status; output goes to the task log.
RunFunction = Callable[[Sequence[str], Path, Mapping[str, str]], int]


def repository_kind(url: str) -> str:
    """local, https (also http), ssh, or the URL's scheme (file, git…), as the original."""
    if url.startswith("/"):
        return LOCAL
    match = _SCHEME.match(url)
    if match is None:
        return SSH  # git@host:path
    scheme = match.group(1).lower()
    return HTTPS if scheme in ("http", "https") else scheme


def https_credentials(login: str, password: str) -> tuple[str, str]:
    """The user name and password the original's URL would carry.

    With a login: login:password. Without: the password alone as the user name (`password@`),
    which is how tokens are given.
    """
    if login:
        return login, password
    return password, ""


def git_env(
    server_env: Mapping[str, str],
    *,
    agent_socket: str | None = None,
    ssh_config_path: str = "",
    askpass: tuple[str, str, str] | None = None,
) -> dict[str, str]:
    """Git's environment: the server's, GIT_TERMINAL_PROMPT=0, and the key's access."""
    env = dict(server_env)
    env["GIT_TERMINAL_PROMPT"] = "0"
    if agent_socket:
        env["SSH_AUTH_SOCK"] = agent_socket
        command = "ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
        if ssh_config_path:
            command += f" -F {ssh_config_path}"
        env["GIT_SSH_COMMAND"] = command
    if askpass:
        script, username, password = askpass
        env["GIT_ASKPASS"] = script
        env["SEMAPHORE_GIT_USERNAME"] = username
        env["SEMAPHORE_GIT_PASSWORD"] = password
    return env


def _chained(program: str, steps: Sequence[Sequence[str]]) -> list[str]:
    """One command running git's steps in turn, stopping at the first that fails: each
    command a task runs is supervised, which costs its start some 15 ms. The arguments
    reach git as positional parameters, never as shell text."""
    args: list[str] = []
    commands = []
    for step in steps:
        refs = []
        for arg in step:
            args.append(arg)
            refs.append(f'"${{{len(args)}}}"')
        commands.append('"$0" ' + " ".join(refs))
    return ["sh", "-c", " && ".join(commands), program, *args]


class Git:
    """Git commands for one repository access (URL kind + key), output to the task log."""

    def __init__(
        self, program: str, env: Mapping[str, str], run: RunFunction, log: Callable[[str], None]
    ) -> None:
        self.program = program
        self.env = dict(env)
        self._run = run
        self.log = log

    def sync(self, url: str, branch: str, directory: Path, commit_hash: str = "") -> None:
        """Clone or update `directory` to the branch head (or to `commit_hash`).

        Raises:
            CommandFailed: git failed (its message is in the output).
            TaskStopped: the run was stopped meanwhile.
        """
        if self._is_clone_of(directory, url):
            self.log(f"Updating Repository {url}")
            if not self._update(branch, directory):
                self.log("Updating failed, cloning the repository again")
                shutil.rmtree(directory, ignore_errors=True)
                self._clone(url, branch, directory)
        else:
            if directory.exists():
                shutil.rmtree(directory, ignore_errors=True)
            self._clone(url, branch, directory)
        if commit_hash:
            self._git(["checkout", commit_hash], directory)

    def head(self, directory: Path) -> tuple[str | None, str]:
        """(commit hash, subject) of HEAD, or (None, "") when directory is not a git work tree."""
        # One git process for both (a task's start waits for it).
        found = self._capture(["log", "-1", "--format=%H%n%s"], directory)
        if not found:
            return None, ""
        hash_, _, subject = found.partition("\n")
        return hash_, subject

    def _clone(self, url: str, branch: str, directory: Path) -> None:
        self.log(f"Cloning Repository {url}")
        directory.parent.mkdir(parents=True, exist_ok=True)
        argv = ["clone", "--recursive"]
        if branch:
            argv += ["--branch", branch]
        self._git([*argv, url, str(directory)], directory.parent)

    def _update(self, branch: str, directory: Path) -> bool:
        if branch:
            # Switches branch too, and puts the branch where the remote has it. Quietly and
            # without tracking: git's "up to date with origin" report and the tracking setup
            # (a config rewrite) cost two thirds of the step, and each run names origin/branch.
            move = ["checkout", "-q", "--no-track", "--force", "-B", branch, f"origin/{branch}"]
        else:
            move = ["reset", "--hard", "origin/HEAD"]
        steps = [["fetch", "origin"], move]
        if (directory / ".gitmodules").exists():
            steps.append(["submodule", "update", "--init", "--recursive", "--force"])
        return self._run(_chained(self.program, steps), directory, self.env) == 0

    def _git(self, args: list[str], cwd: Path) -> None:
        status = self._run([self.program, *args], cwd, self.env)
        if status != 0:
            raise CommandFailed(status)

    def _is_clone_of(self, directory: Path, url: str) -> bool:
        if not (directory / ".git").exists():
            return False
        return self._capture(["config", "--get", "remote.origin.url"], directory) == url

    def _capture(self, args: list[str], cwd: Path) -> str | None:
        """A quick local git query (no network): its stdout, or None on failure."""
        if not cwd.is_dir():
            return None
        try:
            done = subprocess.run(  # noqa: S603
                [self.program, *args],
                cwd=cwd,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise EngineError(f"git {args[0]} failed: {exc}") from exc
        return done.stdout.strip() if done.returncode == 0 else None
