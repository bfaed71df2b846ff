"""The provider side of an OpenID Connect sign-in (the `oidc_providers` settings).

What Semaphore needs to know about, and ask of, one provider: its settings (with `*_file` secrets
read and defaults applied), its endpoints from discovery or from `endpoint{}`, its key sets (both
cached for an hour), an OAuth 2 client for it, id_token verification (signature against the JWKS,
issuer, audience, expiry, nonce) and userinfo. The login flow that uses these is `oidc_login`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from semaphore.config import current_config
from semaphore.errors import NotAuthenticated, NotFound, ServiceUnavailable

log = logging.getLogger(__name__)

DEFAULT_SCOPES = "openid profile email"
DEFAULT_CLAIM = "preferred_username"
HTTP_TIMEOUT = 10  # seconds for each call to the provider; a hung provider must not hang a worker
METADATA_LIFETIME = 3600  # discovery documents and key sets are re-read at most hourly
CLOCK_LEEWAY = 120  # seconds of clock skew tolerated on exp/iat, as Authlib's own client does

# What the person at the login page is told; the details go to the log, for the administrator.
UNREACHABLE = "Could not reach the sign-in provider; please try again later"
MISCONFIGURED = "Sign-in with this provider is not configured correctly; tell your administrator"


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


def misconfigured(provider: Provider, detail: str) -> ServiceUnavailable:
    """The error to raise for a settings problem; `detail` goes to the log only."""
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
            raise misconfigured(provider, f"discovery names issuer {document.get('issuer')!r}")
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
            raise misconfigured(provider, f"no {key} (set provider_url or endpoint)")
    return metadata


# --- talking to it ---------------------------------------------------------------------------


def oauth_client(provider: Provider, redirect_uri: str, **kwargs: Any) -> OAuth2Session:
    """An Authlib client for this provider; use it in a `with` block."""
    return OAuth2Session(
        client_id=provider.client_id,
        client_secret=provider.client_secret or None,
        scope=provider.scopes,
        redirect_uri=redirect_uri,
        default_timeout=HTTP_TIMEOUT,
        **kwargs,
    )


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
        raise misconfigured(provider, "no jwks endpoint to verify the id_token with")
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
        raise misconfigured(provider, f"unusable key set at {jwks_uri}: {exc!r}") from None


def fetch_userinfo(
    provider: Provider, metadata: Mapping[str, Any], token: Mapping[str, Any]
) -> dict:
    """The provider's userinfo for this token ({} when it is not an object).

    Raises:
        ServiceUnavailable: the request failed.
    """
    client = oauth_client(provider, "", token=dict(token))
    with client:
        try:
            response = client.get(metadata["userinfo_endpoint"])
            response.raise_for_status()
            data = response.json()
        except (requests.RequestException, ValueError) as exc:
            log.warning("oidc provider %s: userinfo failed: %s", provider.id, exc)
            raise ServiceUnavailable(UNREACHABLE) from None
    return data if isinstance(data, dict) else {}
