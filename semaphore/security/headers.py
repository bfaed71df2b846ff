"""Security headers on every response: pages, API, static files, errors and redirects.

The Content-Security-Policy allows only our own scripts, styles and connections (the
live log's WebSocket is same-origin, which `connect-src 'self'` covers), so templates
carry no inline scripts, event-handler attributes or style attributes, and htmx is told
not to inject its indicator `<style>` (see templates/base.html).
"""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# Browsers remember HSTS: a year, as the usual preload lists ask.
HSTS = "max-age=31536000; includeSubDomains"


def security_headers(https: bool) -> dict[str, str]:
    """The headers every response carries; HSTS only when the app is served over https."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    if https:
        headers["Strict-Transport-Security"] = HSTS
    return headers


def init_app(app: Flask) -> None:
    """Add the security headers to each response, leaving any a route set itself."""
    headers = security_headers(app.config["SEMAPHORE"].web_host.startswith("https://"))

    @app.after_request
    def _add_security_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response
