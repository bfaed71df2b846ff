"""The login page and logging out."""

from __future__ import annotations

from flask import Response, request, url_for
from flask_login import current_user

from semaphore.errors import NotAuthenticated, RateLimited, ServiceUnavailable, ValidationError
from semaphore.identity import (
    client_ip,
    current_session_id,
    second_factor_accepted,
    sign_in,
    sign_out,
    waiting_for_second_factor,
)
from semaphore.security.redirects import same_site_path
from semaphore.services import system
from semaphore.services.auth import login as auth
from semaphore.web.blueprint import web_blueprint
from semaphore.web.forms import LoginForm, PasscodeForm, RecoveryCodeForm
from semaphore.web.htmx import redirect_to, render


def _safe_next(target: str | None) -> str:
    return same_site_path(target) or url_for("web.dashboard")


@web_blueprint.route("/auth/login", methods=["GET", "POST"])
def login() -> Response:
    if current_user.is_authenticated and request.method == "GET":
        return redirect_to(_safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = auth.authenticate(form.auth.data or "", form.password.data or "", client_ip())
        except (NotAuthenticated, ValidationError, RateLimited, ServiceUnavailable) as exc:
            form.form_errors.append(exc.message)
            status = 422 if exc.status in (400, 401) else exc.status
        else:
            sign_in(user)
            if waiting_for_second_factor():
                return redirect_to(url_for("web.verify", next=request.args.get("next")))
            return redirect_to(_safe_next(request.args.get("next")))
    return render("auth/login.html", form=form, status=status, meta=system.login_metadata())


@web_blueprint.post("/auth/logout")
def logout() -> Response:
    sign_out()
    return redirect_to(url_for("web.login"))


@web_blueprint.route("/auth/verify", methods=["GET", "POST"])
def verify() -> Response:
    """The login's second step: a TOTP code, or (the second form) a recovery code."""
    if not waiting_for_second_factor():
        return redirect_to(url_for("web.login", next=request.args.get("next")))
    code_form, recovery_form = PasscodeForm(prefix="totp"), RecoveryCodeForm(prefix="recovery")
    status = 200
    if "recovery-submit" in request.form:
        form, finish, code = recovery_form, auth.recover_session, recovery_form.recovery_code
    else:
        form, finish, code = code_form, auth.verify_session, code_form.passcode
    if form.validate_on_submit():
        try:
            finish(current_session_id(), code.data or "", client_ip())
        except (NotAuthenticated, ValidationError, RateLimited) as exc:
            form.form_errors.append(exc.message)
            status = exc.status if isinstance(exc, RateLimited) else 422
        else:
            second_factor_accepted()
            return redirect_to(_safe_next(request.args.get("next")))
    return render(
        "auth/verify.html", code_form=code_form, recovery_form=recovery_form, status=status
    )
