"""The login page and logging out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, request, url_for
from flask_login import current_user

from semaphore.errors import NotAuthenticated, RateLimited, ValidationError
from semaphore.identity import client_ip, sign_in, sign_out
from semaphore.services import auth, system
from semaphore.web import web_blueprint
from semaphore.web.forms import LoginForm
from semaphore.web.htmx import redirect_to, render


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an absolute URL here would make the login page an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("web.dashboard")


@web_blueprint.route("/auth/login", methods=["GET", "POST"])
def login() -> Response:
    if current_user.is_authenticated and request.method == "GET":
        return redirect_to(_safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = auth.authenticate(form.auth.data or "", form.password.data or "", client_ip())
        except (NotAuthenticated, ValidationError, RateLimited) as exc:
            form.form_errors.append(exc.message)
            status = exc.status if isinstance(exc, RateLimited) else 422
        else:
            sign_in(user)
            return redirect_to(_safe_next(request.args.get("next")))
    return render("auth/login.html", form=form, status=status, meta=system.login_metadata())


@web_blueprint.post("/auth/logout")
def logout() -> Response:
    sign_out()
    return redirect_to(url_for("web.login"))
