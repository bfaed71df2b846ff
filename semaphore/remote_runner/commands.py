"""What `semaphore runner register | start | unregister | setup` do; the CLI only parses
options and prints. Each takes a Config loaded without writing the server's secrets file
(cli's Context.runner_config): a runner has no database, no Redis, and no server secrets.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from semaphore.config import Config, load_config, read_config_file
from semaphore.engine.spec import EngineSettings
from semaphore.errors import ConfigError
from semaphore.remote_runner.client import (
    RunnerClient,
    RunnerError,
    RunnerRefused,
    TokenRejected,
)
from semaphore.remote_runner.loop import RunnerLoop
from semaphore.remote_runner.token import (
    has_token,
    read_token,
    remove_token,
    token_path,
    write_token,
)

log = logging.getLogger("semaphore.remote_runner")

DEFAULT_CONFIG = "config-runner.json"
# The runner's own secrets: its tasks' tools (and git) never get them in their environment.
SECRET_VARIABLES = ("SEMAPHORE_RUNNER_TOKEN", "SEMAPHORE_RUNNER_REGISTRATION_TOKEN")


def configure_logging(config: Config) -> None:
    """Log to stderr at the configured level."""
    logging.basicConfig(
        level=config.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def server_url(config: Config) -> str:
    """The server's URL (web_host).

    Raises:
        RunnerError: web_host is not set.
    """
    if not config.web_host:
        raise RunnerError("web_host is not set (SEMAPHORE_WEB_ROOT): the server's URL")
    return config.web_host


def register(config: Config, registration_token: str = "") -> Path:
    """Register with the server and write the token to runner.token_file; returns its path.

    Raises:
        RunnerError: no token file or registration token, the server refused the token
            (its message), or it could not be reached.
    """
    runner = config.runner
    path = token_path(runner)  # before the call: a token with nowhere to go would be lost
    given = registration_token or runner.registration_token
    if not given:
        raise RunnerError(
            "no registration token: give it on stdin (--stdin-registration-token) or set "
            "runner.registration_token (SEMAPHORE_RUNNER_REGISTRATION_TOKEN)"
        )
    client = RunnerClient(server_url(config))
    try:
        token = client.register(given, runner.webhook, runner.max_parallel_tasks, list(runner.tags))
    except RunnerRefused as exc:
        raise RunnerError(f"registration refused: {exc.message}") from None
    finally:
        client.close()
    try:
        write_token(runner, token)
    except OSError as exc:
        raise RunnerError(f"cannot write the token to {path}: {exc.strerror}") from None
    log.info("registered; the token is in %s", path)
    return path


def start(config: Config, register_first: bool = False) -> int:
    """Run jobs until shut down (SIGTERM, SIGINT); returns the exit status.

    Raises:
        RunnerError: no token (and no registration asked for), or registering failed.
    """
    runner = config.runner
    if register_first and not has_token(runner):
        register(config)
    client = RunnerClient(server_url(config), read_token(runner))
    loop = RunnerLoop(client, runner, engine_settings(config))
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: loop.request_shutdown())
    log.info(
        "runner started: server %s, at most %s job(s) at once%s",
        config.web_host,
        runner.max_parallel_tasks or "any number of",
        ", one-off" if runner.one_off else "",
    )
    try:
        return loop.run()
    finally:
        client.close()


def engine_settings(config: Config) -> EngineSettings:
    """The engine's settings under the runner's own tmp_path; tasks see neither the runner's
    token file nor its secret variables."""
    settings = EngineSettings.from_config(config)
    hidden = list(settings.hidden_paths)
    if config.runner.token_file:
        hidden.append(os.path.abspath(token_path(config.runner)))
    env = {k: v for k, v in settings.server_env.items() if k not in SECRET_VARIABLES}
    return dataclasses.replace(settings, hidden_paths=tuple(hidden), server_env=env)


def unregister(config: Config) -> None:
    """Delete this runner on the server, then its token file.

    Raises:
        RunnerError: no token, or the server could not be reached.
    """
    client = RunnerClient(server_url(config), read_token(config.runner))
    try:
        client.unregister()
    except TokenRejected as exc:
        log.warning("the server did not know this runner any more (%s)", exc.message)
    finally:
        client.close()
    remove_token(config.runner)


def write_runner_config(path: Path, values: Mapping[str, Any]) -> None:
    """Write (or update) a runner config file, mode 0600: `values` holds web_host and the
    runner keys to set; the file's other keys are kept. The config loader checks the new file
    before it replaces the old one.

    Raises:
        RunnerError: a value the loader refuses (the message names the key).
    """
    try:
        existing = read_config_file(path) if path.is_file() else {}
    except ConfigError as exc:
        raise RunnerError(str(exc)) from None
    kept = existing.get("runner")
    runner = {**(kept if isinstance(kept, dict) else {}), **values["runner"]}
    # `register` needs one; a relative path is taken from the config file's directory.
    token_file = Path(runner.get("token_file") or "runner.token").expanduser()
    runner["token_file"] = str(path.parent / token_file)
    data = {**existing, "web_host": values["web_host"], "runner": runner}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    try:
        load_config(str(tmp), {}, persist_secrets=False)
    except ConfigError as exc:
        tmp.unlink()
        raise RunnerError(str(exc)) from None
    os.replace(tmp, path)
