"""The `semaphore` command: server, worker, scheduler, migrate, setup, user, runner, version.

Flags follow the original's CLI. Bad arguments exit with status 2 (click's usage errors);
a refused operation (say, a duplicate user) exits with status 1 and says why.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from semaphore.config import Config, load_config
from semaphore.errors import ConfigError, SemaphoreError
from semaphore.version import __version__

LOG_LEVEL_CHOICES = ["DEBUG", "INFO", "WARN", "WARNING", "ERROR", "FATAL", "PANIC"]


class Context:
    """What the group's options decide, handed to every command."""

    def __init__(self, config_path: str | None, no_config: bool, log_level: str | None) -> None:
        self.config_path = config_path
        self.no_config = no_config
        self.log_level = log_level
        self._config: Config | None = None

    def config(self) -> Config:
        if self._config is None:
            self._config = self._load(persist_secrets=True)
        return self._config

    def runner_config(self) -> Config:
        """The config of `semaphore runner ...`: a runner has no use for the server's
        secrets, so their file in data_dir is never created or written."""
        return self._load(persist_secrets=False)

    def _load(self, persist_secrets: bool) -> Config:
        try:
            config = load_config(
                self.config_path, use_file=not self.no_config, persist_secrets=persist_secrets
            )
            if self.log_level:
                from semaphore.config import LOG_LEVELS

                config = config.with_overrides(log_level=LOG_LEVELS[self.log_level.upper()])
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
        return config

    def app(self, web: bool = True):
        """The app; a worker's and the scheduler's without the HTTP side (create_app)."""
        from semaphore import create_app

        return create_app(self.config(), web=web)


pass_context = click.make_pass_decorator(Context)


def _service_call(func: Callable[[], Any]) -> Any:
    """Run a service call, turning its refusal into a one-line message and exit status 1."""
    try:
        return func()
    except SemaphoreError as exc:
        raise click.ClickException(exc.message) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config.json path")
@click.option("--no-config", is_flag=True, help="Ignore config files; use the environment only")
@click.option(
    "--log-level", type=click.Choice(LOG_LEVEL_CHOICES, case_sensitive=False), help="Log level"
)
@click.version_option(__version__, "--version", message="%(version)s")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, no_config: bool, log_level: str | None):
    """Semaphore (Python): run Ansible, Terraform, OpenTofu, Terragrunt and scripts from git."""
    ctx.obj = Context(config_path, no_config, log_level)


@main.command()
def version() -> None:
    """Print the version."""
    click.echo(__version__)


@main.command()
@pass_context
def migrate(ctx: Context) -> None:
    """Apply database migrations."""
    from semaphore.database import upgrade_database

    app = ctx.app()
    with app.app_context():
        upgrade_database()
    click.echo("Database is up to date.")


@main.command()
@click.option("--login", default="admin", show_default=True, help="First admin's username")
@click.option("--email", default="admin@localhost", show_default=True, help="First admin's e-mail")
@click.option("--name", default="Administrator", show_default=True, help="First admin's name")
@click.option("--password", default=None, help="First admin's password (generated if omitted)")
@pass_context
def setup(ctx: Context, login: str, email: str, name: str, password: str | None) -> None:
    """Migrate, and create the first admin when there is no admin yet (prints its password once)."""
    from semaphore.database import upgrade_database
    from semaphore.services import users

    app = ctx.app()
    with app.app_context():
        upgrade_database()
        if users.count_admins():
            click.echo("An administrator already exists; nothing to set up.")
            return
        password = password or secrets.token_urlsafe(12)
        data = {"username": login, "email": email, "name": name, "password": password}
        _service_call(lambda: users.create_user(None, {**data, "admin": True}))
    click.echo("")
    click.echo("  First administrator created. Sign in at the address below with:")
    click.echo(f"    login:    {login}")
    click.echo(f"    password: {password}")
    click.echo("  This password is shown only once.")
    click.echo("")


@main.command(name="server")
@pass_context
def server(ctx: Context) -> None:
    """Apply migrations, then serve the web UI, the API and the WebSocket."""
    from semaphore import metrics

    # The counts of processes no longer running are dropped (see semaphore/metrics).
    metrics.remove_stale_files(_count_metrics(ctx))
    from semaphore.database import upgrade_in_child
    from semaphore.server.serve import serve

    app = ctx.app()
    try:
        upgrade_in_child(app)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    serve(app, ctx.config())


main.add_command(server, name="service")


def _count_metrics(ctx: Context) -> str:
    """Count into this machine's metrics directory: first, before anything imports
    prometheus_client. Returns the directory."""
    from semaphore import metrics

    try:
        return metrics.use_directory(ctx.config().tmp_path)
    except OSError as exc:
        raise click.ClickException(f"cannot create the metrics directory: {exc}") from None


