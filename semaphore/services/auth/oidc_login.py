"""Signing in through an OpenID Connect provider (the `oidc_providers` settings).

A login spans two browser requests. `begin_login` builds the provider's authorization URL and
returns a PendingLogin (state, nonce, PKCE verifier, where to go afterwards); the route keeps it
in the signed session cookie and hands it back to `finish_login` with the callback's query.
`finish_login` checks the state, exchanges the code, verifies the id_token (signature against
the provider's JWKS, issuer, audience, expiry, nonce), maps the claims and returns the user to
sign in. Nothing here reads `request` or `session`, so the flow is testable without a browser.

This module holds the flow, the claim mapping (`a | b` alternatives, `{{ .claim }}` templates,
username fallback) and finding or creating the external user. The provider's settings,
discovery, key sets, id_token verification and userinfo are in `oidc_provider`.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import string
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote

import requests
from authlib.integrations.requests_client import OAuthError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from semaphore.config import current_config
from semaphore.errors import NotAuthenticated, ServiceUnavailable
from semaphore.extensions import db
from semaphore.models import User
from semaphore.services import audit
from semaphore.services.auth.oidc_provider import (
    UNREACHABLE,
    Provider,
    fetch_userinfo,
    get_provider,
    misconfigured,
    oauth_client,
    server_metadata,
    verify_id_token,
)
from semaphore.services.validation import EMAIL_RE, MAX_NAME

log = logging.getLogger(__name__)

PENDING_LIFETIME = 600  # seconds a user may spend on the provider's pages

# The original accepts Go templates in claim settings; only their plain `{{ .claim }}` form is
# supported here, which covers the usual "{{ .given_name }} {{ .family_name }}".
_TEMPLATE_FIELD = re.compile(r"\{\{-?\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}")
_RANDOM_CHARS = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class PendingLogin:
    """What the callback must see again: kept in the browser's signed session cookie."""

    provider_id: str
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    return_path: str
    created: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> PendingLogin | None:
        """The pending login stored by `to_dict`, or None when the data is not one."""
        try:
            return cls(**data)
        except TypeError:
            return None


@dataclass(frozen=True)
class LoginStart:
    url: str
    pending: PendingLogin


@dataclass(frozen=True)
class Claims:
    """The user fields mapped from the provider's claims."""

    username: str
    name: str
    email: str


# --- the flow --------------------------------------------------------------------------------


def begin_login(provider_id: str, request_callback_url: str, return_path: str) -> LoginStart:
    """The provider URL to send the browser to, and what the callback must be given back.

    `request_callback_url` is the callback as seen by the current request; it is used only
    when neither the provider's redirect_url nor web_host is configured.

    Raises:
        NotFound: unknown provider.
        ServiceUnavailable: the provider cannot be reached or is misconfigured.
    """
    provider = get_provider(provider_id)
    metadata = server_metadata(provider)
    web_host = current_config().web_host
    redirect_uri = provider.redirect_url or (
        f"{web_host}/api/auth/oidc/{quote(provider.id, safe='')}/redirect"
        if web_host
        else request_callback_url
    )
    pending = PendingLogin(
        provider_id=provider.id,
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        code_verifier=secrets.token_urlsafe(48),
        redirect_uri=redirect_uri,
        return_path=return_path,
        created=int(time.time()),
    )
    # PKCE (RFC 7636) on top of the client secret: providers that do not know it ignore it.
    with oauth_client(provider, redirect_uri, code_challenge_method="S256") as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"],
            state=pending.state,
            nonce=pending.nonce,
            code_verifier=pending.code_verifier,
        )
    return LoginStart(url=url, pending=pending)


