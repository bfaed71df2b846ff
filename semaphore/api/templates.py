"""Templates: /api/project/{id}/templates, with their vaults, survey variables and last task."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from semaphore.api.answers import json_answer
from semaphore.api.blueprint import api_blueprint
from semaphore.api.openapi import documented
from semaphore.api.project_scope import access, sort_args
from semaphore.api.request_body import json_object
from semaphore.api.tasks import task_shape
from semaphore.models import Template
from semaphore.schemas.references import Referrers
from semaphore.schemas.templates import TemplateIn, TemplateList, TemplateOut
from semaphore.services import templates

TAGS = ("template",)
# What TemplateOut shows that is not a column of the template's row (or not as stored).
_COMPUTED = ("environment_ids", "survey_vars", "vaults", "task_params", "last_task")


def _shown(rows: list[Template]) -> list[dict[str, Any]]:
    """What TemplateOut reads of each template: its columns, and its vaults, environments and
    last task, fetched for all the rows in one query each."""
    vaults = templates.vaults_of(rows)
    last = templates.last_tasks(rows)
    environments = templates.environment_ids_of(rows)
    shown = []
    for row in rows:
        columns = {
            name: getattr(row, name) for name in TemplateOut.model_fields if name not in _COMPUTED
        }
        last_task = last.get(row.id)
        shown.append(
            {
                **columns,
                "environment_ids": environments[row.id],
                "survey_vars": templates.survey_vars(row),
                "vaults": vaults[row.id],
                "task_params": templates.task_params(row),
                "last_task": (
                    task_shape(last_task[0], template=row, user_name=last_task[1])
                    if last_task
                    else None
                ),
            }
        )
    return shown


def templates_answer(rows: list[Template]) -> Response:
    """A list of templates as the API shows them (also a view's templates)."""
    return json_answer(TemplateList.dump_json(_shown(rows)))


def _one(row: Template) -> dict[str, Any]:
    return TemplateOut.dump(_shown([row])[0])


@api_blueprint.get("/project/<int:project_id>/templates")
@documented(answers={200: TemplateList}, tags=TAGS)
def list_templates(project_id: int) -> Response:
    rows = templates.list_templates(
        access(project_id),
        *sort_args(),
        view_id=request.args.get("view_id", type=int),
        app=request.args.get("app"),
    )
    return templates_answer(rows)


@api_blueprint.post("/project/<int:project_id>/templates")
@documented(body=TemplateIn, answers={201: TemplateOut}, tags=TAGS)
def create_template(project_id: int) -> tuple[Response, int]:
    row = templates.create_template(access(project_id), json_object())
    return jsonify(_one(row)), 201


@api_blueprint.get("/project/<int:project_id>/templates/<int:template_id>")
@documented(answers={200: TemplateOut}, tags=TAGS)
def get_template(project_id: int, template_id: int) -> Response:
    return jsonify(_one(templates.get_template(access(project_id), template_id)))


@api_blueprint.get("/project/<int:project_id>/templates/<int:template_id>/refs")
@documented(answers={200: Referrers}, tags=TAGS, addition=True)
def template_refs(project_id: int, template_id: int) -> Response:
    return jsonify(templates.template_refs(access(project_id), template_id))


@api_blueprint.put("/project/<int:project_id>/templates/<int:template_id>")
@documented(body=TemplateIn, answers={204: None}, tags=TAGS)
def update_template(project_id: int, template_id: int) -> tuple[str, int]:
    templates.update_template(access(project_id), template_id, json_object())
    return "", 204


@api_blueprint.delete("/project/<int:project_id>/templates/<int:template_id>")
@documented(answers={204: None}, tags=TAGS)
def delete_template(project_id: int, template_id: int) -> tuple[str, int]:
    templates.delete_template(access(project_id), template_id)
    return "", 204
