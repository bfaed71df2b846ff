"""Templates: what to run (app, playbook or script, repository, inventory, environment) and how.

A template owns its vault passwords, survey variables, schedules, tasks and, for the Terraform
family, the workspace inventory made for it. PUT replaces the whole template, as the original
binds the full object: omitted fields go back to their defaults. Every rule is checked before the
first write, so a refused request leaves nothing behind.

The worker reads a template for every run (its environments, vaults and task parameters): the
schemas (pydantic) are imported by the functions that check a request or shape an answer, the
first time one runs (issue 17).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, delete, func, or_, select, update

from semaphore.errors import Problems, ValidationError
from semaphore.extensions import db
from semaphore.models import (
    AccessKey,
    Environment,
    Integration,
    Inventory,
    Repository,
    Schedule,
    Task,
    Template,
    TemplateEnvironment,
    TemplateVault,
    User,
    View,
)
from semaphore.schemas.choices import TERRAFORM_APPS
from semaphore.schemas.choices import VALID_APPS as VALID_APPS  # the pages' choice of apps
from semaphore.schemas.json_text import stored_object
from semaphore.services import events, listing
from semaphore.services import validation as v
from semaphore.services.permissions import MANAGE_RESOURCES, ProjectAccess
from semaphore.services.references import (
    check_body_ids,
    get_in_project,
    reference,
    referrers,
    refuse_if_used,
)
from semaphore.services.tasks.params import validated_task_params
from semaphore.services.tasks.retention import delete_tasks

if TYPE_CHECKING:
    from semaphore.schemas.listing import Page
    from semaphore.schemas.templates import TemplateIn, VaultIn

SORTS = {
    "name": Template.name,
    "playbook": Template.playbook,
    "inventory": Inventory.name,
    "environment": Environment.name,
    "repository": Repository.name,
}


@contextmanager
def _within(prefix: str) -> Iterator[None]:
    """Name the list item a nested check failed in: "vaults[1]: name must be a string"."""
    try:
        yield
    except ValidationError as exc:
        field = f"{prefix}.{exc.field}" if exc.field else prefix
        raise ValidationError(f"{prefix}: {exc.message}", field) from None


# --- reading ------------------------------------------------------------------------------------


def list_templates(
    access: ProjectAccess,
    sort: str | None = None,
    order: str | None = None,
    view_id: int | None = None,
    app: str | None = None,
    *,
    search: str | None = None,
    page: Page | None = None,
) -> listing.Rows[Template]:
    """The project's templates, sorted by the original's columns, optionally of one view or app
    or whose name, playbook or description contains `search` (any case); one page of them when
    `page` is given (one query for the rows and one for the count)."""
    query = (
        select(Template)
        .outerjoin(Inventory, Inventory.id == Template.inventory_id)
        .outerjoin(Environment, Environment.id == Template.environment_id)
        .outerjoin(Repository, Repository.id == Template.repository_id)
        .where(Template.project_id == access.project_id)
    )
    if view_id is not None:
        query = query.where(Template.view_id == view_id)
    if app:
        query = query.where(Template.app == app)
    if search and search.strip():
        # autoescape: a typed "%" or "_" is looked for as itself, not as a LIKE wildcard.
        term = search.strip().lower()
        query = query.where(
            or_(
                *(
                    func.lower(column).contains(term, autoescape=True)
                    for column in (Template.name, Template.playbook, Template.description)
                )
            )
        )
    query = listing.sorted_query(query, SORTS, sort, order, "name", Template.id)
    return listing.rows(query, page)


def template_apps(access: ProjectAccess) -> list[str]:
    """The apps the project's templates use, in name order (the list's app filter)."""
    query = select(Template.app).where(Template.project_id == access.project_id).distinct()
    return sorted(app for app in db.session.scalars(query) if app)


# What TemplateOut shows that is not a column of the template's row (or not as stored).
COMPUTED_FIELDS = ("environment_ids", "survey_vars", "vaults", "task_params", "last_task")


def shown_fields(rows: list[Template]) -> list[dict[str, Any]]:
    """What TemplateOut reads of each template but its last task (the API's lists and a
    runner's job add it, or not): its columns, and its vaults and environments, fetched for
    all the rows in one query each."""
    from semaphore.schemas.templates import TemplateOut

    vaults = vaults_of(rows)
    environments = environment_ids_of(rows)
    return [
        {
            **{
                name: getattr(row, name)
                for name in TemplateOut.model_fields
                if name not in COMPUTED_FIELDS
            },
            "environment_ids": environments[row.id],
            "survey_vars": survey_vars(row),
            "vaults": vaults[row.id],
            "task_params": task_params(row),
        }
        for row in rows
    ]


def get_template(access: ProjectAccess, template_id: int) -> Template:
    """The project's template.

    Raises:
        NotFound: no such template in this project.
    """
    return get_in_project(Template, template_id, access.project_id, "Template")


def template_vaults(template: Template) -> list[TemplateVault]:
    """The template's vaults, oldest first."""
    return vaults_of([template])[template.id]


def vaults_of(templates: Iterable[Template]) -> dict[int, list[TemplateVault]]:
    """Vaults of several templates in one query (lists show every template's vaults)."""
    ids = [template.id for template in templates]
    found: dict[int, list[TemplateVault]] = {template_id: [] for template_id in ids}
    if ids:
        query = select(TemplateVault).where(TemplateVault.template_id.in_(ids))
        for vault in db.session.scalars(query.order_by(TemplateVault.id)):
            found[vault.template_id].append(vault)
    return found


def environment_ids_of(templates: Iterable[Template]) -> dict[int, list[int]]:
    """Each template's environments, in the order they apply, in one query."""
    templates = list(templates)
    ids = [template.id for template in templates]
    found: dict[int, list[int]] = {template_id: [] for template_id in ids}
    if ids:
        query = (
            select(TemplateEnvironment.template_id, TemplateEnvironment.environment_id)
            .where(TemplateEnvironment.template_id.in_(ids))
            .order_by(TemplateEnvironment.template_id, TemplateEnvironment.position)
        )
        for template_id, environment_id in db.session.execute(query):
            found[template_id].append(environment_id)
    for template in templates:
        # A row written without the list (older data, a restore) has its one environment.
        if not found[template.id] and template.environment_id:
            found[template.id] = [template.environment_id]
    return found


def environment_ids(template: Template) -> list[int]:
    """The template's environments, in the order they apply (later ones win)."""
    return environment_ids_of([template])[template.id]


def last_tasks(templates: Iterable[Template]) -> dict[int, tuple[Task, str | None]]:
    """The newest task of each template, with its user's name, in one query."""
    ids = [template.id for template in templates]
    if not ids:
        return {}
    newest = select(func.max(Task.id)).where(Task.template_id.in_(ids)).group_by(Task.template_id)
    query = (
        select(Task, User.name).outerjoin(User, User.id == Task.user_id).where(Task.id.in_(newest))
    )
    return {task.template_id: (task, username) for task, username in db.session.execute(query)}


def survey_vars(template: Template) -> list[dict]:
    """The template's survey variables (stored validated)."""
    value = template.survey_vars
    return [var for var in value if isinstance(var, dict)] if isinstance(value, list) else []


def task_params(template: Template) -> dict | None:
    """The template's default task parameters, or None."""
    return stored_object(template.task_params)


# What a run dialog may set besides the survey, the branch and the arguments, by the name the
# original's templates keep its switch under in their task params.
RUN_OPTIONS = {
    "inventory": "allow_override_inventory",
    "limit": "allow_override_limit",
    "tags": "allow_override_tags",
    "skip_tags": "allow_override_skip_tags",
}


def run_options(template: Template) -> set[str]:
    """The run dialog's optional fields the template allows ("inventory", "limit", …)."""
    params = task_params(template) or {}
    return {option for option, switch in RUN_OPTIONS.items() if params.get(switch) is True}


def template_refs(access: ProjectAccess, template_id: int) -> dict[str, list[dict]]:
    """What refers to the template: deploy templates building on it, its schedules and
    integrations (which go with it when it is deleted)."""
    get_template(access, template_id)
    return referrers(
        templates=_deploys_query(template_id),
        schedules=select(Schedule.id, Schedule.name).where(Schedule.template_id == template_id),
        integrations=select(Integration.id, Integration.name).where(
            Integration.template_id == template_id
        ),
    )


# --- validating ---------------------------------------------------------------------------------


def _build_template(access: ProjectAccess, data: Mapping[str, Any], template_id: int | None):
    build_id = reference(
        data, "build_template_id", Template, access.project_id, "Template", required=True
    )
    build = db.session.get(Template, build_id)
    if build_id == template_id or build.type != "build":
        raise ValidationError("build_template_id must name a build template", "build_template_id")
    return build_id


def _links(access: ProjectAccess, data: Mapping[str, Any], app: str, problems: Problems) -> dict:
    """The objects a template uses, each of which must be in the same project (each checked
    on its own: every bad one is a problem)."""
    pid = access.project_id
    required = {"inventory_id": app == "ansible", "repository_id": True, "view_id": False}
    models = {
        "inventory_id": (Inventory, "Inventory"),
        "repository_id": (Repository, "Repository"),
        "view_id": (View, "View"),
    }
    return {
        field: problems.check(
            lambda field=field, model=model, label=label: reference(
                data, field, model, pid, label, required=required[field]
            )
        )
        for field, (model, label) in models.items()
    }


def _environment_list(access: ProjectAccess, listed: list[Any] | None) -> list[int] | None:
    """`environment_ids` as given (None when absent), each an environment of the project."""
    if listed is None:
        return None
    found: list[int] = []
    for index, item in enumerate(listed):
        field = f"environment_ids[{index}]"
        environment_id = reference(
            {field: item}, field, Environment, access.project_id, "Environment", required=True
        )
        if environment_id in found:
            raise ValidationError(
                f"environment_ids lists environment {environment_id} twice", "environment_ids"
            )
        found.append(environment_id)
    return found


def _environments(
    access: ProjectAccess, data: Mapping[str, Any], body: TemplateIn, current: list[int] | None
) -> list[int]:
    """The template's environments from `environment_ids` (2.16) and `environment_id` (older).

    Clients that know only `environment_id` send it alone; newer ones send the list, and a
    client that reads a template and writes it back sends both. When both are sent and
    disagree, the one the client changed from the stored template wins.

    Raises:
        ValidationError: bad ids, or two fields that disagree with no stored state to tell.
    """
    listed = _environment_list(access, body.environment_ids)
    if "environment_id" not in data:
        return listed or []
    single = reference(data, "environment_id", Environment, access.project_id, "Environment")
    as_list = [single] if single else []
    if listed is None or (listed[:1] == as_list):
        return as_list if listed is None else listed
    if current is not None:
        if listed == current:
            return as_list  # only environment_id changed
        if as_list == current[:1]:
            return listed  # only the list changed
    raise ValidationError(
        "environment_id must be the first of environment_ids (or leave one of them out)",
        "environment_id",
    )


def _vault_key(access: ProjectAccess, key_id: int) -> int:
    key = db.session.get(AccessKey, key_id)
    if key is None or key.project_id != access.project_id or key.environment_id is not None:
        raise ValidationError(f"Access key {key_id} does not exist in this project", "vault_key_id")
    # The engine answers ansible's vault prompt with a login_password key's password.
    if key.type != "login_password":
        raise ValidationError("the vault key must be a login_password key", "vault_key_id")
    return key_id


def _vaults(
    access: ProjectAccess, vaults: list[VaultIn], template_id: int | None, problems: Problems
) -> list:
    """The vaults to store; a known id keeps its row. Their shape was checked by VaultIn;
    each vault's problem is kept and the next vault checked."""
    known = None
    if template_id is not None:
        query = select(TemplateVault.id).where(TemplateVault.template_id == template_id)
        known = set(db.session.scalars(query))
    parsed: list[dict] = []
    for index, vault in enumerate(vaults):
        # A new template copied from another one: its vaults are new too.
        vault_id = (vault.id or 0) if known is not None else 0
        problems.check(
            lambda vault=vault, index=index, vault_id=vault_id: _check_vault(
                access, vault, index, vault_id, known, parsed
            )
        )
        parsed.append(
            {
                "id": vault_id,
                "name": vault.name,
                "type": vault.type,
                "vault_key_id": vault.vault_key_id,
                "script": vault.script,
            }
        )
    return parsed


def _check_vault(
    access: ProjectAccess,
    vault: VaultIn,
    index: int,
    vault_id: int,
    known: set[int] | None,
    parsed: list[dict],
) -> None:
    with _within(f"vaults[{index}]"):
        if vault_id and vault_id not in (known or set()):
            raise ValidationError(f"vault {vault_id} does not belong to this template", "id")
        if vault.vault_key_id is not None:
            _vault_key(access, vault.vault_key_id)
        if vault_id and any(other["id"] == vault_id for other in parsed):
            raise ValidationError(f"vault {vault_id} is given twice", "id")


def checked_task_params(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """A template's default task parameters as stored, by the rules of the API and restore.

    The environment and arguments texts inside are stored unchecked, as in the original, but
    never JSON nested past what a run can parse.
    """
    v.refuse_deep_json_texts(data.get("task_params"), "task_params")
    return validated_task_params(data)


def _template_values(
    access: ProjectAccess, data: Mapping[str, Any], template: Template | None
) -> tuple[dict, list, list[int]]:
    """Every column of the template from the request, its vaults and its environments;
    nothing is written. The shape first (TemplateIn), then what the database decides.

    Raises:
        ValidationError: the first problem in that order (the API's answer), with every
            problem of the independent checks in `problems` (a form shows them all). What
            needs the shape (environments, build template, vaults) is checked once it is right.
    """
    from semaphore.schemas.base import parse
    from semaphore.schemas.templates import TemplateIn

    v.require_mapping(data)
    template_id = template.id if template is not None else None
    check_body_ids(access, data, "Template", template_id)
    problems = Problems()
    body = problems.check(lambda: parse(TemplateIn, data))
    if body is None:
        _links(access, data, _app_of(data), problems)
        problems.check(lambda: checked_task_params(data))
        problems.raise_any()
    current = environment_ids(template) if template is not None else None
    environments = problems.check(lambda: _environments(access, data, body, current)) or []
    links = _links(access, data, body.app, problems)
    build_template_id = None
    if body.type == "deploy":
        build_template_id = problems.check(lambda: _build_template(access, data, template_id))
    task_params = problems.check(lambda: checked_task_params(data))
    vaults = _vaults(access, body.vaults, template_id, problems)
    problems.raise_any()
    values = {
        "name": body.name,
        "app": body.app,
        "playbook": body.playbook,
        **links,
        "environment_id": environments[0] if environments else None,
        "type": body.type,
        "start_version": body.start_version,
        "build_template_id": build_template_id,
        "autorun": body.autorun,
        "arguments": body.arguments,
        "description": body.description,
        "git_branch": body.git_branch,
        "survey_vars": body.stored_survey_vars(),
        "task_params": task_params,
        "allow_override_args_in_task": body.allow_override_args_in_task,
        "allow_override_branch_in_task": body.allow_override_branch_in_task,
        "suppress_success_alerts": body.suppress_success_alerts,
        "runner_tag": body.runner_tag,
        "max_task_duration_sec": body.max_task_duration_sec,
    }
    return values, vaults, environments


def _app_of(data: Mapping[str, Any]) -> str:
    """The app a request names (as TemplateIn reads it), for the checks that run although the
    shape is wrong."""
    app = data.get("app")
    return app if isinstance(app, str) and app else "ansible"


# --- writing ------------------------------------------------------------------------------------


def _save_vaults(access: ProjectAccess, template: Template, vaults: list[dict]) -> None:
    """Replace the template's vaults: id 0 inserts, known ids update, the rest are deleted."""
    current = {vault.id: vault for vault in template_vaults(template)}
    kept = {vault["id"] for vault in vaults if vault["id"]}
    for vault_id, row in current.items():
        if vault_id not in kept:
            db.session.delete(row)
    for vault in vaults:
        fields = {key: value for key, value in vault.items() if key != "id"}
        row = current.get(vault["id"])
        if row is None:
            row = TemplateVault(project_id=access.project_id, template_id=template.id)
            db.session.add(row)
        for key, value in fields.items():
            setattr(row, key, value)


def _save_environments(template: Template, environments: list[int]) -> None:
    """Replace the template's environments with these, in this order."""
    db.session.execute(
        delete(TemplateEnvironment).where(TemplateEnvironment.template_id == template.id)
    )
    db.session.add_all(
        TemplateEnvironment(template_id=template.id, environment_id=environment_id, position=i)
        for i, environment_id in enumerate(environments)
    )


def _ensure_workspace(access: ProjectAccess, template: Template) -> None:
    """Give a Terraform-family template without an inventory a workspace inventory of its own."""
    if template.app not in TERRAFORM_APPS or template.inventory_id is not None:
        return
    held = db.session.scalar(
        select(Inventory).where(Inventory.holder_id == template.id).order_by(Inventory.id)
    )
    if held is None:
        held = Inventory(
            project_id=access.project_id,
            name=f"{template.name} - default",
            type="terraform-workspace",
            inventory="default",
            holder_id=template.id,
        )
        db.session.add(held)
        db.session.flush()
    template.inventory_id = held.id


def create_template(access: ProjectAccess, data: Mapping[str, Any]) -> Template:
    """A new template (managers, owners, admins)."""
    access.require(MANAGE_RESOURCES)
    values, vaults, environments = _template_values(access, data, None)
    template = Template(project_id=access.project_id, tasks=0, **values)
    db.session.add(template)
    db.session.flush()
    _save_vaults(access, template, vaults)
    _save_environments(template, environments)
    _ensure_workspace(access, template)
    events.record(access, "template", template.id, f"Template {template.name} created")
    db.session.commit()
    return template


def update_template(access: ProjectAccess, template_id: int, data: Mapping[str, Any]) -> Template:
    """Replace a template's fields and vaults with the request's."""
    access.require(MANAGE_RESOURCES)
    template = get_template(access, template_id)
    values, vaults, environments = _template_values(access, data, template)
    if values["type"] != "build":
        # Deploy templates follow their build template's versions: it must stay a build.
        refuse_if_used("Template", _deploys_of(template_id))
    for key, value in values.items():
        setattr(template, key, value)
    _save_vaults(access, template, vaults)
    _save_environments(template, environments)
    _ensure_workspace(access, template)
    events.record(access, "template", template.id, f"Template {template.name} updated")
    db.session.commit()
    return template


def _deploys_query(template_id: int) -> Select:
    """(id, name) of the deploy templates that build on a template."""
    return select(Template.id, Template.name).where(
        Template.build_template_id == template_id, Template.id != template_id
    )


def _deploys_of(template_id: int) -> dict[str, list[dict]]:
    """The deploy templates that build on a template, as referrers."""
    return referrers(templates=_deploys_query(template_id))


def delete_template(access: ProjectAccess, template_id: int) -> None:
    """Remove a template with its tasks, schedules, vaults and workspace inventories.

    Raises:
        InUse: a deploy template builds on it.
    """
    access.require(MANAGE_RESOURCES)
    template = get_template(access, template_id)
    refuse_if_used("Template", _deploys_of(template_id))
    held = select(Inventory.id).where(Inventory.holder_id == template_id)
    # Whoever still points at a workspace inventory about to go loses it first.
    db.session.execute(
        update(Template).where(Template.inventory_id.in_(held)).values(inventory_id=None)
    )
    delete_tasks(select(Task.id).where(Task.template_id == template_id))
    db.session.execute(delete(Schedule).where(Schedule.template_id == template_id))
    db.session.execute(delete(TemplateVault).where(TemplateVault.template_id == template_id))
    db.session.execute(
        delete(TemplateEnvironment).where(TemplateEnvironment.template_id == template_id)
    )
    db.session.execute(delete(Integration).where(Integration.template_id == template_id))
    db.session.execute(delete(Inventory).where(Inventory.holder_id == template_id))
    name = template.name
    db.session.delete(template)
    events.record(access, "template", template_id, f"Template {name} deleted")
    db.session.commit()