def finish_login(provider_id: str, pending: PendingLogin | None, params: Mapping[str, str]) -> User:
    """The user for the provider's answer on the callback (`params` is its query).

    Raises:
        NotFound: unknown provider.
        NotAuthenticated: wrong or stale state, an error from the provider, a code it does not
            accept, an id_token that does not verify, no e-mail claim, or an e-mail that
            belongs to a local (password) account.
        ServiceUnavailable: the provider cannot be reached or is misconfigured.
    """
    provider = get_provider(provider_id)
    try:
        return _finish_login(provider, pending, params)
    except NotAuthenticated as exc:
        # Who it was is unknown until the claims are read: the reason says what went wrong.
        audit.commit_alone(
            "login_failed",
            None,
            actor_login="",
            details={"method": "oidc", "provider": provider.id, "reason": exc.message},
        )
        raise


def _finish_login(
    provider: Provider, pending: PendingLogin | None, params: Mapping[str, str]
) -> User:
    error = params.get("error")
    if error:
        log.info(
            "oidc provider %s answered %s: %s", provider.id, error, params.get("error_description")
        )
        raise NotAuthenticated(f"The sign-in provider refused the sign-in ({_token_text(error)})")
    pending = _matching(provider, pending, params.get("state"))
    code = params.get("code")
    if not code:
        raise NotAuthenticated("The sign-in provider returned no authorization code")
    metadata = server_metadata(provider)
    token = _exchange_code(provider, metadata, pending, code)
    claims = _claims(provider, metadata, token, pending.nonce)
    return user_for_claims(map_claims(provider, claims))


def _token_text(value: str) -> str:
    # Error codes are [a-z_] by RFC 6749; anything else is not shown to the user.
    return value if re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", value) else "error"


def _matching(provider: Provider, pending: PendingLogin | None, state: str | None) -> PendingLogin:
    """The pending login when the callback's state is the one this browser was given."""
    if (
        pending is None
        or not state
        or time.time() - pending.created > PENDING_LIFETIME
        or pending.provider_id != provider.id
        or not hmac.compare_digest(pending.state.encode(), state.encode())
    ):
        raise NotAuthenticated("The sign-in could not be matched to this browser; please try again")
    return pending


def _auth_method(provider: Provider, metadata: Mapping[str, Any]) -> str:
    if not provider.client_secret:
        return "none"
    supported = metadata.get("token_endpoint_auth_methods_supported") or []
    # HTTP Basic is the spec's default; use the form body only when that is all it takes.
    if supported and "client_secret_basic" not in supported and "client_secret_post" in supported:
        return "client_secret_post"
    return "client_secret_basic"


