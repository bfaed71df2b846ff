"""The environment pages: list, add, edit (with secrets added and removed), remove.

Secret values go in and never come back out: the form shows the secrets' names only. Extra
and environment variables may be typed as JSON or YAML; YAML is stored as the JSON the API keeps,
and the form checks them as they are typed (`environments_check_variables`).
"""

from __future__ import annotations

import json
import re

import yaml
from flask import Response, request, url_for
from flask_login import login_required

from semaphore.errors import SemaphoreError, ValidationError
from semaphore.services import environments
from semaphore.services.permissions import MANAGE_RESOURCES, ProjectAccess
from semaphore.services.validation import NestedTooDeeply, parse_json_text
from semaphore.web.blueprint import web_blueprint
from semaphore.web.forms import EnvironmentForm, attach_error, options
from semaphore.web.htmx import render
from semaphore.web.project_resources import (
    delete_and_return,
    edit_form,
    form_page,
    project_scope,
    submit_form,
)

# "secrets[2].name": the service names the item of the `secrets` list that it refused.
_SECRET_FIELD = re.compile(r"^secrets\[(\d+)\](?:\.(\w+))?$")


@web_blueprint.get("/project/<int:project_id>/environment")
@login_required
def environments_index(project_id: int) -> Response:
    access = project_scope(project_id)
    rows = environments.list_environments(access)
    secrets = environments.secrets_of(access, rows)
    return render(
        "projects/environments/index.html", access=access, environments=rows, secrets=secrets
    )


@web_blueprint.route("/project/<int:project_id>/environment/new", methods=["GET", "POST"])
@login_required
def environments_new(project_id: int) -> Response:
    access = project_scope(project_id)
    form = edit_form(EnvironmentForm, {"json": "{}"})
    done = submit_form(
        form,
        lambda: environments.create_environment(access, _data(form)),
        lambda environment: f"Environment {environment.name} added",
        _index_url(project_id),
        attach=_attach,
    )
    return done or _page(access, form, None)


@web_blueprint.route(
    "/project/<int:project_id>/environment/<int:environment_id>/edit", methods=["GET", "POST"]
)
@login_required
def environments_edit(project_id: int, environment_id: int) -> Response:
    access = project_scope(project_id)
    environment = environments.get_environment(access, environment_id)
    form = edit_form(
        EnvironmentForm,
        {"name": environment.name, "json": environment.json, "env": environment.env or ""},
    )
    done = submit_form(
        form,
        lambda: environments.update_environment(access, environment_id, _data(form)),
        lambda saved: f"Environment {saved.name} saved",
        _index_url(project_id),
        attach=_attach,
    )
    return done or _page(access, form, environment)


@web_blueprint.delete("/project/<int:project_id>/environment/<int:environment_id>")
@login_required
def environments_delete(project_id: int, environment_id: int) -> Response:
    access = project_scope(project_id)
    environment = environments.get_environment(access, environment_id)
    return delete_and_return(
        lambda: environments.delete_environment(access, environment_id),
        f"Environment {environment.name} removed",
        _index_url(project_id),
    )


@web_blueprint.post("/project/<int:project_id>/environment/check-variables")
@login_required
def environments_check_variables(project_id: int) -> Response:
    """The inline check of the variables' text being typed: "valid" or what a save would say."""
    access = project_scope(project_id)
    field = request.args.get("field", "json")
    text = request.form.get(field, "")
    problem = None
    try:
        environments.check_variables(access, field, variables_json(text, field))
    except ValidationError as exc:
        problem = exc.message
    return render(
        "projects/environments/_variables_check.html", field=field, problem=problem, text=text
    )


def _index_url(project_id: int) -> str:
    return url_for("web.environments_index", project_id=project_id)


def variables_json(text: str | None, field: str) -> str | None:
    """Variables typed as JSON or YAML, as the JSON text the API stores: JSON stays as typed,
    YAML (a superset the user may prefer) is written out as JSON. Whether it is an object of
    the right values is the service's to say.

    Raises:
        ValidationError: the text is neither JSON nor YAML (at `field`).
    """
    if text is None or not text.strip():
        return text
    label = environments.VARIABLE_FIELDS.get(field, field)
    try:
        parse_json_text(text, field, label=label)
        return text
    except NestedTooDeeply:
        raise
    except ValidationError:
        pass  # not JSON: YAML, perhaps
    try:
        loaded = yaml.safe_load(text)
        return json.dumps(loaded, indent=2, ensure_ascii=False, default=str, allow_nan=False)
    except RecursionError:
        raise ValidationError(f"{label} are nested too deeply", field) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or "cannot be read"
        raise ValidationError(
            f"{label} are neither JSON nor YAML: {problem}{where}", field
        ) from None
    except ValueError:
        raise ValidationError(f"{label} must not hold NaN or Infinity", field) from None


def _new_rows(form: EnvironmentForm) -> list:
    """The filled-in rows of new secrets (blank rows are ignored)."""
    return [row.form for row in form.secrets if (row.form.name.data or "").strip()]


def _data(form: EnvironmentForm) -> dict:
    # New secrets come first, so that the service's "secrets[i]" is the i-th filled-in row.
    secrets = [
        {
            "operation": "create",
            "type": row.type.data or "var",
            "name": row.name.data,
            "secret": row.secret.data,
        }
        for row in _new_rows(form)
    ]
    secrets += [
        {"operation": "delete", "id": int(value)}
        for value in form.remove_secrets.data or []
        if value.isdigit()
    ]
    return {
        "name": form.name.data,
        "json": variables_json(form.json.data, "json"),
        "env": variables_json(form.env.data, "env"),
        "secrets": secrets,
    }


def _attach(form: EnvironmentForm, exc: SemaphoreError) -> None:
    """Put a refused new secret's message next to its row's field (the rows sent are the
    filled-in ones), every other problem next to its field."""
    rows = _new_rows(form)
    for message, path in getattr(exc, "problems", None) or [(exc.message, exc.field)]:
        match = _SECRET_FIELD.match(path or "")
        if match and int(match.group(1)) < len(rows):
            row = rows[int(match.group(1))]
            field = getattr(row, match.group(2) or "name", None) or row.name
            field.errors = [*list(field.errors or []), message]
        else:
            attach_error(form, SemaphoreError(message, path))


def _page(access: ProjectAccess, form: EnvironmentForm, environment) -> Response:
    existing = environments.environment_secrets(access, environment) if environment else []
    check_url = url_for("web.environments_check_variables", project_id=access.project_id)
    for field in (form.json, form.env):
        # Checked as typed: the answer replaces the line under the field.
        field.render_kw = {
            **(field.render_kw or {}),
            "hx-post": f"{check_url}?field={field.name}",
            "hx-trigger": "input changed delay:400ms, change",
            "hx-target": f"#check-{field.name}",
            "hx-swap": "outerHTML",
            "aria-describedby": f"check-{field.name}",
        }
    form.remove_secrets.choices = options([(str(s.id), f"{s.type}.{s.name}") for s in existing])
    return form_page(
        access,
        MANAGE_RESOURCES,
        "projects/environments/form.html",
        form,
        page_title=f"Edit environment {environment.name}" if environment else "New environment",
        submit_label="Save" if environment else "Add environment",
        form_id="environment-form",
        cancel_url=_index_url(access.project_id),
        secrets=existing,
    )
