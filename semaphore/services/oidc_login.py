"""Signing in through an OpenID Connect provider (the `oidc_providers` settings).

A login spans two browser requests. `begin_login` builds the provider's authorization URL and
returns a PendingLogin (state, nonce, PKCE verifier, where to go afterwards); the route keeps it
in the signed session cookie and hands it back to `finish_login` with the callback's query.
`finish_login` checks the state, exchanges the code, verifies the id_token (signature against
the provider's JWKS, issuer, audience, expiry, nonce), maps the claims and returns the user to
sign in. Nothing here reads `request` or `session`, so the flow is testable without a browser.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import string
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from semaphore.errors import NotAuthenticated, NotFound, ServiceUnavailable
from semaphore.extensions import db
from semaphore.models import User
from semaphore.services.settings import current_config
from semaphore.services.validation import EMAIL_RE, MAX_NAME

log = logging.getLogger(__name__)

DEFAULT_SCOPES = "openid profile email"
DEFAULT_CLAIM = "preferred_username"
HTTP_TIMEOUT = 10  # seconds for each call to the provider; a hung provider must not hang a worker
PENDING_LIFETIME = 600  # seconds a user may spend on the provider's pages
METADATA_LIFETIME = 3600  # discovery documents and key sets are re-read at most hourly
CLOCK_LEEWAY = 120  # seconds of clock skew tolerated on exp/iat, as Authlib's own client does

# What the person at the login page is told; the details go to the log, for the administrator.
UNREACHABLE = "Could not reach the sign-in provider; please try again later"
MISCONFIGURED = "Sign-in with this provider is not configured correctly; tell your administrator"

# The original accepts Go templates in claim settings; only their plain `{{ .claim }}` form is
# supported here, which covers the usual "{{ .given_name }} {{ .family_name }}".
_TEMPLATE_FIELD = re.compile(r"\{\{-?\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}")
_RANDOM_CHARS = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class Provider:
    """One provider's settings, with the `*_file` secrets read and the defaults applied."""

    id: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_url: str
    scopes: str
    provider_url: str
    endpoint: Mapping[str, Any]
    username_claim: str
    name_claim: str
    email_claim: str


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


# --- settings ------------------------------------------------------------------------------


def get_provider(provider_id: str) -> Provider:
    """The configured provider with this id.

    Raises:
        NotFound: no such provider.
        ServiceUnavailable: a `*_file` secret cannot be read.
    """
    settings = current_config().oidc_providers.get(provider_id)
    if not isinstance(settings, Mapping):
        raise NotFound("Unknown sign-in provider")
    endpoint = settings.get("endpoint")
    return Provider(
        id=provider_id,
        client_id=_secret(provider_id, settings, "client_id"),
        client_secret=_secret(provider_id, settings, "client_secret"),
        redirect_url=str(settings.get("redirect_url") or ""),
        scopes=_scopes(settings.get("scopes")),
        provider_url=str(settings.get("provider_url") or "").rstrip("/"),
        endpoint=endpoint if isinstance(endpoint, Mapping) else {},
        username_claim=str(settings.get("username_claim") or DEFAULT_CLAIM),
        name_claim=str(settings.get("name_claim") or DEFAULT_CLAIM),
        email_claim=str(settings.get("email_claim") or "email"),
    )


def _secret(provider_id: str, settings: Mapping[str, Any], key: str) -> str:
    # As in the original, the file wins when both are set (Docker/Kubernetes secrets).
    path = settings.get(f"{key}_file")
    if path:
        try:
            # Unlike the original, surrounding whitespace (a file's final newline) is dropped.
            return Path(str(path)).read_text(encoding="utf-8").strip()
        except OSError as exc:
            log.error("oidc provider %s: cannot read %s_file: %s", provider_id, key, exc)
            raise ServiceUnavailable(MISCONFIGURED) from None
    return str(settings.get(key) or "")


def _scopes(value: Any) -> str:
    if isinstance(value, str):
        scopes = value.replace(",", " ").split()
    elif isinstance(value, list | tuple):
        scopes = [str(scope) for scope in value if scope]
    else:
        scopes = []
    return " ".join(scopes) or DEFAULT_SCOPES


# --- the provider's metadata -----------------------------------------------------------------

_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def _get_json(url: str, provider: Provider, what: str) -> dict[str, Any]:
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT, headers={"Accept": "application/json"})
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        log.warning("oidc provider %s: cannot read its %s at %s: %s", provider.id, what, url, exc)
        raise ServiceUnavailable(UNREACHABLE) from None
    if not isinstance(data, dict):
        log.warning("oidc provider %s: its %s at %s is not an object", provider.id, what, url)
        raise ServiceUnavailable(UNREACHABLE)
    return data


def _cached_json(url: str, provider: Provider, what: str, refresh: bool = False) -> dict[str, Any]:
    now = time.monotonic()
    hit = _cache.get(url)
    if hit is not None and hit[0] > now and not refresh:
        return hit[1]
    data = _get_json(url, provider, what)
    _cache[url] = (now + METADATA_LIFETIME, data)
    return data


