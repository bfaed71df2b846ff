"""The login page, the shell, the dashboard and the user administration pages."""

from semaphore.extensions import db
from semaphore.models import User
from tests import factories
from tests.web.helpers import csrf_token


def test_pages_redirect_to_login(web):
    response = web.get("/")
    assert response.status_code == 302
    assert "/auth/login?next=%2F" in response.headers["Location"]


def test_login_page(web):
    response = web.get("/auth/login")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="csrf_token"' in html and 'name="password"' in html


def test_a_refused_login_keeps_the_login_and_focuses_the_password(web, app):
    user = factories.user()
    assert 'autofocus data-testid="field-auth"' in web.get("/auth/login").get_data(as_text=True)
    refused = web.submit("/auth/login", {"auth": user.username, "password": "wrong"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert f'value="{user.username}"' in html
    assert 'autofocus data-testid="field-password"' in html
    assert 'autofocus data-testid="field-auth"' not in html


def test_login_and_empty_dashboard(web, app):
    user = factories.user(name="Grace Hopper")
    response = web.log_in(user)
    assert response.headers["Location"] == "/"
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    assert "HttpOnly" in cookies["semaphore"] and "SameSite=Lax" in cookies["semaphore"]
    page = web.get("/").get_data(as_text=True)
    assert "Grace Hopper" in page
    assert 'data-testid="empty-dashboard"' in page
    assert "Ask an administrator" in page


def test_dashboard_lists_the_users_projects(web, app):
    user = factories.user()
    factories.project(name="Mine", members={user: "guest"})
    factories.project(name="Not mine")
    web.log_in(user)
    page = web.get("/").get_data(as_text=True)
    assert "Mine" in page and "Not mine" not in page


def test_login_redirects_only_to_local_paths(web, app):
    user = factories.user()
    token = csrf_token(web.get("/auth/login").get_data(as_text=True))
    data = {"csrf_token": token, "auth": user.username, "password": factories.DEFAULT_PASSWORD}
    response = web.post("/auth/login?next=https://evil.example/", data=data)
    assert response.headers["Location"] == "/"


def test_wrong_password_shows_a_form_error(web, app):
    user = factories.user()
    response = web.submit("/auth/login", {"auth": user.username, "password": "wrong"})
    assert response.status_code == 422
    assert "Invalid login or password" in response.get_data(as_text=True)


def test_login_form_without_csrf_token_is_refused(web, app):
    user = factories.user()
    data = {"auth": user.username, "password": factories.DEFAULT_PASSWORD}
    response = web.post("/auth/login", data=data)
    assert response.status_code == 400
    assert "form has expired" in response.get_data(as_text=True)
    assert web.get("/").status_code == 302  # not logged in


def test_logout(web, app):
    web.log_in(factories.user())
    page = web.get("/").get_data(as_text=True)
    response = web.post("/auth/logout", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303
    assert web.get("/").status_code == 302


def test_non_admin_cannot_open_user_administration(web, app):
    web.log_in(factories.user())
    assert web.get("/users").status_code == 403
    assert web.get("/users/new").status_code == 403


def test_admin_adds_a_user(web, app):
    web.log_in(factories.user(admin=True))
    response = web.submit(
        "/users/new",
        {
            "name": "New Person",
            "username": "newbie",
            "email": "new@example.com",
            "password": "pw-12345",
            "alert": "y",
        },
    )
    assert response.status_code == 303
    created = db.session.query(User).filter_by(username="newbie").one()
    assert created.alert is True and created.admin is False
    listing = web.get("/users").get_data(as_text=True)
    assert "newbie" in listing and "User newbie added" in listing


def test_user_form_shows_errors_next_to_the_field(web, app):
    web.log_in(factories.user(admin=True))
    factories.user(username="taken")
    response = web.submit(
        "/users/new",
        {"name": "X", "username": "taken", "email": "x@example.com", "password": "password-1"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-testid="error-username"' in html
    assert "already exists" in html
    response = web.submit(
        "/users/new", {"name": "X", "username": "ok", "email": "bad", "password": "password-1"}
    )
    assert response.status_code == 422 and 'data-testid="error-email"' in response.get_data(
        as_text=True
    )


def test_admin_edits_and_removes_a_user(web, app):
    web.log_in(factories.user(admin=True))
    user = factories.user(username="victim")
    user_id = user.id
    response = web.submit(
        f"/users/{user_id}/edit",
        {"name": "Renamed", "username": "victim", "email": user.email, "password": ""},
    )
    assert response.status_code == 303
    assert db.session.get(User, user_id).name == "Renamed"
    page = web.get("/users").get_data(as_text=True)
    response = web.delete(
        f"/users/{user_id}", headers={"X-CSRFToken": csrf_token(page), "HX-Request": "true"}
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/users"
    assert db.session.get(User, user_id) is None


def test_delete_without_csrf_token_changes_nothing(web, app):
    web.log_in(factories.user(admin=True))
    user_id = factories.user().id
    assert web.delete(f"/users/{user_id}").status_code == 400
    assert db.session.get(User, user_id) is not None


def test_user_edits_own_account_without_admin_box(web, app):
    user = factories.user()
    web.log_in(user)
    page = web.get(f"/users/{user.id}/edit").get_data(as_text=True)
    assert 'name="admin"' not in page
    response = web.submit(
        f"/users/{user.id}/edit",
        {"name": "Me", "username": user.username, "email": user.email, "password": ""},
    )
    assert response.status_code == 303
    assert web.get(f"/users/{factories.user().id}/edit").status_code == 403


def test_admin_editing_self_keeps_admin_rights(web, app):
    admin = factories.user(admin=True)
    web.log_in(admin)
    response = web.submit(
        f"/users/{admin.id}/edit",
        {"name": "Boss", "username": admin.username, "email": admin.email, "password": ""},
    )
    assert response.status_code == 303
    assert db.session.get(User, admin.id).admin is True


def test_unknown_page_is_an_html_404(web, app):
    web.log_in(factories.user())
    response = web.get("/no/such/page")
    assert response.status_code == 404
    assert "text/html" in response.content_type
