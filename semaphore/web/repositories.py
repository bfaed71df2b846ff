"""The repositories pages: list, add, edit, remove."""

from __future__ import annotations

from flask import Response, url_for
from flask_login import login_required

from semaphore.services import keys, repositories
from semaphore.services.permissions import MANAGE_RESOURCES, ProjectAccess
from semaphore.web.blueprint import web_blueprint
from semaphore.web.forms import RepositoryForm
from semaphore.web.htmx import render
from semaphore.web.project_resources import (
    choices,
    delete_and_return,
    edit_form,
    form_page,
    id_or_none,
    project_scope,
    submit_form,
)


@web_blueprint.get("/project/<int:project_id>/repositories")
@login_required
def repositories_index(project_id: int) -> Response:
    access = project_scope(project_id)
    key_names = {key.id: key.name for key in keys.list_keys(access)}
    return render(
        "projects/repositories/index.html",
        access=access,
        repositories=repositories.list_repositories(access),
        key_names=key_names,
    )


@web_blueprint.route("/project/<int:project_id>/repositories/new", methods=["GET", "POST"])
@login_required
def repositories_new(project_id: int) -> Response:
    access = project_scope(project_id)
    form = RepositoryForm()
    done = submit_form(
        form,
        lambda: repositories.create_repository(access, _data(form)),
        lambda repository: f"Repository {repository.name} added",
        _index_url(project_id),
    )
    return done or _page(access, form, None)


@web_blueprint.route(
    "/project/<int:project_id>/repositories/<int:repository_id>/edit", methods=["GET", "POST"]
)
@login_required
def repositories_edit(project_id: int, repository_id: int) -> Response:
    access = project_scope(project_id)
    repository = repositories.get_repository(access, repository_id)
    form = edit_form(
        RepositoryForm,
        {
            "name": repository.name,
            "git_url": repository.git_url,
            "git_branch": repository.git_branch,
            "ssh_key_id": str(repository.ssh_key_id),
        },
    )
    done = submit_form(
        form,
        lambda: repositories.update_repository(access, repository_id, _data(form)),
        lambda saved: f"Repository {saved.name} saved",
        _index_url(project_id),
    )
    return done or _page(access, form, repository)


@web_blueprint.delete("/project/<int:project_id>/repositories/<int:repository_id>")
@login_required
def repositories_delete(project_id: int, repository_id: int) -> Response:
    access = project_scope(project_id)
    repository = repositories.get_repository(access, repository_id)
    return delete_and_return(
        lambda: repositories.delete_repository(access, repository_id),
        f"Repository {repository.name} removed",
        _index_url(project_id),
    )


def _index_url(project_id: int) -> str:
    return url_for("web.repositories_index", project_id=project_id)


def _data(form: RepositoryForm) -> dict:
    return {
        "name": form.name.data,
        "git_url": form.git_url.data,
        "git_branch": form.git_branch.data,
        "ssh_key_id": id_or_none(form.ssh_key_id.data),
    }


def _page(access: ProjectAccess, form: RepositoryForm, repository) -> Response:
    form.ssh_key_id.choices = choices(keys.list_keys(access), lambda key: key.name, "Choose a key…")
    return form_page(
        access,
        MANAGE_RESOURCES,
        "projects/resource_form.html",
        form,
        page_title=f"Edit repository {repository.name}" if repository else "New repository",
        submit_label="Save" if repository else "Add repository",
        form_id="repository-form",
        cancel_url=_index_url(access.project_id),
    )