@main.command()
@click.option("--burst", is_flag=True, help="Exit when the queues are empty")
@pass_context
def worker(ctx: Context, burst: bool) -> None:
    """Run an RQ worker that takes task runs from Redis."""
    _count_metrics(ctx)
    from semaphore.jobs.worker import run_worker

    run_worker(ctx.app(web=False), burst=burst)


@main.command()
@pass_context
def scheduler(ctx: Context) -> None:
    """Run the scheduler loop."""
    _count_metrics(ctx)
    from semaphore.scheduler import run_scheduler

    run_scheduler(ctx.app(web=False))


# --- users ---------------------------------------------------------------------------------------


@main.group(name="user")
def user_group() -> None:
    """Manage users."""


main.add_command(user_group, name="users")


@user_group.command(name="add")
@click.option("--login", required=True)
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--admin", is_flag=True, help="Make the user an administrator")
@pass_context
def user_add(ctx: Context, login: str, name: str, email: str, password: str, admin: bool) -> None:
    """Add a user."""
    from semaphore.services import users

    data = {"username": login, "name": name, "email": email, "password": password, "admin": admin}
    with ctx.app().app_context():
        user = _service_call(lambda: users.create_user(None, data))
        click.echo(f"User {user.username} <{user.email}> added.")


@user_group.command(name="list")
@pass_context
def user_list(ctx: Context) -> None:
    """Print every username."""
    from semaphore.services import users

    with ctx.app().app_context():
        for user in users.list_users(None):
            click.echo(user.username)


def _find(login: str | None, email: str | None):
    from semaphore.services import users

    if bool(login) == bool(email):
        raise click.UsageError("give exactly one of --login or --email")
    user = users.find_user(login or email)
    if user is None:
        raise click.ClickException(
            f"no user with {'login' if login else 'e-mail'} {login or email}"
        )
    return user


def _change(ctx: Context, user_finder: Callable[[], Any], changes: dict[str, Any]) -> None:
    from semaphore.services import users

    with ctx.app().app_context():
        user = user_finder()
        data = {
            "username": user.username,
            "name": changes.get("name") or user.name,
            "email": changes.get("email") or user.email,
            "admin": True if changes.get("admin") else user.admin,
        }
        _service_call(lambda: users.update_user(None, user.id, data))
        if changes.get("password"):
            _service_call(
                lambda: users.set_password(None, user.id, {"password": changes["password"]})
            )
        click.echo(f"User {user.username} changed.")


def _change_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option("--name"),
            click.option("--password"),
            click.option("--admin", is_flag=True, help="Grant administrator rights"),
        ]
    ):
        func = option(func)
    return func


@user_group.command(name="change-by-login")
@click.option("--login", required=True)
@click.option("--email")
@_change_options
@pass_context
def user_change_by_login(ctx: Context, login: str, email: str | None, **changes: Any) -> None:
    """Change the user with this login (name, e-mail, password; --admin only grants)."""
    _change(ctx, lambda: _find(login, None), {**changes, "email": email})


@user_group.command(name="change-by-email")
@click.option("--email", required=True)
@_change_options
@pass_context
def user_change_by_email(ctx: Context, email: str, **changes: Any) -> None:
    """Change the user with this e-mail (name, password; --admin only grants)."""
    _change(ctx, lambda: _find(None, email), changes)


@user_group.command(name="delete")
@click.option("--login")
@click.option("--email")
@pass_context
def user_delete(ctx: Context, login: str | None, email: str | None) -> None:
    """Delete the user with this login or e-mail."""
    from semaphore.services import users

    with ctx.app().app_context():
        user = _find(login, email)
        username = user.username
        _service_call(lambda: users.delete_user(None, user.id))
        click.echo(f"User {username} deleted.")


@user_group.command(name="get")
@click.option("--login")
@click.option("--email")
@pass_context
def user_get(ctx: Context, login: str | None, email: str | None) -> None:
    """Print one user's details."""
    with ctx.app().app_context():
        user = _find(login, email)
        click.echo(f"id: {user.id}")
        click.echo(f"login: {user.username}")
        click.echo(f"name: {user.name}")
        click.echo(f"email: {user.email}")
        click.echo(f"admin: {str(user.admin).lower()}")
        click.echo(f"external: {str(user.external).lower()}")


# --- the remote runner ---------------------------------------------------------------------------


@main.group(name="runner")
def runner_group() -> None:
    """A remote runner: runs a server's tasks here, talking to it over HTTP only."""


def _runner_call(func: Callable[[], Any]) -> Any:
    """Run a runner command, turning its failure into a one-line message and exit status 1."""
    from semaphore.remote_runner.client import RunnerError

    try:
        return func()
    except RunnerError as exc:
        raise click.ClickException(str(exc)) from None