def _exchange_code(
    provider: Provider, metadata: Mapping[str, Any], pending: PendingLogin, code: str
) -> dict[str, Any]:
    client = oauth_client(
        provider, pending.redirect_uri, token_endpoint_auth_method=_auth_method(provider, metadata)
    )
    with client:
        try:
            token = client.fetch_token(
                metadata["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                code_verifier=pending.code_verifier,
            )
        except OAuthError as exc:
            log.warning("oidc provider %s refused the code: %s", provider.id, exc.error)
            raise NotAuthenticated(
                f"The sign-in provider refused the sign-in ({_token_text(exc.error or 'error')})"
            ) from None
        except (requests.RequestException, ValueError) as exc:
            log.warning("oidc provider %s: token request failed: %s", provider.id, exc)
            raise ServiceUnavailable(UNREACHABLE) from None
    if not isinstance(token, Mapping) or not token.get("access_token"):
        log.warning("oidc provider %s: token response without an access_token", provider.id)
        raise NotAuthenticated("The sign-in provider returned no token")
    return dict(token)


def _claims(
    provider: Provider, metadata: Mapping[str, Any], token: Mapping[str, Any], nonce: str
) -> dict[str, Any]:
    """Claims of the verified id_token, else of userinfo (as the original)."""
    id_token = token.get("id_token")
    if id_token:
        claims = verify_id_token(provider, metadata, str(id_token), nonce, token["access_token"])
        # Some providers keep the e-mail out of the id_token: then ask userinfo too.
        if _first_claim(provider.email_claim, claims) or not metadata.get("userinfo_endpoint"):
            return claims
        extra = fetch_userinfo(provider, metadata, token)
        if extra.get("sub") != claims.get("sub"):
            log.warning("oidc provider %s: userinfo is about another subject", provider.id)
            return claims
        return {**extra, **claims}
    if not metadata.get("userinfo_endpoint"):
        raise misconfigured(provider, "no id_token was issued and there is no userinfo endpoint")
    return fetch_userinfo(provider, metadata, token)


# --- claims and users ------------------------------------------------------------------------


def map_claims(provider: Provider, claims: Mapping[str, Any]) -> Claims:
    """The user fields from the claims, with the original's fallbacks.

    Raises:
        NotAuthenticated: the e-mail claim is missing or not an e-mail address.
    """
    email = _first_claim(provider.email_claim, claims).strip()
    if not email or len(email) > MAX_NAME or not EMAIL_RE.match(email):
        raise NotAuthenticated(
            "The sign-in provider did not provide an e-mail address "
            f"(claim '{provider.email_claim}')"
        )
    username = _first_claim(provider.username_claim, claims).strip() or _random_username()
    name = _first_claim(provider.name_claim, claims).strip() or "Anonymous"
    return Claims(username=username.lower()[:MAX_NAME], name=name[:MAX_NAME], email=email)


def _first_claim(setting: str, claims: Mapping[str, Any]) -> str:
    """The first non-empty alternative of a `a | b` setting."""
    for alternative in setting.split("|"):
        alternative = alternative.strip()
        if not alternative:
            continue
        value = (
            _render(alternative, claims) if "{{" in alternative else _text(claims.get(alternative))
        )
        if value:
            return value
    return ""


def _render(template: str, claims: Mapping[str, Any]) -> str:
    missing = False

    def field_value(match: re.Match[str]) -> str:
        nonlocal missing
        value = _text(claims.get(match.group(1)))
        missing = missing or not value
        return value

    rendered = _TEMPLATE_FIELD.sub(field_value, template)
    if "{{" in rendered:
        log.warning("oidc claim template %r uses more than {{ .claim }}: not supported", template)
        return ""
    return "" if missing else rendered.strip()


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    # Numbers are claims too (a numeric user id); booleans and objects are not names.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    return ""


def _random_username() -> str:
    return "".join(secrets.choice(_RANDOM_CHARS) for _ in range(16))


def _user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))


def _username_taken(username: str) -> bool:
    query = select(User.id).where(func.lower(User.username) == username.lower())
    return db.session.scalar(query) is not None


def _free_username(wanted: str) -> str:
    if not _username_taken(wanted):
        return wanted
    for n in range(2, 100):
        candidate = f"{wanted[: MAX_NAME - 4]}{n}"
        if not _username_taken(candidate):
            return candidate
    return f"{wanted[: MAX_NAME - 17]}-{_random_username()}"


def user_for_claims(claims: Claims) -> User:
    """The external user with this e-mail, created on the first login.

    Raises:
        NotAuthenticated: the e-mail belongs to a local (password) account.
    """
    user = _user_by_email(claims.email)
    if user is None:
        user = User(
            username=_free_username(claims.username),
            name=claims.name,
            email=claims.email,
            password="",
            admin=False,
            alert=False,
            external=True,
        )
        db.session.add(user)
        try:
            db.session.commit()
        except IntegrityError:
            # A simultaneous first login of the same person (or username) won: look again.
            db.session.rollback()
            user = _user_by_email(claims.email)
            if user is None:
                raise NotAuthenticated(
                    "Your account could not be created; please try again"
                ) from None
    if not user.external:
        log.warning("oidc login refused: %s belongs to a local account", claims.email)
        raise NotAuthenticated(
            "This e-mail address belongs to an account that signs in with a password"
        )
    return user
