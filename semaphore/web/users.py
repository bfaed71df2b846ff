"""Administration pages for users: list, add, edit, remove."""

from __future__ import annotations

from flask import Response, flash, url_for
from flask_login import current_user, login_required

from semaphore.config import current_config
from semaphore.errors import ValidationError
from semaphore.identity import current_session_id
from semaphore.services import users
from semaphore.services.auth import two_factor
from semaphore.web.blueprint import web_blueprint
from semaphore.web.forms import UserForm, attach_error
from semaphore.web.htmx import redirect_to, render


@web_blueprint.get("/users")
@login_required
def users_index() -> Response:
    users.require_admin(current_user)
    return render(
        "users/index.html", partial="users/_table.html", users=users.list_users(current_user)
    )


@web_blueprint.route("/users/new", methods=["GET", "POST"])
@login_required
def user_new() -> Response:
    users.require_admin(current_user)
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = users.create_user(current_user, form.data)
        except ValidationError as exc:
            attach_error(form, exc)
        else:
            flash(f"User {user.username} added", "success")
            return redirect_to(url_for("web.users_index"))
    return _form_page(form, None)


@web_blueprint.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@login_required
def user_edit(user_id: int) -> Response:
    user = users.get_user(current_user, user_id)
    form = UserForm(obj=user) if not _submitted() else UserForm()
    if form.validate_on_submit():
        try:
            users.update_user(
                current_user, user_id, _editable_fields(form, user), current_session_id()
            )
        except ValidationError as exc:
            attach_error(form, exc)
        else:
            flash(f"User {user.username} saved", "success")
            target = "web.users_index" if current_user.admin else "web.dashboard"
            return redirect_to(url_for(target))
    return _form_page(form, user)


@web_blueprint.post("/users/<int:user_id>/2fa/reset")
@login_required
def user_2fa_reset(user_id: int) -> Response:
    user = users.get_user(current_user, user_id)
    two_factor.reset(current_user, user_id)
    flash(f"Two-factor sign-in of {user.username} is off; they can set it up again", "success")
    return redirect_to(url_for("web.user_edit", user_id=user_id))


@web_blueprint.delete("/users/<int:user_id>")
@login_required
def user_delete(user_id: int) -> Response:
    user = users.get_user(current_user, user_id)
    users.delete_user(current_user, user_id)
    flash(f"User {user.username} removed", "success")
    return redirect_to(url_for("web.users_index"))


def _editable_fields(form: UserForm, user) -> dict:
    # The admin box is shown only to admins editing someone else; a field that was not
    # shown must not be read as "unchecked".
    data = dict(form.data)
    if not (current_user.admin and user.id != current_user.id):
        data.pop("admin", None)
    return data


def _submitted() -> bool:
    from flask import request

    return request.method == "POST"


def _form_page(form: UserForm, user) -> Response:
    status = 422 if form.errors or form.form_errors else 200
    totp_on = user is not None and two_factor.is_enabled(user)
    return render(
        "users/form.html",
        form=form,
        user=user,
        status=status,
        totp_on=totp_on,
        password_min_length=current_config().password_min_length,
    )
