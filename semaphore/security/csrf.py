"""CSRF defence for the JSON API (HTML forms are covered by Flask-WTF's CSRFProtect).

The API reads any body as JSON whatever its Content-Type, as the original does, so another
site's page could post to it with the user's cookie. Browsers say where a request comes from:
every cross-origin write carries `Origin`, and modern ones add `Sec-Fetch-Site`. So, as Go
1.25's `net/http.CrossOriginProtection` and filippo.io/csrf do, a write that a browser marks as
coming from another origin is refused (login included, so nobody can log a victim into the
attacker's account), and a request with neither header, which no browser sends for a
cross-origin write, is a script's and passes. Scripts and clients generated from the contract
therefore need no token, as with the original. SameSite=Lax on the session cookie stays as a
second wall.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, g, request

from semaphore.errors import PermissionDenied

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# What a browser says of a request from another site (same-site is a sibling subdomain,
# which is another origin all the same).
CROSS_ORIGIN_FETCH_SITES = frozenset({"cross-site", "same-site"})


def uses_bearer_token() -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


def check_api_write() -> None:
    """Refuse an unsafe API request that a browser marks as coming from another origin.

    Bearer-token requests carry no ambient credential and are not checked.

    Raises:
        PermissionDenied: the request may have been forged by another site.
    """
    if request.method not in UNSAFE_METHODS or uses_bearer_token():
        return
    if from_another_origin():
        raise PermissionDenied("Cross-site request refused")


def from_another_origin() -> bool:
    """True when the browser says this request comes from a page of another origin."""
    if request.headers.get("Sec-Fetch-Site", "").lower() in CROSS_ORIGIN_FETCH_SITES:
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    return urlsplit(origin).netloc.lower() not in _own_hosts()


def _own_hosts() -> set[str]:
    # Behind a proxy that rewrites Host, the public address is web_host's.
    hosts = {request.host.lower()}
    web_host = current_app.config["SEMAPHORE"].web_host
    if web_host:
        hosts.add(urlsplit(web_host).netloc.lower())
    return hosts


def reissue_token() -> None:
    """Give the session a fresh form token (after login, when the session changes)."""
    g.pop("csrf_token", None)
