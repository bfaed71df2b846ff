"""The task sandbox: each tool command runs in bubblewrap and sees only what its run needs.

A manager's script must not read the server's secrets (the data directory with secrets.json
and the SQLite file, the config file), other runs' files or other projects' checkouts, even
though it runs as the server's user. Every tool command (ansible-playbook, ansible-galaxy,
terraform, bash, python, pwsh…) therefore runs as

    bwrap --die-with-parent --unshare-pid --unshare-ipc --new-session --cap-drop ALL
          <mounts> --chdir <cwd> -- <argv>

Inside, everything sits at its host path, so argv, cwd and paths in the environment stay as
they are:
* system, read-only: /usr (with the /bin, /lib… links), a selection of /etc (accounts
  without passwords, name resolution, certificates without private keys, ssh client config,
  ansible, alternatives…; never shadow, sudoers or host keys), fresh /proc, /dev, and empty
  /tmp, /var/tmp and /run;
* the tools, read-only: every directory on the server's PATH and the program's own directory
  (with its interpreter, and for a Python virtualenv the venv and its base Python);
* the admin's `task_sandbox_paths` (read-only, or read-write with `:rw`);
* the run, read-write: its workspace (secret files, agent sockets), its checkout, and its
  project's home: <tmp_path>/home_<project> appears *as* tmp_path, which is HOME, so
  ~/.ansible (galaxy's roles and collections) and ~/.ssh persist per project; the run's
  inventory, read-only.
The server's own files (data directory, config file, database file) and tmp_path are hidden
wherever they would show through one of these. Nothing else exists in the sandbox: other
projects' homes, other templates' checkouts, other runs' workspaces are "No such file".

The user stays the server's (files the run writes are the server's, as before), with no
capabilities and no_new_privs (bubblewrap sets it), so root inside cannot mount, trace,
or read a file it has not been shown. The network is the host's: ssh, git and package
downloads work (and so do connections to services on the host: protect them).

The pid namespace makes the tree's lifetime the sandbox's: bubblewrap is pid 1 inside and,
when the command exits, the kernel kills whatever it left; `--die-with-parent` chains the
sandbox to bwrap, and bwrap to the thread that started it (PR_SET_PDEATHSIG). A stop is
SIGTERM to every process inside (bwrap does not pass signals on), SIGKILL after the grace
period to bwrap, which takes the namespace with it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from semaphore.engine import supervisor
from semaphore.engine.errors import EngineError

# The parts of /etc the tools read: nothing secret (see SYSTEM_HIDDEN for what is kept out of
# the directories listed here). An admin adds more through task_sandbox_paths.
ETC_VISIBLE = (
    "alternatives", "ansible", "bash.bashrc", "ca-certificates", "ca-certificates.conf",
    "crypto-policies", "debian_version", "environment", "gai.conf", "gitconfig", "group",
    "host.conf", "hostname", "hosts", "inputrc", "issue", "ld.so.cache", "ld.so.conf",
    "ld.so.conf.d", "locale.alias", "locale.conf", "locale.gen", "localtime", "login.defs",
    "lsb-release", "magic", "magic.mime", "mime.types", "mtab", "networks", "nsswitch.conf",
    "os-release", "passwd", "perl", "pki", "profile", "profile.d", "protocols", "python3",
    "resolv.conf", "rpc", "services", "shells", "ssh", "ssl", "terminfo", "timezone",
)  # fmt: skip
ETC_VISIBLE_PREFIXES = ("python3.",)
# Never visible, even inside a directory that is.
SYSTEM_HIDDEN = (
    "/etc/ssl/private",
    "/etc/ssh/sshd_config",
    "/etc/ssh/sshd_config.d",
    "/etc/semaphore",
    "/usr/local/etc/semaphore",
)
SYSTEM_HIDDEN_GLOBS = (("/etc/ssh", "ssh_host_*"),)
USR_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
BWRAP_CHECK_SECONDS = 10
# Where bwrap is looked for when the server's PATH has none (Debian's package puts it here).
BWRAP_FALLBACK_PATH = "/usr/bin"

_checked: dict[str, str] = {}
# The tool paths of the commands this process ran, by program, PATH and their mtimes.
_tool_cache: dict[tuple, list[Path]] = {}
TOOL_CACHE_SIZE = 64


def find_bwrap(search_path: str | None) -> str:
    """The bubblewrap program, checked to work here once per process.

    Raises:
        EngineError: bubblewrap is missing or cannot create a sandbox on this machine.
    """
    program = shutil.which("bwrap", path=search_path) or shutil.which(
        "bwrap", path=BWRAP_FALLBACK_PATH
    )
    if program is None:
        raise EngineError(
            "the task sandbox is on (task_sandbox) but bubblewrap is not installed: install "
            "the bubblewrap package, or set task_sandbox to false to run tasks unsandboxed"
        )
    if program not in _checked:
        try:
            done = subprocess.run(  # noqa: S603
                [program, "--ro-bind", "/", "/", "--unshare-pid", "--die-with-parent"]
                + ["--cap-drop", "ALL", "--", "true"],
                capture_output=True,
                timeout=BWRAP_CHECK_SECONDS,
                check=False,
            )
            problem = done.stderr.decode(errors="replace").strip() if done.returncode else ""
        except (OSError, subprocess.TimeoutExpired) as exc:
            problem = str(exc)
        if problem:
            raise EngineError(
                f"the task sandbox (bubblewrap) cannot start here: {problem}; set "
                "task_sandbox to false to run tasks unsandboxed"
            )
        _checked[program] = program
    return program


def warm_up(bwrap: str, hidden: Sequence[str], tmp_path: str) -> None:
    """Compute what every run's sandbox shares (the system's mounts) once, before the first
    run of this process."""
    Sandbox(bwrap, RunPaths(Path(tmp_path), Path(tmp_path)), hidden=hidden).arguments(["true"], {})


@dataclass(frozen=True)
class RunPaths:
    """What one run may touch, besides the system and the tools."""

    tmp_path: Path
    home: Path  # the project's home, shown as tmp_path
    writable: Sequence[Path] = ()  # workspace, socket directory, checkouts
    readable: Sequence[Path] = ()  # inventory files and clones

    def stubs(self) -> list[Path]:
        """The mount points bubblewrap creates in the home for the run's paths under tmp_path
        (empty directories and files, removed when the run ends)."""
        found = []
        for path in [*self.writable, *self.readable]:
            if path.is_relative_to(self.tmp_path) and path != self.tmp_path:
                found.append(self.home / path.relative_to(self.tmp_path).parts[0])
        return found


@dataclass
class Sandbox:
    """A Confinement (engine.process) running each command in bubblewrap."""

    bwrap: str
    run: RunPaths
    # Never visible: the server's own files, tmp_path (the run's parts are added back).
    hidden: Sequence[str] = ()
    # The admin's task_sandbox_paths: "/path" (read-only) or "/path:rw".
    extra: Sequence[str] = ()
    server_path: str = ""
    _hidden: list[Path] = field(init=False)

    def __post_init__(self) -> None:
        hidden = [*SYSTEM_HIDDEN, *self.hidden, str(self.run.tmp_path)]
        for directory, pattern in SYSTEM_HIDDEN_GLOBS:
            hidden += [str(p) for p in Path(directory).glob(pattern)]
        self._hidden = sorted({_absolute(p) for p in hidden if p and os.path.lexists(p)})

    # --- Confinement -----------------------------------------------------------------------

    def wrap(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> list[str]:
        return [self.bwrap, *self.arguments(argv, env), "--chdir", str(cwd), "--", *argv]

    def terminate(self, proc: subprocess.Popen[bytes]) -> None:
        _terminate_namespace(proc)

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        _kill_namespace(proc)

    # --- the mounts ------------------------------------------------------------------------

    def arguments(self, argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
        """Everything before `--chdir`: namespaces, then the mounts, in order."""
        mounts = _system_mounts(tuple(self._hidden))
        for path in sorted(set(self._tool_paths(argv, env)), key=lambda p: len(str(p))):
            mounts.bind(path)  # parents first: a venv before its bin directory
        for entry in self.extra:
            writable = entry.endswith(":rw")
            mounts.bind(Path(entry.removesuffix(":rw").removesuffix(":ro")), writable=writable)
        # The run's own paths come last, over the hidden tmp_path.
        mounts.bind(self.run.home, at=self.run.tmp_path, writable=True, run=True)
        for path in self.run.writable:
            mounts.bind(path, writable=True, run=True)
        for path in self.run.readable:
            mounts.bind(path, run=True)
        return [
            "--die-with-parent",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-cgroup-try",
            "--new-session",
            "--cap-drop",
            "ALL",
            *mounts.args,
        ]

    def _tool_paths(self, argv: Sequence[str], env: Mapping[str, str]) -> list[Path]:
        """The directories of PATH and of the program, its interpreter and its venv; kept
        while neither the program nor a PATH directory changes (a few hundred path look-ups
        a command otherwise)."""
        search = [self.server_path, env.get("PATH", "")]
        program = shutil.which(argv[0], path=env.get("PATH", os.defpath)) or argv[0]
        names = [d for text in search for d in text.split(os.pathsep) if d]
        key = (program, *search, *(_mtime(p) for p in (program, *names)))
        found = _tool_cache.get(key)
        if found is None:
            found = _tool_cache[key] = _find_tool_paths(program, [Path(d) for d in names])
            if len(_tool_cache) > TOOL_CACHE_SIZE:
                del _tool_cache[next(iter(_tool_cache))]
        return list(found)


def _find_tool_paths(program: str, directories: list[Path]) -> list[Path]:
    """The PATH directories, the program's and its interpreter's, each also resolved, and
    the venv (and base Python) of any that is a venv's bin directory."""
    if os.path.isabs(program):
        directories += [Path(program).parent, Path(os.path.realpath(program)).parent]
        interpreter = _interpreter(Path(program))
        if interpreter is not None:
            directories += [interpreter.parent, Path(os.path.realpath(interpreter)).parent]
    found: list[Path] = []
    for directory in directories:
        for path in (directory, Path(os.path.realpath(directory))):
            found.append(path)
            found += _virtualenv(path)
    return found


