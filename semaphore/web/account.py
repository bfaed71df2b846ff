"""The signed-in user's account page: two-factor sign-in, recovery codes, sessions, API tokens.

Secrets shown once (a new token, new recovery codes) are rendered into the answer to the
POST that made them and never stored in a form that can show them again. CSRFProtect has
checked every POST before it gets here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Response, flash, request, url_for
from flask_login import current_user, login_required

from semaphore.errors import Conflict, NotAuthenticated, NotFound, ValidationError
from semaphore.identity import current_session_id
from semaphore.security.redirects import same_site_path
from semaphore.services import options, users
from semaphore.services.auth import api_tokens, two_factor
from semaphore.services.auth import login as auth
from semaphore.web.blueprint import web_blueprint
from semaphore.web.forms import PasscodeForm, TokenForm
from semaphore.web.htmx import is_htmx, redirect_to, render

FORM_ERRORS = (ValidationError, NotAuthenticated, NotFound, Conflict)
T = TypeVar("T")


def _page(status: int = 200, **shown) -> Response:
    return render(
        "account/index.html",
        status=status,
        two_factor=two_factor.status(current_user),
        sessions=auth.list_sessions(current_user),
        current_session=current_session_id(),
        tokens=api_tokens.list_tokens(current_user),
        token_expired=api_tokens.token_expired,
        # Fresh forms do not echo what was just posted (a used code, a token's name).
        token_form=shown.pop("token_form", None) or TokenForm(formdata=None),
        code_form=shown.pop("code_form", None) or PasscodeForm(formdata=None),
        **shown,
    )


@web_blueprint.get("/account")
@login_required
def account() -> Response:
    return _page()


@web_blueprint.post("/account/2fa/begin")
@login_required
def account_2fa_begin() -> Response:
    try:
        # Kept pending by the service: the confirm page (GET) shows it, so a reload works.
        two_factor.begin_enrolment(current_user)
    except Conflict as exc:
        flash(exc.message, "error")
        return redirect_to(url_for("web.account"))
    return redirect_to(url_for("web.account_2fa_confirm"))


@web_blueprint.route("/account/2fa/confirm", methods=["GET", "POST"])
@login_required
def account_2fa_confirm() -> Response:
    if request.method == "GET":
        # The pending enrolment's QR code and code form, until it is confirmed.
        pending = _pending_or_none()
        if pending is None:
            return redirect_to(url_for("web.account"))
        return _page(enrolment=pending, qr_svg=two_factor.qr_svg(pending.url))
    form, done, codes = _with_posted_code(
        lambda code: two_factor.confirm_enrolment(current_user, code)
    )
    if done:
        return _page(recovery_codes=codes, message="Two-factor sign-in is on.")
    enrolment = _pending_or_none()
    if enrolment is None:
        return redirect_to(url_for("web.account"))
    return _page(422, code_form=form, enrolment=enrolment, qr_svg=two_factor.qr_svg(enrolment.url))


@web_blueprint.post("/account/2fa/recovery-codes")
@login_required
def account_recovery_codes() -> Response:
    form, done, codes = _with_posted_code(
        lambda code: two_factor.regenerate_recovery_codes(current_user, code)
    )
    if done:
        return _page(recovery_codes=codes, message="New recovery codes; the old ones are void.")
    return _page(422, code_form=form)


@web_blueprint.post("/account/2fa/disable")
@login_required
def account_2fa_disable() -> Response:
    form, done, _ = _with_posted_code(lambda code: two_factor.disable(current_user, code))
    if done:
        flash("Two-factor sign-in is off", "success")
        return redirect_to(url_for("web.account"))
    return _page(422, code_form=form)


def _with_posted_code(action: Callable[[str], T]) -> tuple[PasscodeForm, bool, T | None]:
    """Run the action with the posted code: (the form, whether it went through, its result).

    A refusal becomes the form's error.
    """
    form = PasscodeForm()
    if form.validate_on_submit():
        try:
            return form, True, action(form.passcode.data or "")
        except FORM_ERRORS as exc:
            form.form_errors.append(exc.message)
    return form, False, None


@web_blueprint.post("/account/sessions/<int:session_id>/revoke")
@login_required
def account_session_revoke(session_id: int) -> Response:
    auth.revoke_session(current_user, session_id)
    flash("Session signed out", "success")
    return redirect_to(url_for("web.account"))


@web_blueprint.post("/account/sessions/revoke-others")
@login_required
def account_sessions_revoke_others() -> Response:
    ended = users.end_sessions(current_user.id, keep_session_id=current_session_id())
    flash(f"Signed out {ended} other session{'s' if ended != 1 else ''}", "success")
    return redirect_to(url_for("web.account"))


@web_blueprint.post("/account/tokens")
@login_required
def account_token_new() -> Response:
    form = TokenForm()
    if form.validate_on_submit():
        data: dict = {"name": form.name.data or ""}
        if form.expires_in_days.data:
            data["expires_in_days"] = _whole_number(form.expires_in_days.data)
        try:
            _token, raw = api_tokens.create_token(current_user, data)
        except ValidationError as exc:
            form.form_errors.append(exc.message)
        else:
            return _page(new_token=raw)
    return _page(422, token_form=form)


@web_blueprint.post("/account/tokens/<token_id>/revoke")
@login_required
def account_token_revoke(token_id: str) -> Response:
    api_tokens.expire_token(current_user, token_id)
    flash("API token revoked", "success")
    return redirect_to(url_for("web.account"))


@web_blueprint.post("/account/color-scheme")
@login_required
def account_color_scheme() -> Response:
    # The user menu's switch: the page's script has already recoloured it, so htmx gets no
    # content; without script the form posts and returns to the page it was on.
    options.set_color_scheme(current_user, request.form.get("color_scheme", ""))
    if is_htmx():
        return Response(status=204)
    return redirect_to(same_site_path(request.form.get("next")) or url_for("web.account"))


def _pending_or_none() -> two_factor.Enrolment | None:
    try:
        return two_factor.pending_enrolment(current_user)
    except NotFound:
        return None


def _whole_number(text: str) -> int | str:
    # The service gives the message for anything that is not a sensible number of days.
    return int(text) if text.isdigit() else text
