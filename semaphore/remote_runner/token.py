"""The runner's token: given in the config (runner.token) or kept in runner.token_file, where
`register` writes it, readable by its owner only."""

from __future__ import annotations

import os
from pathlib import Path

from semaphore.config import RunnerConfig
from semaphore.remote_runner.client import RunnerError


class TokenMissing(RunnerError):
    """No token where the config says it is (the message says what to do)."""


def token_path(runner: RunnerConfig) -> Path:
    """Where the token is kept.

    Raises:
        TokenMissing: runner.token_file is not set.
    """
    if not runner.token_file:
        raise TokenMissing(
            "runner.token_file is not set (SEMAPHORE_RUNNER_TOKEN_FILE): "
            "the runner keeps its token there"
        )
    return Path(runner.token_file).expanduser()


def read_token(runner: RunnerConfig) -> str:
    """runner.token, else the token file's content.

    Raises:
        TokenMissing: neither holds a token.
    """
    if runner.token:
        return runner.token
    if not runner.token_file:
        raise TokenMissing(
            "no runner token: set runner.token (SEMAPHORE_RUNNER_TOKEN) or runner.token_file "
            "(SEMAPHORE_RUNNER_TOKEN_FILE), and run `semaphore runner register`"
        )
    path = token_path(runner)
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise TokenMissing(
            f"no runner token in {path}: run `semaphore runner register` first"
        ) from None
    except OSError as exc:
        raise TokenMissing(f"cannot read the runner token file {path}: {exc.strerror}") from None
    if not token:
        raise TokenMissing(f"the runner token file {path} is empty: register again")
    return token


def has_token(runner: RunnerConfig) -> bool:
    """Whether read_token would find one."""
    try:
        read_token(runner)
    except TokenMissing:
        return False
    return True


def write_token(runner: RunnerConfig, token: str) -> Path:
    """Write the token to the token file (mode 0600, parent directories created); returns it.

    Raises:
        TokenMissing: runner.token_file is not set.
        OSError: the file cannot be written.
    """
    path = token_path(runner)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside it and renamed: the file never exists with another mode or half a token.
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)  # a leftover may have another mode, which O_CREAT keeps
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    os.replace(tmp, path)
    return path


def remove_token(runner: RunnerConfig) -> None:
    """Delete the token file, if there is one."""
    if runner.token_file:
        token_path(runner).unlink(missing_ok=True)