def _stdin_token() -> str:
    """The registration token: the first line of stdin, stripped."""
    token = click.get_text_stream("stdin").readline().strip()
    if not token:
        raise click.ClickException("no registration token on stdin")
    return token


STDIN_TOKEN_OPTION = click.option(
    "--stdin-registration-token",
    "stdin_token",
    is_flag=True,
    help="Read the registration token from the first line of stdin",
)


@runner_group.command(name="register")
@STDIN_TOKEN_OPTION
@pass_context
def runner_register(ctx: Context, stdin_token: bool) -> None:
    """Register with the server (web_host); the token goes to runner.token_file."""
    from semaphore.remote_runner import commands

    config = ctx.runner_config()
    commands.configure_logging(config)
    token = _stdin_token() if stdin_token else ""
    path = _runner_call(lambda: commands.register(config, token))
    click.echo(f"Registered; the runner's token is in {path}.")


@runner_group.command(name="start")
@click.option("--register", "register_first", is_flag=True, help="Register first if no token yet")
@pass_context
def runner_start(ctx: Context, register_first: bool) -> None:
    """Run the server's jobs until SIGTERM or SIGINT (or, one_off, its first jobs are done)."""
    from semaphore.remote_runner import commands

    config = ctx.runner_config()
    commands.configure_logging(config)
    status = _runner_call(lambda: commands.start(config, register_first))
    sys.exit(status)


@runner_group.command(name="unregister")
@pass_context
def runner_unregister(ctx: Context) -> None:
    """Delete this runner on the server, then its token file."""
    from semaphore.remote_runner import commands

    config = ctx.runner_config()
    commands.configure_logging(config)
    _runner_call(lambda: commands.unregister(config))
    click.echo("Unregistered.")


@runner_group.command(name="setup")
@click.option("--server-url", help="The server's URL (web_host)")
@click.option("--token-file", help="Where the runner keeps its token")
@click.option("--tags", help="Tags, separated by commas")
@click.option("--max-parallel-tasks", type=click.IntRange(min=0), help="0 = no limit")
@click.option("--one-off/--no-one-off", default=None, help="Exit after the first jobs")
@click.option("--webhook", help="A URL the server calls when it starts a job here")
@click.option("--registration-token", help="Register now with this token")
@STDIN_TOKEN_OPTION
@pass_context
def runner_setup(ctx: Context, stdin_token: bool, registration_token: str | None, **values: Any):
    """Write a runner config (--config, else ./config-runner.json); register when given a
    registration token. Missing values are asked for when stdin is a terminal."""
    from semaphore.remote_runner import commands

    path = Path(ctx.config_path or commands.DEFAULT_CONFIG).absolute()
    token = _stdin_token() if stdin_token else (registration_token or "")
    settings = _runner_settings(values, interactive=click.get_text_stream("stdin").isatty())
    _runner_call(lambda: commands.write_runner_config(path, settings))
    click.echo(f"Runner config written to {path}.")
    if token:
        config = Context(str(path), False, ctx.log_level).runner_config()
        commands.configure_logging(config)
        token_file = _runner_call(lambda: commands.register(config, token))
        click.echo(f"Registered; the runner's token is in {token_file}.")
    click.echo(f"Start it with: semaphore --config {path} runner start")


def _runner_settings(values: dict[str, Any], interactive: bool) -> dict[str, Any]:
    """web_host and the runner keys given as options, asking for missing ones if interactive;
    the keys neither given nor asked for are left out (the file's values, else defaults)."""

    def given(name: str, prompt: str, default: Any = None, **kwargs: Any) -> Any:
        if values[name] is not None or not interactive:
            return values[name]
        return click.prompt(prompt, default=default, **kwargs)

    server_url = given("server_url", "Server URL (web_host)")
    if not server_url:
        raise click.UsageError("--server-url is required (stdin is not a terminal)")
    tags = given("tags", "Tags (separated by commas)", "", show_default=False)
    one_off = values["one_off"]
    if one_off is None and interactive:
        one_off = click.confirm("Exit after the first jobs (one-off)?", default=False)
    runner = {
        "token_file": given("token_file", "Token file", "runner.token"),
        "max_parallel_tasks": given(
            "max_parallel_tasks", "Jobs at once (0 = no limit)", 1, type=click.IntRange(min=0)
        ),
        "one_off": one_off,
        "tags": None if tags is None else [t.strip() for t in tags.split(",") if t.strip()],
        "webhook": given("webhook", "Webhook URL (empty for none)", "", show_default=False),
    }
    return {"web_host": server_url, "runner": {k: v for k, v in runner.items() if v is not None}}
