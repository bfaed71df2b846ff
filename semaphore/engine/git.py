"""Checking out a task's repository with the git command line (the original's `cmd_git`).

A template's checkout lives at <tmp_path>/repository_<repoID>_<templateID>: cloned the first
time (`git clone --recursive --branch <b> <url> <dir>`), then brought up to date with
`git fetch origin` + `git checkout --force -B <b> origin/<b>`, which also switches branches and
discards local edits (the original pulls, and deletes and re-clones when it cannot). A checkout
whose origin URL changed is cloned again. A local path (`/…`) is used in place.

An update of a checkout is one process started from Python: the URL a checkout was cloned from
is kept in .git/semaphore-origin (git's config is asked only when that file is missing or names
another URL), and the update's own command also writes HEAD's hash and subject to
.git/semaphore-head for the task. Each git process spared is 1-1.5 ms of CPU per run.

Credentials never appear on git's command line or in the checkout's .git/config:
* ssh keys: an ssh-agent (engine.sshagent) and the original's GIT_SSH_COMMAND;
* login/password over http(s): the original puts them in the URL (`scheme://login:password@…`,
  visible in the process list and stored in .git/config); here git asks a GIT_ASKPASS helper
  for the same user name and password, which it reads from its environment.
"""

from __future__ import annotations

import contextlib
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

# HEAD's (commit hash, subject); the hash is None outside a git work tree.
Head = tuple[str | None, str]

# Files of ours in a checkout's .git directory, which git leaves alone.
ORIGIN_FILE = "semaphore-origin"
HEAD_FILE = "semaphore-head"

# git's automatic maintenance after a fetch (a gc past 6,700 loose objects or 50 packs) is
# checked on one update in this many: the check is a git process of its own, 1.5-2 ms of a
# short task's CPU, and its thresholds are thousands of fetches away.
MAINTENANCE_EVERY = 16
_NO_MAINTENANCE = ("-c", "maintenance.auto=false", "-c", "gc.auto=0")  # gc: git before 2.29

# One git process for both hash and subject (a task's start waits for it).
_HEAD_LOG = ("log", "-1", "--format=%H%n%s")


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


def _chained(
    program: str, steps: Sequence[Sequence[str]], head_file: Path | None = None
) -> list[str]:
    """One command running git's steps in turn, stopping at the first that fails: each
    command a task runs is supervised, which costs its start some 15 ms. The arguments
    (and `head_file`) reach the shell as positional parameters, never as shell text.

    With `head_file`, a last step writes HEAD's hash and subject there rather than to the task's
    output. It cannot fail the chain, nor say anything: as head() captures git's complaint about
    a repository without commits, it leaves the file empty.
    """
    args: list[str] = []

    def refs(values: Sequence[str]) -> str:
        start = len(args)
        args.extend(values)
        return " ".join(f'"${{{n}}}"' for n in range(start + 1, len(args) + 1))

    commands = ['"$0" ' + refs(step) for step in steps]
    if head_file is not None:
        log = '"$0" ' + refs(_HEAD_LOG)
        commands.append(f"{{ {log} >{refs([str(head_file)])} || :; }} 2>/dev/null")
    return ["sh", "-c", " && ".join(commands), program, *args]


def _parse_head(text: str) -> Head:
    hash_, _, subject = text.partition("\n")
    return hash_, subject


def _read_head(path: Path) -> Head | None:
    """What the update wrote to .git/semaphore-head, or None when it wrote nothing."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    text = text.strip()
    return _parse_head(text) if text else None


def _record_origin(directory: Path, url: str) -> None:
    # Only a shortcut: without the file, the next run asks git's config again.
    with contextlib.suppress(OSError):
        (directory / ".git" / ORIGIN_FILE).write_text(url, encoding="utf-8")


class Git:
    """Git commands for one repository access (URL kind + key), output to the task log."""

    def __init__(
        self, program: str, env: Mapping[str, str], run: RunFunction, log: Callable[[str], None]
    ) -> None:
        self.program = program
        self.env = dict(env)
        self._run = run
        self.log = log

    def sync(
        self,
        url: str,
        branch: str,
        directory: Path,
        commit_hash: str = "",
        *,
        maintain: bool = True,
    ) -> Head | None:
        """Clone or update `directory` to the branch head (or to `commit_hash`); an update
        lets git's automatic maintenance run when `maintain` (see MAINTENANCE_EVERY).

        Returns HEAD's (hash, subject) when the update read it on the way, else None: after a
        clone or a commit hash's checkout, head() tells.

        Raises:
            CommandFailed: git failed (its message is in the output).
            TaskStopped: the run was stopped meanwhile.
        """
        head = None
        if self._is_clone_of(directory, url):
            self.log(f"Updating Repository {url}")
            updated, head = self._update(branch, directory, maintain)
            if not updated:
                self.log("Updating failed, cloning the repository again")
                shutil.rmtree(directory, ignore_errors=True)
                self._clone(url, branch, directory)
        else:
            if directory.exists():
                shutil.rmtree(directory, ignore_errors=True)
            self._clone(url, branch, directory)
        if commit_hash:
            self._git(["checkout", commit_hash], directory)
            return None
        return head

    def head(self, directory: Path) -> Head:
        """(commit hash, subject) of HEAD, or (None, "") when directory is not a git work tree."""
        found = self._capture(list(_HEAD_LOG), directory)
        return _parse_head(found) if found else (None, "")

    def _clone(self, url: str, branch: str, directory: Path) -> None:
        self.log(f"Cloning Repository {url}")
        directory.parent.mkdir(parents=True, exist_ok=True)
        argv = ["clone", "--recursive"]
        if branch:
            argv += ["--branch", branch]
        self._git([*argv, url, str(directory)], directory.parent)
        _record_origin(directory, url)

    def _update(self, branch: str, directory: Path, maintain: bool) -> tuple[bool, Head | None]:
        """Whether the update worked, and HEAD's (hash, subject) when it could read them."""
        if branch:
            # Switches branch too, and puts the branch where the remote has it. Quietly and
            # without tracking: git's "up to date with origin" report and the tracking setup
            # (a config rewrite) cost two thirds of the step, and each run names origin/branch.
            move = ["checkout", "-q", "--no-track", "--force", "-B", branch, f"origin/{branch}"]
        else:
            move = ["reset", "--hard", "origin/HEAD"]
        fetch = ["fetch", "origin"] if maintain else [*_NO_MAINTENANCE, "fetch", "origin"]
        steps = [fetch, move]
        if (directory / ".gitmodules").exists():
            steps.append(["submodule", "update", "--init", "--recursive", "--force"])
        head_file: Path | None = directory / ".git" / HEAD_FILE
        try:
            head_file.unlink(missing_ok=True)  # a stale one is never taken for this run's
        except OSError:
            head_file = None  # a .git we cannot write to: head() tells
        if self._run(_chained(self.program, steps, head_file), directory, self.env) != 0:
            return False, None
        return True, _read_head(head_file) if head_file else None

    def _git(self, args: list[str], cwd: Path) -> None:
        status = self._run([self.program, *args], cwd, self.env)
        if status != 0:
            raise CommandFailed(status)

    def _is_clone_of(self, directory: Path, url: str) -> bool:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            if (directory / ".git" / ORIGIN_FILE).read_text(encoding="utf-8") == url:
                return True
        # Checkouts cloned before the file existed, or from another URL: git's config decides.
        if not (directory / ".git").exists():
            return False
        if self._capture(["config", "--get", "remote.origin.url"], directory) != url:
            return False
        _record_origin(directory, url)
        return True

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
