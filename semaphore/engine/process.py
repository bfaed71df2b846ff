"""Running a task's commands: each confined so that its whole tree ends with it, output
streamed line by line.

Every command runs under a confinement that owns its process tree: the supervisor
(engine.supervisor, a child subreaper) by default, bubblewrap's pid namespace when sandboxed
(engine.sandbox). Either way nothing the command starts outlives it: what it leaves running
when it exits is killed, and the tree dies with the thread that started it (a SIGKILLed
worker included). Stop is SIGTERM to every process of the tree, then SIGKILL after a grace
period (the original sends SIGKILL to the main process only, so a playbook's ssh children or a
script's `sleep` outlive the task and keep its pipes open). One reader loop serves stdout and
stderr with a selector. Output is handled a read at a time, never a line at a time: the
complete lines of each read are decoded together and handed to a callback as one text
(lines joined by "\n") with the time they were read; it masks and stores them.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import selectors
import shutil
import signal
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from semaphore.engine import supervisor

# Called with one or more complete lines, joined by "\n" (no trailing newline), and the time
# they were read.
LineCallback = Callable[[str, datetime], None]

# Reads take what the pipe holds, up to this; the pipes are widened to match (Linux allows
# up to /proc/sys/fs/pipe-max-size, 1 MiB by default) so a fast writer costs few wake-ups.
READ_SIZE = 1024 * 1024
_SET_PIPE_SIZE = getattr(fcntl, "F_SETPIPE_SZ", 1031)
# Carriage returns before a line's end (CRLF output, progress bars) are not kept.
_CR_AT_LINE_END = re.compile(r"\r+(?=\n|\Z)")
# A line longer than this is passed on in pieces rather than held in memory whole.
MAX_LINE = 1024 * 1024
# After the main process exits, how long its leftovers may keep the pipes open before the
# group is killed (a `cmd &` in a script would otherwise hold the task open forever).
DRAIN_SECONDS = 2.0


# How long a supervisor may take to kill its tree before its process group gets SIGKILL.
KILL_TREE_SECONDS = 2.0
SUPERVISOR = str(Path(supervisor.__file__).resolve())


class TaskStopped(Exception):
    """The run was stopped; no further command may start."""


class Confinement(Protocol):
    """What a command runs under, and how its whole process tree is stopped."""

    def wrap(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> list[str]:
        """The argv that runs `argv` confined."""
        ...

    def terminate(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGTERM to every process of the command's tree."""
        ...

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL to every process of the command's tree."""
        ...


def supervised_argv(argv: Sequence[str]) -> list[str]:
    """argv run by the supervisor, which dies with the calling thread, taking the tree along."""
    python = sys.executable or "/usr/bin/python3"
    return [python, "-I", "-S", SUPERVISOR, "run", str(os.getpid()), "--", *argv]


