"""OpenID Connect login through the Flask test client against a real local provider.

Each test walks the browser's round trip by hand: our /login answers with the provider's
authorization URL, the provider's form is submitted with `requests`, and the provider's
redirect (code and state) is brought back to our callback.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import func, select

from semaphore.extensions import db
from semaphore.models import Session, User
from semaphore.services.auth import oidc_login, oidc_provider
from tests import factories
from tests.oidc import MockProvider, running_provider

ADA = {"email": "ada@example.com", "preferred_username": "Ada.L", "name": "Ada Lovelace"}


def start(api, query: str = "") -> str:
    """GET our /login; the provider URL it redirects to."""
    response = api.get(f"/api/auth/oidc/mock/login{query}")
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def local(url: str) -> str:
    """The path and query of a URL on our app (the test client's host is localhost)."""
    parts = urlsplit(url)
    assert parts.netloc == "localhost", url
    return f"{parts.path}?{parts.query}"


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def login(api, provider: MockProvider, sub: str, claims: dict | None = None, query: str = ""):
    """The whole round trip for `sub`; our callback's response."""
    if claims is not None:
        provider.set_user(sub, claims)
    return api.get(local(provider.authorize(start(api, query), sub)))


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def assert_refused(api, response, message: str) -> None:
    """Sent back to the login page, which shows `message`; no session was started."""
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/auth/login"
    assert message in api.get("/auth/login").get_data(as_text=True)
    assert api.get("/api/user").status_code == 401
    assert db.session.scalar(select(func.count()).select_from(Session)) == 0


# --- the happy path ----------------------------------------------------------------------------


def test_first_login_creates_an_external_user_and_signs_in(api, provider):
    authorization_url = start(api, "?redirect=/project/7/history")
    query = parse_qs(urlsplit(authorization_url).query)
    assert query["scope"] == ["openid profile email"]
    assert query["client_id"] == ["semaphore"]
    assert query["redirect_uri"] == ["http://localhost/api/auth/oidc/mock/redirect"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"][0] and query["nonce"][0] and query["code_challenge"][0]

    provider.set_user("ada", ADA)
    response = api.get(local(provider.authorize(authorization_url, "ada")))

    assert response.status_code == 302
    assert response.headers["Location"] == "/project/7/history"
    me = api.get("/api/user").get_json()
    assert me["username"] == "ada.l"  # from preferred_username, lower-cased
    assert me["name"] == "Ada Lovelace"  # "display_name | name": the first present wins
    assert me["email"] == "ada@example.com"
    assert (me["external"], me["admin"], me["alert"]) == (True, False, False)
    assert db.session.get(User, me["id"]).password == ""


def test_second_login_reuses_the_user(app, api, provider):
    first = login(api, provider, "ada2", ADA)
    assert first.headers["Location"] == "/"
    first_id = api.get("/api/user").get_json()["id"]

    # Another browser; same e-mail in another case, another username: matched by e-mail only.
    other = type(api)(app.test_client())
    changed = {**ADA, "email": "ADA@example.com", "preferred_username": "x"}
    again = login(other, provider, "ada2", changed)
    assert again.status_code == 302 and again.headers["Location"] == "/"
    assert other.get("/api/user").get_json()["id"] == first_id
    assert user_count() == 1


def test_a_taken_username_gets_a_number(api, provider):
    factories.user(username="ada.l", email="someone-else@example.com")
    login(api, provider, "ada3", ADA)
    assert api.get("/api/user").get_json()["username"] == "ada.l2"


def test_fallbacks_for_missing_username_and_name(api, provider):
    login(api, provider, "bare", {"email": "bare@example.com"})
    me = api.get("/api/user").get_json()
    assert me["name"] == "Anonymous"
    assert len(me["username"]) == 16 and me["username"].isalnum()


def test_return_path_in_the_callback_url(api, provider):
    # The original's form: /redirect/<path> brings the user to /<path>.
    provider.set_user("ada4", ADA)
    callback = provider.authorize(start(api), "ada4")
    path = local(callback).replace("/redirect?", "/redirect/project/3?")
    response = api.get(path)
    assert response.headers["Location"] == "/project/3"
    assert api.get("/api/user").status_code == 200


@pytest.mark.parametrize(
    "target", ["//evil.example", "https://evil.example/", "/\\evil.example", "evil.example"]
)
def test_return_path_cannot_leave_the_site(api, provider, target):
    response = login(api, provider, "ada5", ADA, query="?" + urlencode({"redirect": target}))
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert api.get("/api/user").status_code == 200


@pytest.mark.parametrize("provider_settings", [{"scopes": ["profile", "email"]}], indirect=True)
def test_claims_come_from_userinfo_without_an_id_token(api, provider, provider_settings):
    # Without the openid scope no id_token is issued; the userinfo endpoint answers instead.
    login(api, provider, "grace", {"email": "grace@example.com", "name": "Grace Hopper"})
    me = api.get("/api/user").get_json()
    assert (me["email"], me["name"]) == ("grace@example.com", "Grace Hopper")


# --- refusals ------------------------------------------------------------------------------------


def test_tampered_state_is_refused(api, provider):
    provider.set_user("ada6", ADA)
    callback = provider.authorize(start(api), "ada6")
    response = api.get(local(with_query(callback, state="forged-state")))
    assert_refused(api, response, "could not be matched to this browser")
    assert user_count() == 0


def test_missing_state_is_refused(api, provider):
    provider.set_user("ada7", ADA)
    callback = provider.authorize(start(api), "ada7")
    parts = urlsplit(callback)
    code = parse_qs(parts.query)["code"][0]
    response = api.get(f"{parts.path}?{urlencode({'code': code})}")
    assert_refused(api, response, "could not be matched to this browser")
    assert user_count() == 0


def test_a_callback_in_another_browser_is_refused(app, api, provider):
    # Login CSRF: a valid code and state, but the state was issued to a different browser.
    provider.set_user("ada8", ADA)
    callback = provider.authorize(start(api), "ada8")
    other = type(api)(app.test_client())
    response = other.get(local(callback))
    assert_refused(other, response, "could not be matched to this browser")
    assert user_count() == 0


def test_provider_error_is_refused(api, provider):
    response = api.get(local(provider.deny(start(api))))
    assert_refused(api, response, "refused the sign-in (access_denied)")
    assert user_count() == 0


def test_a_forged_code_is_refused(api, provider):
    callback = provider.authorize(start(api), "ada9")
    response = api.get(local(with_query(callback, code="not-a-code")))
    assert_refused(api, response, "refused the sign-in (invalid_grant)")


def test_a_different_nonce_is_refused(api, provider):
    provider.set_user("ada10", ADA)
    authorization_url = start(api)
    with api.client.session_transaction() as session:
        for pending in session["oidc_pending"].values():
            pending["nonce"] = "another-nonce"
        session.modified = True
    response = api.get(local(provider.authorize(authorization_url, "ada10")))
    assert_refused(api, response, "answer could not be verified")
    assert user_count() == 0


def _forged_id_token(provider: MockProvider, header: dict, key) -> str:
    now = int(time.time())
    claims = {"iss": provider.url, "aud": "c", "sub": "x", "iat": now, "exp": now + 300}
    return jwt.encode(header, {**claims, "nonce": "n"}, key, algorithms=[header["alg"]])


@pytest.mark.parametrize("unsigned", [False, True])
def test_an_id_token_not_signed_by_the_provider_is_refused(provider, unsigned):
    raw = _forged_id_token(provider, {"alg": "RS256"}, RSAKey.generate_key(2048))
    if unsigned:
        payload = raw.split(".")[1]
        raw = f"eyJhbGciOiJub25lIn0.{payload}."  # header {"alg":"none"}, no signature
    metadata = {"issuer": provider.url, "jwks_uri": f"{provider.url}/jwks"}
    with pytest.raises(oidc_provider.NotAuthenticated, match="could not be verified"):
        oidc_provider.verify_id_token(_provider(), metadata, raw, "n", "access-token")


def test_missing_email_claim_is_refused(api, provider):
    response = login(api, provider, "noemail", {"preferred_username": "noemail", "name": "N"})
    assert_refused(api, response, "did not provide an e-mail address")
    assert user_count() == 0


def test_a_local_user_with_the_same_email_is_refused(api, provider):
    local_user = factories.user(username="ada", email="ada@example.com")
    response = login(api, provider, "ada11", ADA)
    assert_refused(api, response, "belongs to an account that signs in with a password")
    assert user_count() == 1
    assert db.session.get(User, local_user.id).external is False


def test_unknown_provider_is_404(api):
    for path in ("/api/auth/oidc/nope/login", "/api/auth/oidc/nope/redirect?state=a&code=b"):
        response = api.get(path)
        assert response.status_code == 404
        assert response.get_json() == {"error": "Unknown sign-in provider"}


class TestUnreachableProvider:
    @pytest.fixture
    def provider_settings(self) -> dict:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]  # closed again when the block ends: nobody listens
        return {
            "provider_url": f"http://127.0.0.1:{port}",
            "client_id": "x",
            "display_name": "Down",
        }

    def test_sends_back_to_the_login_page(self, api):
        response = api.get("/api/auth/oidc/mock/login")
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path == "/auth/login"
        page = api.get("/auth/login").get_data(as_text=True)
        assert "Could not reach the sign-in provider" in page


# --- settings ------------------------------------------------------------------------------------


class TestClientSecretFile:
    """Against a provider that knows its clients and checks their secrets."""

    @pytest.fixture
    def strict_provider(self):
        with running_provider(require_client_registration=True, require_nonce=True) as server:
            yield server

    @pytest.fixture
    def secret_file(self, tmp_path):
        return tmp_path / "client_secret"

    @pytest.fixture
    def provider_settings(self, strict_provider, secret_file) -> dict:
        client_id, secret = strict_provider.register_client(
            "http://localhost/api/auth/oidc/mock/redirect"
        )
        # With the final newline `echo` and most secret stores write.
        secret_file.write_text(secret + "\n", encoding="utf-8")
        return {
            "provider_url": strict_provider.url,
            "client_id": client_id,
            "client_secret_file": str(secret_file),
            "display_name": "Strict SSO",
        }

    def test_the_secret_is_read_from_the_file(self, api, strict_provider):
        strict_provider.set_user("ada12", ADA)
        response = api.get(local(strict_provider.authorize(start(api), "ada12")))
        assert response.headers["Location"] == "/"
        assert api.get("/api/user").get_json()["email"] == "ada@example.com"

    def test_a_wrong_secret_is_refused(self, api, strict_provider, secret_file):
        secret_file.write_text("wrong-secret", encoding="utf-8")
        strict_provider.set_user("ada13", ADA)
        response = api.get(local(strict_provider.authorize(start(api), "ada13")))
        assert_refused(api, response, "refused the sign-in (invalid_client)")
        assert user_count() == 0


@pytest.mark.parametrize(
    "provider_settings", [{"client_secret_file": "/nonexistent/secret"}], indirect=True
)
def test_an_unreadable_secret_file_is_a_clear_error(api, provider_settings):
    response = api.get("/api/auth/oidc/mock/login")
    assert urlsplit(response.headers["Location"]).path == "/auth/login"
    page = api.get("/auth/login").get_data(as_text=True)
    assert "not configured correctly" in page
    assert "/nonexistent" not in page


class TestWebHost:
    @pytest.fixture
    def config_overrides(self, provider_settings) -> dict:
        return {
            "web_host": "https://semaphore.example.com",
            "oidc_providers": {"mock": provider_settings},
        }

    def test_default_redirect_url_uses_web_host(self, api):
        query = parse_qs(urlsplit(start(api)).query)
        assert query["redirect_uri"] == [
            "https://semaphore.example.com/api/auth/oidc/mock/redirect"
        ]


# --- the login page ------------------------------------------------------------------------------


def test_login_page_shows_the_provider_button(api):
    page = api.get("/auth/login?next=/project/2").get_data(as_text=True)
    assert 'data-testid="login-form"' in page
    assert 'data-testid="oidc-mock"' in page
    assert "oidc-color-teal" in page
    assert 'href="/api/auth/oidc/mock/login?redirect=/project/2"' in page
    assert ">Mock SSO<" in page
    assert " style=" not in page


class TestPasswordLoginDisabled:
    @pytest.fixture
    def config_overrides(self, provider_settings) -> dict:
        return {"password_login_disable": True, "oidc_providers": {"mock": provider_settings}}

    def test_only_the_provider_buttons_are_shown(self, api):
        page = api.get("/auth/login").get_data(as_text=True)
        assert 'data-testid="oidc-mock"' in page
        assert 'data-testid="login-form"' not in page
        assert "login-divider" not in page


# --- claim mapping -------------------------------------------------------------------------------


def _provider(**claims: str) -> oidc_provider.Provider:
    return oidc_provider.Provider(
        id="p",
        client_id="c",
        client_secret="",
        redirect_url="",
        scopes=oidc_provider.DEFAULT_SCOPES,
        provider_url="",
        endpoint={},
        username_claim=claims.get("username", "preferred_username"),
        name_claim=claims.get("name", "preferred_username"),
        email_claim=claims.get("email", "email"),
    )


def test_claim_alternatives_and_templates():
    provider = _provider(
        username="login | uid", name="{{ .given_name }} {{ .family_name }} | nickname", email="mail"
    )
    mapped = oidc_login.map_claims(
        provider, {"uid": 1042, "given_name": "Ada", "family_name": "Lovelace", "mail": "a@b.c"}
    )
    assert mapped == oidc_login.Claims(username="1042", name="Ada Lovelace", email="a@b.c")
    # A template with a missing claim gives nothing, so the next alternative is used.
    mapped = oidc_login.map_claims(
        provider, {"given_name": "Ada", "nickname": "ada", "mail": "a@b.c"}
    )
    assert mapped.name == "ada"


def test_unsupported_template_falls_back():
    provider = _provider(name='{{ index . "x" }}')
    assert oidc_login.map_claims(provider, {"email": "a@b.c"}).name == "Anonymous"


@pytest.mark.parametrize(
    "claims", [{}, {"email": ""}, {"email": "not-an-address"}, {"email": True}]
)
def test_email_claim_is_required(claims):
    with pytest.raises(oidc_login.NotAuthenticated):
        oidc_login.map_claims(_provider(), claims)
