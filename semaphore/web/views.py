"""The views pages (tabs that group templates): list, add, edit, remove."""

from __future__ import annotations

from flask import Response, url_for
from flask_login import login_required

from semaphore.models import View
from semaphore.services import views
from semaphore.services.permissions import MANAGE_RESOURCES, ProjectAccess
from semaphore.web.blueprint import web_blueprint
from semaphore.web.forms import ViewForm
from semaphore.web.htmx import render
from semaphore.web.project_resources import (
    delete_and_return,
    edit_form,
    form_page,
    number,
    project_scope,
    submit_form,
)


@web_blueprint.get("/project/<int:project_id>/views")
@login_required
def views_index(project_id: int) -> Response:
    access = project_scope(project_id)
    return render("projects/views/index.html", access=access, views=views.list_views(access))


@web_blueprint.route("/project/<int:project_id>/views/new", methods=["GET", "POST"])
@login_required
def views_new(project_id: int) -> Response:
    access = project_scope(project_id)
    form = ViewForm()
    done = submit_form(
        form,
        lambda: views.create_view(access, _data(form, None)),
        lambda view: f"View {view.title} added",
        _index_url(project_id),
    )
    return done or _page(access, form, None)


@web_blueprint.route("/project/<int:project_id>/views/<int:view_id>/edit", methods=["GET", "POST"])
@login_required
def views_edit(project_id: int, view_id: int) -> Response:
    access = project_scope(project_id)
    view = views.get_view(access, view_id)
    form = edit_form(ViewForm, {"title": view.title, "position": str(view.position)})
    done = submit_form(
        form,
        lambda: views.update_view(access, view_id, _data(form, view)),
        lambda saved: f"View {saved.title} saved",
        _index_url(project_id),
    )
    return done or _page(access, form, view)


@web_blueprint.delete("/project/<int:project_id>/views/<int:view_id>")
@login_required
def views_delete(project_id: int, view_id: int) -> Response:
    access = project_scope(project_id)
    view = views.get_view(access, view_id)
    return delete_and_return(
        lambda: views.delete_view(access, view_id),
        f"View {view.title} removed",
        _index_url(project_id),
    )


def _index_url(project_id: int) -> str:
    return url_for("web.views_index", project_id=project_id)


def _data(form: ViewForm, view: View | None) -> dict:
    data = {"title": form.title.data, "position": number(form.position.data)}
    if view is not None:
        # The form edits title and position; the view's display settings stay as they are.
        data.update(
            hidden=view.hidden,
            type=view.type,
            sort_column=view.sort_column,
            sort_reverse=view.sort_reverse,
        )
    return data


def _page(access: ProjectAccess, form: ViewForm, view: View | None) -> Response:
    return form_page(
        access,
        MANAGE_RESOURCES,
        "projects/resource_form.html",
        form,
        page_title=f"Edit view {view.title}" if view else "New view",
        submit_label="Save" if view else "Add view",
        form_id="view-form",
        cancel_url=_index_url(access.project_id),
    )
