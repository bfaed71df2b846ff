"""The HTTP side of the app (create_app with web on): sign-in, CSRF, the WebSocket, the API
and the pages, error pages and middleware. Only web processes import it."""

from __future__ import annotations

from flask import Flask

from semaphore.config import Config


def add_http_side(app: Flask, config: Config) -> None:
    """The HTTP side: extensions, identity, the API and the pages, error pages, middleware."""
    from semaphore import identity
    from semaphore.api import api_blueprint, openapi
    from semaphore.api import metrics as metrics_routes
    from semaphore.api.runner_protocol import runner_protocol_blueprint
    from semaphore.security import cookies as session_cookies
    from semaphore.security import headers as security_headers
    from semaphore.web import register_web
    from semaphore.web_extensions import csrf, login_manager, sock
    from semaphore.wsgi_middleware import IdConverter, PrefixMiddleware, StripTrailingSlash

    # Before any route is added: every <int:...> of every blueprint uses it.
    app.url_map.converters["int"] = IdConverter
    # First: its timer starts before every other hook, and its count sees every answer.
    metrics_routes.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    sock.init_app(app)
    security_headers.init_app(app)
    session_cookies.init_app(app)
    identity.init_app(app)
    app.register_blueprint(api_blueprint)
    csrf.exempt(api_blueprint)
    # Runners are not users: no login and no cookie, so no CSRF token either.
    app.register_blueprint(runner_protocol_blueprint)
    csrf.exempt(runner_protocol_blueprint)
    register_web(app)
    openapi.register(app)
    _register_error_handlers(app)

    app.wsgi_app = StripTrailingSlash(app.wsgi_app)
    if config.web_root_path:
        app.wsgi_app = PrefixMiddleware(app.wsgi_app, config.web_root_path)


def _register_error_handlers(app: Flask) -> None:
    """API paths answer JSON, pages answer HTML, whatever went wrong."""
    from werkzeug.exceptions import HTTPException

    from semaphore.api import errors as api_errors
    from semaphore.errors import SemaphoreError
    from semaphore.web import errors as web_errors

    @app.errorhandler(SemaphoreError)
    def _semaphore_error(exc):
        if api_errors.is_api_request():
            return api_errors.handle_semaphore_error(exc)
        return web_errors.handle_semaphore_error(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc):
        if api_errors.is_api_request():
            return api_errors.handle_http_error(exc)
        return web_errors.handle_http_error(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc):
        api_errors.log_unexpected(exc)
        if api_errors.is_api_request():
            return api_errors.error_response("Internal server error", 500)
        return web_errors.error_page(500, "Something went wrong on our side; it has been logged.")
