"""Templates: /api/project/{id}/templates, with their vaults, survey variables and last task."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from semaphore.api.answers import json_answer
from semaphore.api.blueprint import api_blueprint
from semaphore.api.openapi import documented
from semaphore.api.paging import page_args, paged
from semaphore.api.project_scope import access, sort_args
from semaphore.api.request_body import json_object
from semaphore.api.tasks import task_shape
from semaphore.models import Template
from semaphore.schemas.listing import PageQuery
from semaphore.schemas.references import Referrers
from semaphore.schemas.templates import TemplateIn, TemplateList, TemplateOut
from semaphore.services import project_cache, templates

TAGS = ("template",)


def _shown(rows: list[Template]) -> list[dict[str, Any]]:
    """What TemplateOut reads of each template, with its last task: one query each for all
    the rows' vaults, environments and last tasks."""
    last = templates.last_tasks(rows)
    shown = templates.shown_fields(rows)
    for row, fields in zip(rows, shown, strict=True):
        last_task = last.get(row.id)
        fields["last_task"] = (
            task_shape(last_task[0], template=row, user_name=last_task[1]) if last_task else None
        )
    return shown


def templates_answer(rows: list[Template]) -> Response:
    """A list of templates as the API shows them (also a view's templates)."""
    return json_answer(TemplateList.dump_json(_shown(rows)))


def _one(row: Template) -> dict[str, Any]:
    return TemplateOut.dump(_shown([row])[0])


@api_blueprint.get("/project/<int:project_id>/templates")
@documented(query=PageQuery, answers={200: TemplateList}, tags=TAGS)
def list_templates(project_id: int) -> Response:
    scope, page = access(project_id), page_args()
    sort, order = sort_args()
    view_id, app = request.args.get("view_id", type=int), request.args.get("app")

    def written() -> bytes:
        rows = templates.list_templates(scope, sort, order, view_id=view_id, app=app, page=page)
        body = TemplateList.dump_json(_shown(rows))
        # Only bytes are kept: a page keeps its total on a first line, for the headers of a hit.
        return body if rows.total is None else b"%d\n%s" % (rows.total, body)

    # The same for every member: kept until the project changes.
    key = ("templates", sort, order, view_id, app, page)
    kept = project_cache.project_answer(project_id, key, written)
    if page is None:
        return json_answer(kept)
    total, _, body = kept.partition(b"\n")
    return paged(json_answer(body), page, int(total))


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