class Supervised:
    """Unsandboxed, under engine.supervisor: git, ssh-agent, and every command when the
    sandbox is off."""

    def wrap(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> list[str]:
        return supervised_argv(argv)

    def terminate(self, proc: subprocess.Popen[bytes]) -> None:
        _signal(proc.pid, signal.SIGTERM)  # passed on to the whole tree

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        _signal(proc.pid, supervisor.KILL_TREE)
        deadline = time.monotonic() + KILL_TREE_SECONDS
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        _signal_group(proc.pid, signal.SIGKILL)  # should the supervisor itself be stuck


SUPERVISED = Supervised()


class ProcessRunner:
    """Runs the commands of one task run, one at a time; `stop()` may come from any thread."""

    def __init__(self, on_line: LineCallback, grace_seconds: float = 10.0) -> None:
        self.on_line = on_line
        self.grace_seconds = grace_seconds
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._confinement: Confinement = SUPERVISED
        self._stopped = threading.Event()
        self._timers: list[threading.Timer] = []

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    @property
    def pid(self) -> int | None:
        """The running command's pid (also its process group id), if one runs."""
        proc = self._proc
        return proc.pid if proc else None

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: str | Path,
        env: Mapping[str, str],
        answers: Mapping[str, str] | None = None,
        on_line: LineCallback | None = None,
        confinement: Confinement = SUPERVISED,
    ) -> int:
        """Run a command to its end and return its exit status (negative: killed by a signal;
        128 + the signal number in the sandbox, as a shell reports it).

        `answers` maps prompt prefixes (e.g. "SSH password:") to what is typed when the command
        shows them; without answers, stdin is empty (/dev/null).

        Raises:
            TaskStopped: the run was stopped before this command could start.
            OSError: the program could not be started (not found, not executable).
        """
        require_program(argv[0], env, Path(cwd))
        wrapped = confinement.wrap(argv, Path(cwd), env)
        prompts = _Prompts(answers) if answers else None
        try:
            with self._lock:
                if self._stopped.is_set():
                    raise TaskStopped()
                proc = subprocess.Popen(  # noqa: S603 - argv is built by the engine, no shell
                    wrapped,
                    cwd=str(cwd),
                    env=dict(env),
                    stdin=prompts.terminal if prompts else subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    start_new_session=True,  # its own session and process group
                    close_fds=True,
                )
                self._proc = proc
                self._confinement = confinement
            self._pump(proc, on_line or self.on_line, prompts)
            return proc.wait()
        finally:
            if prompts:
                prompts.close()
            with self._lock:
                self._proc = None

    def stop(self) -> None:
        """SIGTERM the running command's tree now, SIGKILL it after the grace period."""
        with self._lock:
            self._stopped.set()
            proc = self._proc
            confinement = self._confinement
        if proc is None or proc.poll() is not None:
            return
        confinement.terminate(proc)
        timer = threading.Timer(self.grace_seconds, self._kill_if_running, args=(proc, confinement))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def close(self) -> None:
        """Cancel pending SIGKILL timers (the run is over)."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _kill_if_running(self, proc: subprocess.Popen[bytes], confinement: Confinement) -> None:
        if self._proc is proc:
            confinement.kill(proc)

    def _pump(
        self, proc: subprocess.Popen[bytes], on_line: LineCallback, prompts: _Prompts | None
    ) -> None:
        assert proc.stdout is not None and proc.stderr is not None
        selector = selectors.DefaultSelector()
        pending: dict[int, bytes] = {}
        for stream in (proc.stdout, proc.stderr):
            _widen_pipe(stream.fileno())
            selector.register(stream.fileno(), selectors.EVENT_READ)
            pending[stream.fileno()] = b""
        drain_until: float | None = None
        try:
            while selector.get_map():
                events = selector.select(timeout=0.2)
                now = datetime.now(UTC)
                for key, _ in events:
                    fd = key.fd
                    chunk = os.read(fd, READ_SIZE)
                    if not chunk:
                        selector.unregister(fd)
                        _emit_rest(pending.pop(fd), now, on_line)
                        continue
                    data = pending[fd] + chunk
                    if prompts:
                        prompts.answer(data)
                    pending[fd] = _emit_lines(data, now, on_line)
                if drain_until is None and proc.poll() is not None:
                    drain_until = time.monotonic() + DRAIN_SECONDS
                if drain_until is not None and time.monotonic() > drain_until:
                    # Leftover children hold the pipes: the command is over, end them.
                    self._confinement.kill(proc)
                    break
        finally:
            selector.close()
            for rest in pending.values():
                _emit_rest(rest, datetime.now(UTC), on_line)
            proc.stdout.close()
            proc.stderr.close()


class _Prompts:
    """Answers typed into a pseudo-terminal when the command shows their prompts.

    As the original does for ansible's "SSH password:" and "BECOME password" prompts. The
    terminal is the command's stdin only (output still goes to the pipes): Python's getpass,
    which ansible uses, then reads it with echo off, and flushes any input typed before the
    prompt, which is why answers wait for it. Echo is off from the start as well.
    """

    def __init__(self, answers: Mapping[str, str]) -> None:
        self._waiting = {prefix.encode(): answer.encode() for prefix, answer in answers.items()}
        self._master, self.terminal = pty.openpty()
        attributes = termios.tcgetattr(self.terminal)
        attributes[3] &= ~termios.ECHO  # lflag
        termios.tcsetattr(self.terminal, termios.TCSANOW, attributes)

    def answer(self, output: bytes) -> None:
        """Type the answer to each prompt seen in this output, once."""
        for prefix in [p for p in self._waiting if p in output]:
            os.write(self._master, self._waiting.pop(prefix) + b"\n")

    def close(self) -> None:
        for fd in (self.terminal, self._master):
            try:
                os.close(fd)
            except OSError:
                pass


def _widen_pipe(fd: int) -> None:
    try:
        fcntl.fcntl(fd, _SET_PIPE_SIZE, READ_SIZE)
    except OSError:
        pass  # over the system's limit, or not a pipe: the default size works, a bit slower


def _emit_lines(data: bytes, at: datetime, on_line: LineCallback) -> bytes:
    """Pass on the complete lines of data in one call; return the unfinished rest."""
    cut = data.rfind(b"\n")
    rest = data[cut + 1 :]
    if cut >= 0:
        on_line(_decode(data[:cut]), at)
    while len(rest) > MAX_LINE:
        on_line(_decode(rest[:MAX_LINE]), at)
        rest = rest[MAX_LINE:]
    return rest


def _emit_rest(rest: bytes, at: datetime, on_line: LineCallback) -> None:
    if rest:
        on_line(_decode(rest), at)


def _decode(lines: bytes) -> str:
    # Lines split at b"\n" never cut a UTF-8 sequence, so decoding them together or one by
    # one gives the same text.
    text = lines.decode("utf-8", "replace")
    return _CR_AT_LINE_END.sub("", text) if "\r" in text else text


def require_program(program: str, env: Mapping[str, str], cwd: Path) -> None:
    """Raise what Popen would for a program that cannot be run (the confined command runs
    it only later, inside its supervisor or sandbox).

    Raises:
        FileNotFoundError, PermissionError: as Popen's.
    """
    if os.sep in program:
        program = os.path.join(cwd, program)  # as Popen does, relative to the command's cwd
        if not os.path.isfile(program):
            raise FileNotFoundError(2, "No such file or directory", program)
        if not os.access(program, os.X_OK):
            raise PermissionError(13, "Permission denied", program)
    elif shutil.which(program, path=env.get("PATH", os.defpath)) is None:
        raise FileNotFoundError(2, "No such file or directory", program)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
