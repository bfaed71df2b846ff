"""Why a run failed, as the engine reports it (no Flask, no HTTP statuses here)."""

from __future__ import annotations

import signal


class EngineError(Exception):
    """Preparing or running a task failed; the message goes into the task's output."""


class CommandFailed(EngineError):
    """A command exited with a non-zero status (worded as Go's exec error, as the original)."""

    def __init__(self, exit_code: int) -> None:
        self.exit_code = exit_code
        if exit_code < 0:
            super().__init__(f"signal: {_signal_name(-exit_code)}")
        else:
            super().__init__(f"exit status {exit_code}")


def _signal_name(number: int) -> str:
    try:
        # Go prints "signal: killed", "signal: terminated".
        return {signal.SIGKILL: "killed", signal.SIGTERM: "terminated"}.get(
            signal.Signals(number), signal.Signals(number).name
        )
    except ValueError:
        return str(number)
