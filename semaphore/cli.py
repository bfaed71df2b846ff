"""The `semaphore` command: server, worker, scheduler, migrate, setup, user, version.

Flags follow the original's CLI. Bad arguments exit with status 2 (click's usage errors);
a refused operation (say, a duplicate user) exits with status 1 and says why.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
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
            try:
                config = load_config(self.config_path, use_file=not self.no_config)
                if self.log_level:
                    from semaphore.config import LOG_LEVELS

                    config = config.with_overrides(log_level=LOG_LEVELS[self.log_level.upper()])
            except ConfigError as exc:
                raise click.ClickException(str(exc)) from None
            self._config = config
        return self._config

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
    from semaphore.database import upgrade_in_child
    from semaphore.server.serve import serve

    app = ctx.app()
    try:
        upgrade_in_child(app)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    serve(app, ctx.config())


main.add_command(server, name="service")


@main.command()
@click.option("--burst", is_flag=True, help="Exit when the queues are empty")
@pass_context
def worker(ctx: Context, burst: bool) -> None:
    """Run an RQ worker that takes task runs from Redis."""
    from semaphore.jobs.worker import run_worker

    run_worker(ctx.app(web=False), burst=burst)


@main.command()
@pass_context
def scheduler(ctx: Context) -> None:
    """Run the scheduler loop."""
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
