"""Remote runners: the admins' global runners (/api/runners…) and a project's own
(/api/project/{id}/runners…), managed by the same functions through a RunnerOwner.

Who may do what (the original's api/router.go): global runners are for system administrators
only, reads included; a project's runners are read by every member and changed by those who
manage the project's resources (manager, owner), as the project's other resources.

A runner's token, and a registration token, is shown once: we store only its SHA-256 digest.
A runner that is not registered (created with `registered: false`) has no token and stays
inactive until it registers with a registration token.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from semaphore.errors import NotFound, PermissionDenied, ValidationError
from semaphore.extensions import db
from semaphore.models import Runner, User
from semaphore.models.base import utcnow
from semaphore.queue import runners as runner_queue
from semaphore.schemas.base import parse
from semaphore.schemas.runners import RunnerActiveIn, RunnerIn
from semaphore.security.tokens import digest, new_runner_token
from semaphore.services import events
from semaphore.services.permissions import MANAGE_RESOURCES, ProjectAccess
from semaphore.services.references import check_body_ids


@dataclass(frozen=True)
class RunnerOwner:
    """Whose runners a request works on: the global ones (`access` None) or a project's."""

    actor: User | None
    access: ProjectAccess | None = None

    @property
    def project_id(self) -> int | None:
        return self.access.project_id if self.access is not None else None

    def require_change(self) -> None:
        """Raises PermissionDenied unless the actor may change these runners."""
        if self.access is not None:
            self.access.require(MANAGE_RESOURCES)

    def record(self, runner: Runner, what: str) -> None:
        label = runner.name or str(runner.id)
        events.record(
            self.access,
            "runner",
            runner.id,
            f"Runner {label} {what}",
            object_name=runner.name,
            user=self.actor,
            project_id=self.project_id,
        )


def global_owner(actor: User) -> RunnerOwner:
    """The global runners, for an administrator.

    Raises:
        PermissionDenied: the actor is not an admin.
    """
    if not actor.admin:
        raise PermissionDenied("User must be admin")
    return RunnerOwner(actor)


def project_owner(access: ProjectAccess) -> RunnerOwner:
    """A project's runners, for a member (or an admin)."""
    return RunnerOwner(access.user, access)


# --- reading ----------------------------------------------------------------------------------


def list_runners(owner: RunnerOwner) -> list[Runner]:
    """The owner's runners by id; a project also sees the global runners that have tags (the
    contract's "runners owned by the project together with global runners that have tags")."""
    if owner.access is None:
        return list(db.session.scalars(_global_runners()))
    own = db.session.scalars(
        select(Runner).where(Runner.project_id == owner.project_id).order_by(Runner.id)
    )
    tagged = [runner for runner in db.session.scalars(_global_runners()) if runner.tags]
    return [*own, *tagged]


@dataclass(frozen=True)
class RunnerState:
    """What a runner is doing now: online (active, and polled within runner_timeout) and
    how many unfinished tasks it holds."""

    online: bool
    running: int


def runner_states(rows: list[Runner]) -> dict[int, RunnerState]:
    """Each runner's state, by id (two queries whatever their number)."""
    since = runner_queue.online_since()
    counts = runner_queue.running_counts([runner.id for runner in rows])
    return {
        runner.id: RunnerState(
            bool(runner.active and runner.touched and runner.touched >= since),
            counts.get(runner.id, 0),
        )
        for runner in rows
    }


def _changeable(owner: RunnerOwner, runner_id: int) -> Runner:
    """One of the owner's runners, for an actor who may change them (PermissionDenied before
    NotFound, so a guest learns nothing of which ids exist)."""
    owner.require_change()
    return get_runner(owner, runner_id)


def get_runner(owner: RunnerOwner, runner_id: int) -> Runner:
    """One of the owner's runners.

    Raises:
        NotFound: no such runner, or it belongs to another project (or is global, when asked
        for through a project).
    """
    runner = db.session.get(Runner, runner_id)
    if runner is None or runner.project_id != owner.project_id:
        raise NotFound("Runner not found")
    return runner


def runner_tags(owner: RunnerOwner) -> list[dict[str, Any]]:
    """Each tag with how many runners carry it, by tag: the global runners' tags, and for a
    project its own runners' and the global ones' (the runners its tasks may use)."""
    query = _global_runners()
    if owner.access is not None:
        query = select(Runner).where(
            or_(Runner.project_id.is_(None), Runner.project_id == owner.project_id)
        )
    counts = _count_tags(runner.tags for runner in db.session.scalars(query))
    return [{"tag": tag, "number_of_runners": counts[tag]} for tag in sorted(counts)]