class _Mounts:
    """bwrap mount arguments, keeping hidden paths out of every bind."""

    def __init__(self, hidden: Sequence[Path]) -> None:
        self.hidden = hidden
        self.args: list[str] = []
        self._bound: list[Path] = []

    def copy(self) -> _Mounts:
        mounts = _Mounts(self.hidden)
        mounts.args, mounts._bound = list(self.args), list(self._bound)
        return mounts

    def bind(
        self, path: Path, *, at: Path | None = None, writable: bool = False, run: bool = False
    ) -> None:
        """Show `path` at `at` (its own place by default), minus the hidden paths inside it.

        A path inside a hidden one is skipped, unless it belongs to the run (`run`: the
        workspace and checkout live under the hidden tmp_path); so is a path already shown
        read-only by an earlier bind (a PATH entry under /usr).
        """
        path = Path(os.path.abspath(path))
        target = Path(os.path.abspath(at or path))
        if not os.path.lexists(path):
            return
        if not run:
            if any(_within(path, h) for h in self.hidden):
                return
            if any(_within(target, b) for b in self._bound) and not writable:
                return
        self._bound.append(target)
        self._bind(path, target, writable)

    def _bind(self, path: Path, target: Path, writable: bool) -> None:
        inner = [h for h in self.hidden if _within(h, path) and h != path]
        if path.is_symlink() and target == path:
            self.args += ["--symlink", os.readlink(path), str(target)]
        elif not inner or not path.is_dir():
            self.args += ["--bind" if writable else "--ro-bind", str(path), str(target)]
        else:
            # Something hidden is inside: show the directory's entries one by one.
            self.args += ["--dir", str(target)]
            for entry in sorted(path.iterdir()):
                if entry in self.hidden:
                    continue
                self._bind(entry, target / entry.name, writable)


