"""A project with one of everything, for the tests that call every route (the role matrix and
the contract tour). Ids are filled in by `build_world`; paths name them as {placeholders}."""

from __future__ import annotations

from dataclasses import dataclass

from semaphore.extensions import db
from semaphore.models import (
    Integration,
    IntegrationAlias,
    IntegrationExtractValue,
    IntegrationMatcher,
    ProjectUser,
    Runner,
    Task,
)
from tests import factories


@dataclass
class World:
    """A project with one of everything; ids are filled in by the fixture."""

    ids: dict[str, int]

    def __getitem__(self, name: str) -> int:
        return self.ids[name]


def build_world() -> World:
    """A project with one of everything, its owner (`owner`) among the ids."""
    owner = factories.user()
    project = factories.project(members={owner: "owner"}, alert=True)
    key = factories.key(project=project)
    repository = factories.repository(project=project, ssh_key_id=key.id)
    inventory = factories.inventory(project=project)
    environment = factories.environment(project=project)
    template = factories.template(
        project=project,
        repository_id=repository.id,
        inventory_id=inventory.id,
        environment_id=environment.id,
    )
    member = factories.user()
    db.session.add(ProjectUser(project_id=project.id, user_id=member.id, role="guest"))
    db.session.commit()
    hook = integration_rows(project.id, template.id)
    world = World(
        {
            "project_id": project.id,
            "key_id": key.id,
            "spare_key_id": factories.key(project=project).id,
            "repository_id": repository.id,
            "spare_repository_id": factories.repository(project=project, ssh_key_id=key.id).id,
            "inventory_id": inventory.id,
            "spare_inventory_id": factories.inventory(project=project).id,
            "environment_id": environment.id,
            "spare_environment_id": factories.environment(project=project).id,
            "template_id": template.id,
            "view_id": factories.view(project=project).id,
            "schedule_id": factories.schedule(project=project, template_id=template.id).id,
            "member": member.id,
            "task_id": task_row(project.id, template.id, "success"),
            "waiting_task_id": task_row(project.id, template.id, "waiting"),
            "confirmation_task_id": task_row(project.id, template.id, "waiting_confirmation"),
            "newcomer": factories.user().id,
            "owner": owner.id,
            **hook,
            "spare_integration_id": integration_rows(project.id, template.id)["integration_id"],
            **runner_rows(project.id),
        }
    )
    return world


def integration_rows(project_id: int, template_id: int) -> dict[str, int]:
    """An integration with a matcher, a value, its own alias, and a project alias beside it."""
    hook = Integration(project_id=project_id, template_id=template_id, name="Hook")
    db.session.add(hook)
    db.session.flush()
    matcher = IntegrationMatcher(
        integration_id=hook.id, name="M", match_type="header", key="X-Event", value="push"
    )
    value = IntegrationExtractValue(
        integration_id=hook.id, name="V", value_source="header", key="X-Ref", variable="REF"
    )
    own = IntegrationAlias(
        alias=f"own{hook.id:013d}", project_id=project_id, integration_id=hook.id
    )
    shared = IntegrationAlias(alias=f"prj{hook.id:013d}", project_id=project_id)
    db.session.add_all([matcher, value, own, shared])
    db.session.commit()
    return {
        "integration_id": hook.id,
        "matcher_id": matcher.id,
        "value_id": value.id,
        "integration_alias_id": own.id,
        "project_alias_id": shared.id,
    }


def runner_rows(project_id: int) -> dict[str, int]:
    """Project and global runners: a registered one to change, one to delete, and one not
    registered yet (for a registration token), of each kind."""
    ids = {}
    for prefix, owner in (("", project_id), ("global_", None)):
        for name, registered in (("runner", True), ("spare_runner", True), ("new_runner", False)):
            runner = Runner(
                project_id=owner,
                name=f"{prefix}{name}",
                tags=["linux", prefix + "dmz"],
                active=registered,
                token_hash=f"{owner}-{name}".ljust(64, "0") if registered else None,
            )
            db.session.add(runner)
            db.session.flush()
            ids[f"{prefix}{name}_id"] = runner.id
    db.session.commit()
    return ids


def task_row(project_id: int, template_id: int, status: str) -> int:
    task = Task(project_id=project_id, template_id=template_id, status=status)
    db.session.add(task)
    db.session.commit()
    return task.id
