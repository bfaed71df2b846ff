"""What every project page shares: the caller's access, the sub-navigation, form handling and
deletes. Each resource's routes live in their own module and stay a few lines long.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, current_app, flash, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import Field, FieldList, FormField
from wtforms.form import BaseForm

from semaphore.errors import Conflict, InUse, ValidationError
from semaphore.extensions import db
from semaphore.services import projects
from semaphore.services.permissions import ProjectAccess
from semaphore.services.validation import parse_json_text
from semaphore.web.blueprint import web_blueprint
from semaphore.web.forms import attach_error, options
from semaphore.web.htmx import redirect_to, render

# Errors about what the user typed or chose: shown in the form (422), not as an error page.
FORM_ERRORS = (ValidationError, Conflict, InUse)

# (label, endpoint, test id); an entry shows once its module is registered.
PROJECT_NAV = (
    ("Dashboard", "web.project_dashboard", "dashboard"),
    ("History", "web.tasks_index", "tasks"),
    ("Templates", "web.templates_index", "templates"),
    ("Inventory", "web.inventories_index", "inventories"),
    ("Environment", "web.environments_index", "environments"),
    ("Key Store", "web.keys_index", "keys"),
    ("Repositories", "web.repositories_index", "repositories"),
    ("Runners", "web.project_runners_index", "runners"),
    ("Views", "web.views_index", "views"),
    ("Schedules", "web.schedules_index", "schedules"),
    ("Integrations", "web.integrations_index", "integrations"),
    ("Activity", "web.project_activity", "activity"),
    ("Team", "web.project_members", "members"),
    ("Settings", "web.project_settings", "settings"),
)


def project_scope(project_id: int) -> ProjectAccess:
    """The current user's access to the project (NotFound for non-members)."""
    return projects.get_project(current_user, project_id)


def project_nav(access: ProjectAccess) -> list[dict[str, Any]]:
    """The project's sub-navigation: label, url, test id and whether it is the current page."""
    endpoint = request.endpoint or ""
    items = []
    for label, target, testid in PROJECT_NAV:
        if target.removeprefix("web.") not in _web_endpoints():
            continue
        section = target.removesuffix("_index")
        items.append(
            {
                "label": label,
                "url": url_for(target, project_id=access.project_id),
                "testid": f"nav-{testid}",
                "active": endpoint == target or endpoint.startswith(section + "_"),
            }
        )
    return items


def _web_endpoints() -> set[str]:
    return {name.removeprefix("web.") for name in current_app.view_functions}


@web_blueprint.app_context_processor
def _project_nav_context() -> dict:
    return {"project_nav": project_nav}


# Parsing form fields into the API-shaped data the services take ----------------------------


def id_or_none(value: str | None) -> int | str | None:
    """A select's value as an id: empty means none; anything not a number goes to the service,
    which names the field in its message."""
    value = (value or "").strip()
    if not value:
        return None
    return int(value) if value.isdigit() else value


def number(value: str | None, default: int | None = None) -> int | str | None:
    """An integer typed in a text field (the service refuses what is not one)."""
    value = (value or "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        return value


def json_field(value: str | None, field: str, default: Any = None) -> Any:
    """A JSON textarea, parsed.

    Raises:
        ValidationError: the text is not JSON (shown at the field).
    """
    value = (value or "").strip()
    if not value:
        return default
    return parse_json_text(value, field, message=f"{field} is not valid JSON")


def choices(rows: list, label: Callable[[Any], str], none: str | None = None) -> list:
    """Select options for a project's objects, with an optional "none" entry first."""
    first = [("", none)] if none is not None else []
    return options(first + [(str(row.id), label(row)) for row in rows])


# Handling a form and a delete -----------------------------------------------------------------


def edit_form(form_class: type[FlaskForm], initial: dict[str, Any]) -> FlaskForm:
    """The edit form: the object's values on GET, what was posted on POST."""
    if request.method == "POST":
        return form_class()
    return form_class(data=initial)


def submit_form(
    form: FlaskForm,
    save: Callable[[], Any],
    success: Callable[[Any], str],
    target: str | Callable[[Any], str],
    attach: Callable[[FlaskForm, Exception], None] = attach_error,
) -> Response | None:
    """On a valid POST, call the service; on success flash and redirect to `target` (a URL, or
    a function of what the service returned).

    A service error about the input lands next to its field and None is returned, so that
    the caller re-renders the form. PermissionDenied and NotFound go to the error pages.
    """
    if not form.validate_on_submit():
        return None
    try:
        result = save()
    except FORM_ERRORS as exc:
        # Nothing the refused request half-wrote may be flushed by the form page's queries.
        db.session.rollback()
        attach(form, exc)
        return None
    flash(success(result), "success")
    return redirect_to(target(result) if callable(target) else target)


def form_page(
    access: ProjectAccess, permission: int, page: str, form: FlaskForm, **context: Any
) -> Response:
    """The form page (422 when it carries errors); only for users who may submit it."""
    access.require(permission)
    status = 422 if has_errors(form) else 200
    return render(page, access=access, form=form, status=status, **context)


def has_errors(form: BaseForm) -> bool:
    """True when the form, any field, or any field of a nested row carries an error."""
    return bool(form.form_errors) or any(_field_has_errors(field) for field in form)


def _field_has_errors(field: Field) -> bool:
    if isinstance(field, FormField):
        return has_errors(field.form)
    if isinstance(field, FieldList):
        return any(_field_has_errors(entry) for entry in field.entries) or any(
            isinstance(error, str) for error in field.errors
        )
    return bool(field.errors)


# Where each kind of user of an object is edited or shown, for the in-use message's links.
REFERRER_PAGES = {
    "template": ("web.templates_show", "template_id"),
    "inventory": ("web.inventories_edit", "inventory_id"),
    "repository": ("web.repositories_edit", "repository_id"),
    "integration": ("web.integrations_show", "integration_id"),
    "schedule": ("web.schedules_edit", "schedule_id"),
}
MAX_LINKS = 20


def in_use_message(exc: InUse, project_id: int) -> dict[str, Any]:
    """A flash message naming, with links, every object that still uses the deleted one."""
    links = []
    for item in exc.used_by[:MAX_LINKS]:
        endpoint, argument = REFERRER_PAGES[item["kind"]]
        url = url_for(endpoint, project_id=project_id, **{argument: item["id"]})
        links.append({"kind": item["kind"], "name": item["name"], "url": url})
    label = exc.message.split(" is in use", 1)[0]
    return {
        "text": f"{label} cannot be deleted: it is still used by",
        "links": links,
        "more": max(len(exc.used_by) - MAX_LINKS, 0),
    }


def delete_and_return(remove: Callable[[], None], success: str, target: str) -> Response:
    """Call the service's delete; an object still in use stays, and the message names (with
    links) what uses it."""
    try:
        remove()
    except InUse as exc:
        db.session.rollback()
        flash(in_use_message(exc, request.view_args["project_id"]), "error")
    except FORM_ERRORS as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(success, "success")
    return redirect_to(target)
