"""POST /api/auth/login against a real slapd (tests/ldap_server.py)."""

from __future__ import annotations

import socket
import time

import pytest
from sqlalchemy import func, select

from semaphore.extensions import db
from semaphore.models import User
from semaphore.security.passwords import hash_password
from semaphore.services.auth import ldap as ldap_login
from tests import factories
from tests.contract import ContractClient
from tests.ldap_server import READER_PASSWORD

BAD_LOGIN = {"error": "Invalid login or password"}


def login(api, auth: str, password: str):
    return api.post("/api/auth/login", json={"auth": auth, "password": password})


def new_api(app) -> ContractClient:
    """Another anonymous client: a signed-in one would need a CSRF token to log in again."""
    return ContractClient(app.test_client())


def user_named(username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def test_directory_user_logs_in_and_is_created_with_mapped_fields(app, api):
    response = login(api, "alice", "alice-pw")
    assert response.status_code == 204
    assert api.client.get_cookie("semaphore") is not None
    me = api.get("/api/user").get_json()
    assert me["username"] == "alice"
    assert me["name"] == "Alice Liddell"
    assert me["email"] == "alice@example.org"
    assert (me["external"], me["admin"], me["alert"]) == (True, False, False)
    assert user_named("alice").password == ""


def test_username_is_the_lower_cased_uid(app, api):
    assert login(api, "bob", "bob-pw").status_code == 204
    me = api.get("/api/user").get_json()
    assert (me["username"], me["name"], me["email"]) == ("bob", "Bob Builder", "Bob@Example.org")


@pytest.mark.parametrize(
    "ldap_settings",
    [{"ldap_mappings": {"dn": "dn", "mail": "mail", "uid": "uid", "cn": "displayName"}}],
)
def test_custom_mappings(app, api):
    assert login(api, "alice", "alice-pw").status_code == 204
    assert api.get("/api/user").get_json()["name"] == "Alice L."


def test_later_logins_update_the_user_without_duplicating_it(app, api, reconfigure):
    assert login(api, "alice", "alice-pw").status_code == 204
    first_id = user_named("alice").id
    reconfigure(ldap_mappings={"dn": "dn", "mail": "mail", "uid": "uid", "cn": "displayName"})
    assert login(new_api(app), "alice", "alice-pw").status_code == 204
    user = user_named("alice")
    assert (user.id, user.name) == (first_id, "Alice L.")
    assert user_count() == 1


def test_wrong_password_is_401_and_counts_toward_the_limit(app, api, config):
    for _ in range(config.login_max_failures):
        response = login(api, "alice", "wrong")
        assert response.status_code == 401
        assert response.get_json() == BAD_LOGIN
    assert login(api, "alice", "alice-pw").status_code == 429
    assert user_named("alice") is None


def test_empty_password_is_400(app, api):
    response = login(api, "alice", "")
    assert response.status_code == 400
    assert user_named("alice") is None


def test_login_unknown_to_the_directory_falls_back_to_local_users(app, api):
    local = factories.user(username="zed")
    assert login(api, "zed", factories.DEFAULT_PASSWORD).status_code == 204
    assert api.get("/api/user").get_json()["id"] == local.id


def test_directory_user_cannot_log_in_with_a_local_password(app, api):
    assert login(api, "alice", "alice-pw").status_code == 204
    alice = user_named("alice")
    alice.password = hash_password("local-secret", 4)
    db.session.commit()
    # By username the directory says no; by e-mail the directory has no entry and the local
    # login refuses an external user.
    assert login(new_api(app), "alice", "local-secret").status_code == 401
    assert login(new_api(app), "alice@example.org", "local-secret").status_code == 401


@pytest.mark.parametrize("clash", ["username", "email"])
def test_local_user_owning_the_name_or_email_blocks_the_directory_login(app, api, clash):
    fields = {"username": "carol"} if clash == "username" else {"email": "carol@example.org"}
    local = factories.user(**fields)
    response = login(api, "carol", "carol-pw")
    assert response.status_code == 401
    assert response.get_json() == BAD_LOGIN
    db.session.expire_all()
    assert local.external is False
    assert user_count() == 1


# Unescaped, each of these would pick alice's entry alone (or every entry).
@pytest.mark.parametrize(
    "attack", ["*", "a*", "ali*", "*)(uid=alice", "alice)(uid=*", "a)(uid=*", "\\61lice"]
)
def test_filter_injection_matches_nothing(app, api, attack):
    assert login(api, attack, "alice-pw").status_code == 401
    assert user_count() == 0


def test_several_entries_for_one_login_is_401(app, api):
    assert login(api, "twin", "twin-pw").status_code == 401
    assert user_count() == 0


def test_directory_down_is_503(app, api, reconfigure, directory_down):
    reconfigure(ldap_server=directory_down)
    response = login(api, "alice", "alice-pw")
    assert response.status_code == 503
    assert response.get_json() == {"error": "LDAP server unavailable"}


def test_silent_directory_fails_fast(app, api, reconfigure, monkeypatch):
    monkeypatch.setattr(ldap_login, "RECEIVE_TIMEOUT", 1)
    # Accepts connections (the kernel's backlog) but never answers a bind.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        reconfigure(ldap_server=f"127.0.0.1:{silent.getsockname()[1]}")
        started = time.monotonic()
        response = login(api, "alice", "alice-pw")
    assert response.status_code == 503
    assert time.monotonic() - started < 4


@pytest.mark.parametrize("form", ["host:port", "ldaps://", "ldap:// with needtls"])
def test_tls(app, api, reconfigure, slapd, form):
    server = {
        "host:port": f"127.0.0.1:{slapd.tls_port}",
        "ldaps://": f"ldaps://127.0.0.1:{slapd.tls_port}",
        "ldap:// with needtls": f"ldap://127.0.0.1:{slapd.tls_port}",
    }[form]
    reconfigure(ldap_server=server, ldap_needtls=form != "ldaps://")
    assert login(api, "alice", "alice-pw").status_code == 204
    assert login(new_api(app), "alice", "wrong").status_code == 401


def test_plain_url_form_works(app, api, reconfigure, slapd):
    reconfigure(ldap_server=f"ldap://127.0.0.1:{slapd.port}")
    assert login(api, "alice", "alice-pw").status_code == 204


def test_tls_against_a_plain_port_is_503(app, api, reconfigure):
    reconfigure(ldap_needtls=True)
    assert login(api, "alice", "alice-pw").status_code == 503


@pytest.mark.parametrize("bind_password", ["not-" + READER_PASSWORD, ""])
def test_wrong_bind_password_is_503_without_leaking_it(app, api, reconfigure, bind_password):
    reconfigure(ldap_bindpassword=bind_password)
    response = login(api, "alice", "alice-pw")
    assert response.status_code == 503
    message = response.get_json()["error"]
    assert "ldap_bindpassword" in message
    assert not bind_password or bind_password not in message


def test_wrong_search_base_is_503(app, api, reconfigure):
    reconfigure(ldap_searchdn="ou=nobody,dc=example,dc=org")
    response = login(api, "alice", "alice-pw")
    assert response.status_code == 503
    assert "ldap_searchdn" in response.get_json()["error"]


def test_entry_without_the_mapped_mail_is_503_naming_the_mapping(app, api):
    response = login(api, "dave", "dave-pw")
    assert response.status_code == 503
    assert "ldap_mappings.mail" in response.get_json()["error"]
    assert user_count() == 0