def _misconfigured(provider: Provider, detail: str) -> ServiceUnavailable:
    log.error("oidc provider %s: %s", provider.id, detail)
    return ServiceUnavailable(MISCONFIGURED)


def server_metadata(provider: Provider) -> dict[str, Any]:
    """The provider's endpoints: from discovery when provider_url is set, else `endpoint{}`.

    Raises:
        ServiceUnavailable: discovery failed, or the settings lack an endpoint.
    """
    if provider.provider_url:
        document = _cached_json(
            f"{provider.provider_url}/.well-known/openid-configuration", provider, "discovery"
        )
        # OpenID Connect Discovery 1.0, section 4.3: the issuer must be the URL asked.
        if str(document.get("issuer", "")).rstrip("/") != provider.provider_url:
            raise _misconfigured(provider, f"discovery names issuer {document.get('issuer')!r}")
        metadata = dict(document)
    else:
        endpoint = provider.endpoint
        metadata = {
            "issuer": endpoint.get("issuer") or "",
            "authorization_endpoint": endpoint.get("auth") or "",
            "token_endpoint": endpoint.get("token") or "",
            "userinfo_endpoint": endpoint.get("userinfo") or "",
            "jwks_uri": endpoint.get("jwks") or "",
            "id_token_signing_alg_values_supported": endpoint.get("algorithms") or [],
        }
    for key in ("authorization_endpoint", "token_endpoint"):
        if not metadata.get(key):
            raise _misconfigured(provider, f"no {key} (set provider_url or endpoint)")
    return metadata


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
    with _client(provider, redirect_uri, code_challenge_method="S256") as client:
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


def _client(provider: Provider, redirect_uri: str, **kwargs: Any) -> OAuth2Session:
    return OAuth2Session(
        client_id=provider.client_id,
        client_secret=provider.client_secret or None,
        scope=provider.scopes,
        redirect_uri=redirect_uri,
        default_timeout=HTTP_TIMEOUT,
        **kwargs,
    )


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
    client = _client(
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
        extra = _userinfo(provider, metadata, token)
        if extra.get("sub") != claims.get("sub"):
            log.warning("oidc provider %s: userinfo is about another subject", provider.id)
            return claims
        return {**extra, **claims}
    if not metadata.get("userinfo_endpoint"):
        raise _misconfigured(provider, "no id_token was issued and there is no userinfo endpoint")
    return _userinfo(provider, metadata, token)


def verify_id_token(
    provider: Provider, metadata: Mapping[str, Any], raw: str, nonce: str, access_token: str
) -> dict[str, Any]:
    """The id_token's claims after checking its signature, issuer, audience, times and nonce.

    Raises:
        NotAuthenticated: the token does not verify.
        ServiceUnavailable: no key set to verify with.
    """
    jwks_uri = metadata.get("jwks_uri")
    if not jwks_uri:
        raise _misconfigured(provider, "no jwks endpoint to verify the id_token with")
    algorithms = [
        alg
        for alg in metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        if str(alg).lower() != "none"
    ] or ["RS256"]
    registry = JWSRegistry(algorithms=algorithms, strict_check_header=False)
    try:
        try:
            decoded = jwt.decode(raw, _key_set(provider, jwks_uri), registry=registry)
        except JoseError:
            # The provider may have rotated its keys since we cached them.
            decoded = jwt.decode(raw, _key_set(provider, jwks_uri, refresh=True), registry=registry)
        options: dict[str, Any] = {"aud": {"essential": True, "value": provider.client_id}}
        if metadata.get("issuer"):
            options["iss"] = {"essential": True, "value": metadata["issuer"]}
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            options,
            {"nonce": nonce, "client_id": provider.client_id, "access_token": access_token},
        )
        claims.validate(leeway=CLOCK_LEEWAY)
    except (JoseError, ValueError) as exc:
        log.warning("oidc provider %s: id_token rejected: %r", provider.id, exc)
        raise NotAuthenticated("The sign-in provider's answer could not be verified") from None
    return dict(claims)


def _key_set(provider: Provider, jwks_uri: str, refresh: bool = False) -> KeySet:
    data = _cached_json(jwks_uri, provider, "key set", refresh=refresh)
    try:
        return KeySet.import_key_set(data)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise _misconfigured(provider, f"unusable key set at {jwks_uri}: {exc!r}") from None


def _userinfo(provider: Provider, metadata: Mapping[str, Any], token: Mapping[str, Any]) -> dict:
    client = _client(provider, "", token=dict(token))
    with client:
        try:
            response = client.get(metadata["userinfo_endpoint"])
            response.raise_for_status()
            data = response.json()
        except (requests.RequestException, ValueError) as exc:
            log.warning("oidc provider %s: userinfo failed: %s", provider.id, exc)
            raise ServiceUnavailable(UNREACHABLE) from None
    return data if isinstance(data, dict) else {}


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