# The system's part of the mounts, the same for every command while /etc keeps its entries:
# built once per process (a few thousand path checks), by the worker before it forks.
_system_cache: dict[tuple, _Mounts] = {}


def _system_mounts(hidden: tuple[Path, ...]) -> _Mounts:
    """A fresh copy of the system's mounts (/usr, the visible parts of /etc, /proc, /dev,
    tmpfs), keeping the hidden paths out."""
    key = (hidden, _mtime("/etc"), _mtime("/run/systemd/resolve"))
    cached = _system_cache.get(key)
    if cached is None:
        cached = _Mounts(hidden)
        _system(cached)
        _system_cache.clear()
        _system_cache[key] = cached
    return cached.copy()


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _system(mounts: _Mounts) -> None:
    mounts.bind(Path("/usr"))
    for name in USR_LINKS:
        mounts.bind(Path("/") / name)  # links into /usr on merged-/usr systems
    mounts.args += ["--dir", "/etc"]
    for entry in sorted(Path("/etc").iterdir()):
        if entry.name in ETC_VISIBLE or entry.name.startswith(ETC_VISIBLE_PREFIXES):
            mounts.bind(entry)
    mounts.args += ["--proc", "/proc", "--dev", "/dev"]
    mounts.args += ["--tmpfs", "/tmp", "--tmpfs", "/var/tmp", "--tmpfs", "/run"]
    resolved = Path("/run/systemd/resolve")  # where /etc/resolv.conf may point
    if resolved.is_dir():
        mounts.bind(resolved)