def _global_runners():
    return select(Runner).where(Runner.project_id.is_(None)).order_by(Runner.id)


def _count_tags(tag_lists: Iterable[list | None]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for tags in tag_lists:
        if isinstance(tags, list):
            counts.update({tag for tag in tags if isinstance(tag, str)})
    return counts


# --- writing ----------------------------------------------------------------------------------


def _parse(owner: RunnerOwner, data: Mapping[str, Any], runner_id: int | None) -> RunnerIn:
    body = parse(RunnerIn, data)
    if owner.access is not None:
        # A project runner's body must name this project, if it names one; a global runner's
        # project_id is ignored (the contract).
        check_body_ids(owner.access, data, "Runner", runner_id)
    return body


def create_runner(owner: RunnerOwner, data: Mapping[str, Any]) -> tuple[Runner, str]:
    """A new runner and its token ("" for `registered: false`), which is shown only now.

    Raises:
        PermissionDenied: the actor may not change the owner's runners.
        ValidationError: a field is invalid.
    """
    owner.require_change()
    body = _parse(owner, data, None)
    token = new_runner_token() if body.registered else ""
    runner = Runner(
        project_id=owner.project_id,
        name=body.name,
        webhook=body.webhook,
        max_parallel_tasks=body.max_parallel_tasks,
        # An unregistered runner has nothing to run with until it registers.
        active=bool(body.active) and body.registered,
        is_default=body.is_default,
        tags=body.tags,
        token_hash=digest(token) if token else None,
    )
    db.session.add(runner)
    db.session.flush()
    owner.record(runner, "created")
    db.session.commit()
    return runner, token


def update_runner(owner: RunnerOwner, runner_id: int, data: Mapping[str, Any]) -> Runner:
    """Replace a runner's settings; `active` only when given, never its token or registration.

    Raises:
        PermissionDenied: the actor may not change the owner's runners.
        NotFound: no such runner here.
        ValidationError: a field is invalid.
    """
    runner = _changeable(owner, runner_id)
    body = _parse(owner, data, runner_id)
    runner.name = body.name
    runner.webhook = body.webhook
    runner.max_parallel_tasks = body.max_parallel_tasks
    runner.is_default = body.is_default
    runner.tags = body.tags
    if body.active is not None:
        runner.active = body.active
    owner.record(runner, "updated")
    db.session.commit()
    return runner


def set_runner_active(owner: RunnerOwner, runner_id: int, data: Mapping[str, Any]) -> Runner:
    """Switch a runner on or off: `{"active": true|false}`.

    Raises:
        PermissionDenied: the actor may not change the owner's runners.
        NotFound: no such runner here.
        ValidationError: `active` is missing or not a boolean.
    """
    runner = _changeable(owner, runner_id)
    body = parse(RunnerActiveIn, data)
    runner.active = body.active
    owner.record(runner, "activated" if body.active else "deactivated")
    db.session.commit()
    return runner


def delete_runner(owner: RunnerOwner, runner_id: int) -> None:
    """Remove a runner; its token stops working.

    Raises:
        PermissionDenied: the actor may not change the owner's runners.
        NotFound: no such runner here.
    """
    runner = _changeable(owner, runner_id)
    owner.record(runner, "deleted")
    db.session.delete(runner)
    db.session.commit()


def new_registration_token(owner: RunnerOwner, runner_id: int) -> tuple[Runner, str]:
    """A new one-time registration token for a runner that is not registered; it replaces
    any earlier one and is shown only now.

    Raises:
        PermissionDenied: the actor may not change the owner's runners.
        NotFound: no such runner here.
        ValidationError: the runner is already registered.
    """
    runner = _changeable(owner, runner_id)
    if runner.token_hash is not None:
        raise ValidationError("Runner is already registered")
    token = new_runner_token()
    runner.registration_token_hash = digest(token)
    owner.record(runner, "registration token generated")
    db.session.commit()
    return runner, token


def clear_runner_cache(owner: RunnerOwner, runner_id: int) -> None:
    """Ask the runner to clear its cache (repositories and such) when it next reports.

    Raises:
        PermissionDenied: the actor may not change the owner's runners.
        NotFound: no such runner here.
    """
    runner = _changeable(owner, runner_id)
    runner.cleaning_requested = utcnow()
    owner.record(runner, "cache clearing requested")
    db.session.commit()
