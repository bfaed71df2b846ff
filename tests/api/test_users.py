"""/api/user, /api/users, /api/users/{id}, /api/users/{id}/password."""

import pytest

from semaphore.extensions import db
from semaphore.models import User
from semaphore.security.passwords import check_password
from tests import factories

NEW_USER = {
    "username": "jdoe",
    "name": "Jane Doe",
    "email": "jane@example.com",
    "password": "s3cret-pass",
}


def test_current_user(user_api):
    body = user_api.get("/api/user").get_json()
    assert body["username"] == user_api.user.username
    assert body["admin"] is False
    assert body["can_create_project"] is False
    assert "password" not in body


def test_admin_can_create_projects(admin_api):
    assert admin_api.get("/api/user").get_json()["can_create_project"] is True


@pytest.mark.parametrize("config_overrides", [{"non_admin_can_create_project": True}])
def test_non_admin_can_create_projects_when_configured(user_api):
    assert user_api.get("/api/user").get_json()["can_create_project"] is True


def test_admin_lists_users_in_full(admin_api, app):
    factories.user(username="zed")
    body = admin_api.get("/api/users").get_json()
    assert [u["username"] for u in body] == ["admin", "zed"]
    assert set(body[0]) >= {
        "id",
        "name",
        "username",
        "email",
        "created",
        "admin",
        "external",
        "alert",
    }


def test_non_admin_sees_a_minimal_user_list(user_api, admin):
    body = user_api.get("/api/users").get_json()
    assert sorted(u["username"] for u in body) == sorted(["admin", user_api.user.username])
    assert all(set(u) == {"id", "username", "name"} for u in body)


def test_admin_creates_a_user(admin_api, api):
    response = admin_api.post("/api/users", json={**NEW_USER, "alert": True})
    assert response.status_code == 201
    body = response.get_json()
    assert body["username"] == "jdoe" and body["alert"] is True and body["admin"] is False
    assert "password" not in body
    stored = db.session.get(User, body["id"])
    assert stored.password != NEW_USER["password"] and check_password(
        "s3cret-pass", stored.password
    )
    login = api.post(
        "/api/auth/login", json={"auth": "jane@example.com", "password": "s3cret-pass"}
    )
    assert login.status_code == 204


def test_non_admin_cannot_create_users(user_api):
    response = user_api.post("/api/users", json=NEW_USER)
    assert response.status_code == 403
    assert db.session.query(User).filter_by(username="jdoe").first() is None


def test_anonymous_cannot_create_users(api, app):
    assert api.post("/api/users", json=NEW_USER).status_code == 401


@pytest.mark.parametrize(
    "change",
    [
        {"username": None},
        {"username": ""},
        {"username": "   "},
        {"name": None},
        {"email": None},
        {"email": "not-an-email"},
        {"password": None},
        {"password": ""},
        {"username": 5},
        {"admin": "yes"},
        {"alert": 1},
        {"username": "x" * 256},
    ],
)
def test_create_user_with_bad_fields_is_400(admin_api, change):
    body = {**NEW_USER, **change}
    body = {k: v for k, v in body.items() if v is not None}
    response = admin_api.post("/api/users", json=body)
    assert response.status_code == 400
    assert db.session.query(User).filter_by(email=NEW_USER["email"]).first() is None


@pytest.mark.parametrize("field", ["username", "email"])
def test_duplicate_username_or_email_is_400(admin_api, field):
    assert admin_api.post("/api/users", json=NEW_USER).status_code == 201
    other = {
        "username": "other",
        "name": "Other",
        "email": "other@example.com",
        "password": "pw-secret",
    }
    other[field] = NEW_USER[field].upper()
    response = admin_api.post("/api/users", json=other)
    assert response.status_code == 400
    assert field in response.get_json()["error"]


@pytest.mark.parametrize("body", ["[1, 2]", "{oops", "", "null"])
def test_create_user_with_malformed_body_is_400(admin_api, body):
    response = admin_api.post("/api/users", data=body, content_type="application/json")
    assert response.status_code == 400


def test_external_user_needs_no_password(admin_api):
    body = {k: v for k, v in NEW_USER.items() if k != "password"}
    response = admin_api.post("/api/users", json={**body, "external": True})
    assert response.status_code == 201
    assert response.get_json()["external"] is True


def test_get_user(admin_api, user_api):
    user_id = user_api.user.id
    assert admin_api.get(f"/api/users/{user_id}").get_json()["username"] == user_api.user.username
    assert user_api.get(f"/api/users/{user_id}").status_code == 200


def test_non_admin_cannot_see_someone_else(user_api, admin):
    assert user_api.get(f"/api/users/{admin.id}").status_code == 403


def test_unknown_user_is_404(admin_api):
    assert admin_api.get("/api/users/999999").status_code == 404
    assert admin_api.put("/api/users/999999", json=NEW_USER).status_code == 404
    assert admin_api.delete("/api/users/999999").status_code == 404
    assert admin_api.post("/api/users/999999/password", json={"password": "x"}).status_code == 404


def test_non_integer_user_id_is_404(admin_api):
    assert admin_api.get("/api/users/abc").status_code == 404


def test_update_user(admin_api, app):
    user = factories.user()
    change = {"username": "renamed", "name": "New Name", "email": "new@example.com", "alert": True}
    assert admin_api.put(f"/api/users/{user.id}", json=change).status_code == 204
    db.session.expire_all()
    assert (user.username, user.name, user.email, user.alert) == (
        "renamed",
        "New Name",
        "new@example.com",
        True,
    )