def _within(path: Path, directory: Path) -> bool:
    """path.is_relative_to(directory) for absolute, normalised paths, by their text: a
    sandbox's arguments make a few thousand of these checks before each command starts."""
    inner, outer = str(path), str(directory)
    if outer == "/":
        return True
    return inner == outer or inner.startswith(outer + "/")


@dataclass(frozen=True)
class Contained:
    """A Confinement for the engine's own commands (git) when bubblewrap works here: the whole
    file system as the server sees it, but a pid namespace of the command's own that dies with
    the run (--die-with-parent) and takes everything the command started along. What the
    supervisor does unsandboxed, for the start of bwrap (2 ms) instead of Python's (10-15)."""

    bwrap: str

    def wrap(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> list[str]:
        return [
            self.bwrap,
            "--bind", "/", "/",
            "--dev-bind", "/dev", "/dev",
            "--proc", "/proc",
            "--die-with-parent",
            "--unshare-pid",
            "--chdir", str(cwd),
            "--", *argv,
        ]  # fmt: skip

    def terminate(self, proc: subprocess.Popen[bytes]) -> None:
        _terminate_namespace(proc)

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        _kill_namespace(proc)


def _terminate_namespace(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to everything in bwrap's pid namespace (bwrap passes no signal on itself)."""
    init = _namespace_init(proc.pid)
    if init is not None:
        supervisor.signal_all(supervisor.descendants(init), signal.SIGTERM)


def _kill_namespace(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL to bwrap and the namespace's init: the kernel kills the rest with it."""
    init = _namespace_init(proc.pid)
    supervisor.signal_all([proc.pid, *([init] if init else [])], signal.SIGKILL)


def _namespace_init(pid: int) -> int | None:
    """bwrap's child: pid 1 of the sandbox's pid namespace."""
    children = [child for child, parent in supervisor.parents().items() if parent == pid]
    return children[0] if children else None


def _interpreter(program: Path) -> Path | None:
    """The `#!` interpreter of a script (a venv's python for its console scripts)."""
    try:
        with open(program, "rb") as handle:
            first = handle.readline(512)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode(errors="replace").split()
    if not words or not os.path.isabs(words[0]):
        return None
    if Path(words[0]).name == "env" and len(words) > 1:
        found = shutil.which(words[1])
        return Path(found) if found else None
    return Path(words[0])


def _virtualenv(directory: Path) -> list[Path]:
    """For a venv's bin directory: the venv and the prefix of the Python it was made from."""
    config = directory.parent / "pyvenv.cfg"
    if not config.is_file():
        return []
    found = [directory.parent]
    for line in config.read_text(errors="replace").splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "home" and os.path.isabs(value.strip()):
            home = Path(os.path.realpath(value.strip()))
            found.append(home.parent if home.name == "bin" else home)
    return found


def _absolute(path: str) -> Path:
    return Path(os.path.abspath(path))
