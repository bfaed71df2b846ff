"""Templates: /api/project/{id}/templates, with their vaults, survey variables and last task."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from semaphore.api.blueprint import api_blueprint
from semaphore.api.project_scope import access, sort_args
from semaphore.api.request_body import json_object
from semaphore.api.tasks import task_shape
from semaphore.models import Template, TemplateVault
from semaphore.services import templates


def vault_shape(row: TemplateVault) -> dict[str, Any]:
    return {
        "id": row.id,
        "project_id": row.project_id,
        "template_id": row.template_id,
        "vault_key_id": row.vault_key_id,
        "name": row.name,
        "type": row.type,
        "script": row.script,
    }


_LOOK_UP = object()  # "not given": fetch it (None is a template that never ran)


def template_shape(
    row: Template,
    vaults: list[TemplateVault] | None = None,
    last_task: Any = _LOOK_UP,
    environment_ids: list[int] | None = None,
) -> dict[str, Any]:
    """A template as the contract shows it; what is not given is looked up."""
    if vaults is None:
        vaults = templates.template_vaults(row)
    if last_task is _LOOK_UP:
        last_task = templates.last_tasks([row]).get(row.id)
    if environment_ids is None:
        environment_ids = templates.environment_ids(row)
    return {
        "id": row.id,
        "project_id": row.project_id,
        "inventory_id": row.inventory_id,
        "repository_id": row.repository_id,
        "environment_id": row.environment_id,
        "environment_ids": environment_ids,
        "view_id": row.view_id,
        "name": row.name,
        "app": row.app,
        "playbook": row.playbook,
        "arguments": row.arguments,
        "description": row.description,
        "allow_override_args_in_task": row.allow_override_args_in_task,
        "allow_override_branch_in_task": row.allow_override_branch_in_task,
        "suppress_success_alerts": row.suppress_success_alerts,
        "git_branch": row.git_branch,
        "type": row.type,
        "start_version": row.start_version,
        "build_template_id": row.build_template_id,
        "autorun": row.autorun,
        "survey_vars": templates.survey_vars(row),
        "vaults": [vault_shape(vault) for vault in vaults],
        "task_params": templates.task_params(row),
        "tasks": row.tasks,
        "last_task": (
            task_shape(last_task[0], template=row, user_name=last_task[1]) if last_task else None
        ),
    }


def templates_shape(rows: list[Template]) -> list[dict[str, Any]]:
    """A list of templates, with vaults, last tasks and environments fetched in one query each."""
    vaults = templates.vaults_of(rows)
    last = templates.last_tasks(rows)
    environments = templates.environment_ids_of(rows)
    return [
        template_shape(row, vaults[row.id], last.get(row.id), environments[row.id]) for row in rows
    ]


@api_blueprint.get("/project/<int:project_id>/templates")
def list_templates(project_id: int) -> Response:
    rows = templates.list_templates(
        access(project_id),
        *sort_args(),
        view_id=request.args.get("view_id", type=int),
        app=request.args.get("app"),
    )
    return jsonify(templates_shape(rows))


@api_blueprint.post("/project/<int:project_id>/templates")
def create_template(project_id: int) -> tuple[Response, int]:
    row = templates.create_template(access(project_id), json_object())
    return jsonify(template_shape(row)), 201


@api_blueprint.get("/project/<int:project_id>/templates/<int:template_id>")
def get_template(project_id: int, template_id: int) -> Response:
    return jsonify(template_shape(templates.get_template(access(project_id), template_id)))


@api_blueprint.get("/project/<int:project_id>/templates/<int:template_id>/refs")
def template_refs(project_id: int, template_id: int) -> Response:
    return jsonify(templates.template_refs(access(project_id), template_id))


@api_blueprint.put("/project/<int:project_id>/templates/<int:template_id>")
def update_template(project_id: int, template_id: int) -> tuple[str, int]:
    templates.update_template(access(project_id), template_id, json_object())
    return "", 204


@api_blueprint.delete("/project/<int:project_id>/templates/<int:template_id>")
def delete_template(project_id: int, template_id: int) -> tuple[str, int]:
    templates.delete_template(access(project_id), template_id)
    return "", 204