def test_user_updates_self_but_not_own_admin_flag(user_api):
    me = user_api.user
    body = {"username": me.username, "name": "Me Myself", "email": me.email}
    assert user_api.put(f"/api/users/{me.id}", json=body).status_code == 204
    refused = user_api.put(f"/api/users/{me.id}", json={**body, "admin": True})
    assert refused.status_code == 403
    db.session.expire_all()
    assert me.admin is False and me.name == "Me Myself"


def test_admin_cannot_demote_self(admin_api, admin):
    body = {"username": "admin", "name": "Admin", "email": admin.email, "admin": False}
    assert admin_api.put(f"/api/users/{admin.id}", json=body).status_code == 403


def test_admin_grants_admin(admin_api, app):
    user = factories.user()
    body = {"username": user.username, "name": user.name, "email": user.email, "admin": True}
    assert admin_api.put(f"/api/users/{user.id}", json=body).status_code == 204
    db.session.expire_all()
    assert user.admin is True


def test_non_admin_cannot_update_others(user_api, admin):
    body = {"username": "hijack", "name": "x", "email": "x@example.com"}
    assert user_api.put(f"/api/users/{admin.id}", json=body).status_code == 403
    db.session.expire_all()
    assert admin.username == "admin"


def test_update_with_a_taken_username_is_400(admin_api, app):
    first, second = factories.user(), factories.user()
    body = {"username": first.username, "name": "x", "email": second.email}
    assert admin_api.put(f"/api/users/{second.id}", json=body).status_code == 400


def test_external_user_cannot_change_username(admin_api):
    user = factories.user(external=True)
    body = {"username": "other", "name": user.name, "email": user.email}
    assert admin_api.put(f"/api/users/{user.id}", json=body).status_code == 400


@pytest.mark.parametrize(
    "body", [{}, {"name": "only"}, {"username": 1, "name": "x", "email": "e@x"}]
)
def test_update_with_bad_fields_is_400(admin_api, body, app):
    user = factories.user()
    assert admin_api.put(f"/api/users/{user.id}", json=body).status_code == 400


def test_set_password(user_api, api):
    me = user_api.user
    assert (
        user_api.post(f"/api/users/{me.id}/password", json={"password": "n3w-password"}).status_code
        == 204
    )
    assert (
        api.post(
            "/api/auth/login", json={"auth": me.username, "password": "n3w-password"}
        ).status_code
        == 204
    )


def test_admin_sets_someone_elses_password(admin_api, app):
    user = factories.user()
    assert (
        admin_api.post(
            f"/api/users/{user.id}/password", json={"password": "x1-password"}
        ).status_code
        == 204
    )
    db.session.expire_all()
    assert check_password("x1-password", user.password)


@pytest.mark.parametrize("body", [{}, {"password": ""}, {"password": 123}])
def test_set_password_with_bad_body_is_400(user_api, body):
    assert user_api.post(f"/api/users/{user_api.user.id}/password", json=body).status_code == 400


def test_non_admin_cannot_set_someone_elses_password(user_api, admin):
    response = user_api.post(f"/api/users/{admin.id}/password", json={"password": "x"})
    assert response.status_code == 403


def test_external_user_password_cannot_be_set(admin_api):
    user = factories.user(external=True)
    response = admin_api.post(f"/api/users/{user.id}/password", json={"password": "x"})
    assert response.status_code == 400


def test_admin_deletes_a_user_and_their_tokens_stop_working(admin_api, app):
    user = factories.user()
    user_id = user.id
    victim = factories.api_client(app, user)
    assert victim.get("/api/user").status_code == 200
    assert admin_api.delete(f"/api/users/{user_id}").status_code == 204
    assert db.session.get(User, user_id) is None
    assert victim.get("/api/user").status_code == 401


def test_user_deletes_own_account(user_api):
    assert user_api.delete(f"/api/users/{user_api.user.id}").status_code == 204


def test_non_admin_cannot_delete_others(user_api, admin):
    assert user_api.delete(f"/api/users/{admin.id}").status_code == 403


def test_last_admin_cannot_be_deleted(admin_api, admin):
    response = admin_api.delete(f"/api/users/{admin.id}")
    assert response.status_code == 400
    assert db.session.get(User, admin.id) is not None


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/user"),
        ("GET", "/api/users"),
        ("GET", "/api/users/1"),
        ("PUT", "/api/users/1"),
        ("DELETE", "/api/users/1"),
        ("POST", "/api/users/1/password"),
        ("GET", "/api/user/tokens"),
        ("POST", "/api/user/tokens"),
        ("DELETE", "/api/user/tokens/abc"),
    ],
)
def test_user_routes_need_authentication(api, app, method, path):
    assert api.open(method, path, json={}).status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # The password is asked for before the booleans after it are checked.
        ({"admin": "x"}, "password is required"),
        ({"external": "yes"}, "external must be true or false"),
        ({"password": "p", "admin": "x"}, "admin must be true or false"),
        ({"email": "no-at-sign"}, "email is not a valid e-mail address"),
    ],
)
def test_user_creation_errors_name_the_first_problem(admin_api, body, message):
    fields = {"username": "u", "name": "n", "email": "u@example.com", **body}
    response = admin_api.post("/api/users", json=fields)
    assert (response.status_code, response.get_json()["error"]) == (400, message)
