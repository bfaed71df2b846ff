"""Running a task's commands: each in its own process group, output streamed line by line.

Stop is SIGTERM to the whole group, then SIGKILL after a grace period (the original sends
SIGKILL to the main process only, so a playbook's ssh children or a script's `sleep` outlive
the task and keep its pipes open). One reader loop serves stdout and stderr with a selector:
lines are stamped with the time they were read and handed to a callback, which masks and
stores them.
"""

from __future__ import annotations

import os
import pty
import selectors
import signal
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

LineCallback = Callable[[str, datetime], None]

READ_SIZE = 64 * 1024
# A line longer than this is passed on in pieces rather than held in memory whole.
MAX_LINE = 1024 * 1024
# After the main process exits, how long its leftovers may keep the pipes open before the
# group is killed (a `cmd &` in a script would otherwise hold the task open forever).
DRAIN_SECONDS = 2.0


class TaskStopped(Exception):
    """The run was stopped; no further command may start."""


class ProcessRunner:
    """Runs the commands of one task run, one at a time; `stop()` may come from any thread."""

    def __init__(self, on_line: LineCallback, grace_seconds: float = 10.0) -> None:
        self.on_line = on_line
        self.grace_seconds = grace_seconds
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
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
    ) -> int:
        """Run a command to its end and return its exit status (negative: killed by a signal).

        `answers` maps prompt prefixes (e.g. "SSH password:") to what is typed when the command
        shows them; without answers, stdin is empty (/dev/null).

        Raises:
            TaskStopped: the run was stopped before this command could start.
            OSError: the program could not be started (not found, not executable).
        """
        prompts = _Prompts(answers) if answers else None
        try:
            with self._lock:
                if self._stopped.is_set():
                    raise TaskStopped()
                proc = subprocess.Popen(  # noqa: S603 - argv is built by the engine, no shell
                    list(argv),
                    cwd=str(cwd),
                    env=dict(env),
                    stdin=prompts.terminal if prompts else subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    start_new_session=True,  # its own session and process group
                    close_fds=True,
                )
                self._proc = proc
            self._pump(proc, on_line or self.on_line, prompts)
            return proc.wait()
        finally:
            if prompts:
                prompts.close()
            with self._lock:
                self._proc = None

    def stop(self) -> None:
        """SIGTERM the running command's group now, SIGKILL it after the grace period."""
        with self._lock:
            self._stopped.set()
            proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        _signal_group(proc.pid, signal.SIGTERM)
        timer = threading.Timer(self.grace_seconds, self._kill_if_running, args=(proc,))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def close(self) -> None:
        """Cancel pending SIGKILL timers (the run is over)."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _kill_if_running(self, proc: subprocess.Popen[bytes]) -> None:
        if self._proc is proc:
            _signal_group(proc.pid, signal.SIGKILL)

    def _pump(
        self, proc: subprocess.Popen[bytes], on_line: LineCallback, prompts: _Prompts | None
    ) -> None:
        assert proc.stdout is not None and proc.stderr is not None
        selector = selectors.DefaultSelector()
        pending: dict[int, bytes] = {}
        for stream in (proc.stdout, proc.stderr):
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
                    _signal_group(proc.pid, signal.SIGKILL)
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


def _emit_lines(data: bytes, at: datetime, on_line: LineCallback) -> bytes:
    """Pass on every complete line of data; return the unfinished rest."""
    *lines, rest = data.split(b"\n")
    for line in lines:
        on_line(_decode(line), at)
    while len(rest) > MAX_LINE:
        on_line(_decode(rest[:MAX_LINE]), at)
        rest = rest[MAX_LINE:]
    return rest


def _emit_rest(rest: bytes, at: datetime, on_line: LineCallback) -> None:
    if rest:
        on_line(_decode(rest), at)


def _decode(line: bytes) -> str:
    return line.rstrip(b"\r").decode("utf-8", "replace")


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
