"""/api/options (admins' config overrides) and /api/user/options (each user's own)."""

import pytest
from sqlalchemy import func, select

from semaphore.extensions import db
from semaphore.models import Option
from semaphore.services import apps
from tests import factories


def stored_options() -> dict[str, str]:
    return {row.key: row.value for row in db.session.scalars(select(Option))}


def option_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Option))


def post_raw(client, path: str, raw: str):
    return client.post(path, data=raw, headers={"Content-Type": "application/json"})


# --- GET /api/options -------------------------------------------------------------------------


def test_admin_reads_the_global_options_without_user_ones(admin_api, admin):
    assert admin_api.get("/api/options").get_json() == {}
    admin_api.put("/api/apps/bash", json={"path": "/bin/bash", "args": ["-e"]})
    admin_api.post("/api/user/options", json={"key": "lang", "value": '"de"'})
    db.session.add(Option(key="user12.nav.unpinnedItems", value="[]"))
    db.session.commit()
    assert admin_api.get("/api/options").get_json() == {
        "apps.bash.args": '["-e"]',
        "apps.bash.path": "/bin/bash",
    }


def test_plain_users_cannot_read_options(user_api):
    response = user_api.get("/api/options")
    assert response.status_code == 403
    assert response.get_json()["error"]


def test_anonymous_cannot_read_options(api, app):
    assert api.get("/api/options").status_code == 401


# --- POST /api/options ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key,value",
    [
        ("apps.bash.path", "/usr/local/bin/bash"),
        ("apps.bash.args", '["-e","-x"]'),
        ("apps.ansible.active", "false"),
        ("apps.tofu.priority", "5"),
        ("apps.python.title", "Python 3"),
        ("apps.terragrunt.dark_color", "#000"),
    ],
)
def test_admin_sets_an_app_option(admin_api, key, value):
    response = admin_api.post("/api/options", json={"key": key, "value": value})
    assert response.status_code == 200
    assert response.get_json() == {"key": key, "value": value}
    assert stored_options() == {key: value}


def test_an_option_changes_what_the_apps_show(admin_api):
    admin_api.post("/api/options", json={"key": "apps.python.priority", "value": "5000"})
    admin_api.post("/api/options", json={"key": "apps.python.active", "value": "false"})
    admin_api.post("/api/options", json={"key": "apps.bash.path", "value": "/opt/bash"})
    body = admin_api.get("/api/apps").get_json()
    assert (body[0]["id"], body[0]["priority"], body[0]["active"]) == ("python", 5000, False)
    assert apps.app_settings()["bash"] == {"path": "/opt/bash"}


def test_args_are_stored_as_compact_json(admin_api):
    response = admin_api.post("/api/options", json={"key": "apps.bash.args", "value": '[ "-e" ]'})
    assert response.get_json() == {"key": "apps.bash.args", "value": '["-e"]'}
    assert apps.app_settings()["bash"]["args"] == ["-e"]


@pytest.mark.parametrize("key,empty", [("apps.bash.path", ""), ("apps.bash.args", "[]")])
def test_an_empty_value_deletes_the_option(admin_api, key, empty):
    admin_api.post("/api/options", json={"key": key, "value": '["-e"]'})
    response = admin_api.post("/api/options", json={"key": key, "value": empty})
    assert response.status_code == 200
    assert response.get_json() == {"key": key, "value": ""}
    assert option_count() == 0


@pytest.mark.parametrize(
    "key",
    [
        "max_parallel_tasks",
        "apps",
        "apps.bash",
        "apps.bash.unknown",
        "apps.pulumi.path",
        "apps.BASH.path",
        "apps.bash.path.extra",
        "user1.lang",
        "",
        " ",
        "a" * 300,
    ],
)
def test_unknown_keys_are_refused(admin_api, key):
    response = admin_api.post("/api/options", json={"key": key, "value": "x"})
    assert response.status_code == 400
    assert option_count() == 0


@pytest.mark.parametrize(
    "key,value",
    [
        ("apps.bash.active", "yes"),
        ("apps.bash.active", "True"),
        ("apps.bash.priority", "-1"),
        ("apps.bash.priority", "1.5"),
        ("apps.bash.priority", "high"),
        ("apps.bash.priority", "99999999999"),
        ("apps.bash.args", "-e"),
        ("apps.bash.args", "[1]"),
        ("apps.bash.args", '{"a": "b"}'),
        ("apps.bash.args", "NaN"),
        ("apps.bash.args", "[" * 5000),
        ("apps.bash.title", "x" * 256),
        ("apps.bash.path", "x" * 1001),
    ],
)
def test_values_must_suit_their_field(admin_api, key, value):
    response = admin_api.post("/api/options", json={"key": key, "value": value})
    assert response.status_code == 400
    assert option_count() == 0


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "[]",
        "null",
        '"apps.bash.path"',
        '{"key": "apps.bash.path"}',
        '{"value": "/bin/bash"}',
        '{"key": "apps.bash.path", "value": 5}',
        '{"key": "apps.bash.active", "value": true}',
        '{"key": "apps.bash.path", "value": null}',
        '{"key": "apps.bash.args", "value": ["-e"]}',
        '{"key": ["apps.bash.path"], "value": "/bin/bash"}',
        '{"key": "apps.bash.path", "value": "/bin/\\u0000bash"}',
    ],
)
def test_bad_option_bodies_are_refused(admin_api, raw):
    assert post_raw(admin_api, "/api/options", raw).status_code == 400
    assert option_count() == 0


def test_plain_users_cannot_set_options(user_api):
    response = user_api.post("/api/options", json={"key": "apps.bash.path", "value": "/x"})
    assert response.status_code == 403
    assert option_count() == 0


def test_anonymous_cannot_set_options(api, app):
    response = api.post("/api/options", json={"key": "apps.bash.path", "value": "/x"})
    assert response.status_code == 401
    assert option_count() == 0


# --- /api/user/options ------------------------------------------------------------------------


def test_a_new_user_has_no_options(user_api):
    response = user_api.get("/api/user/options")
    assert response.status_code == 200
    assert response.get_json() == {}


@pytest.mark.parametrize(
    "key,value", [("nav.unpinnedItems", '["dashboard","history"]'), ("lang", '"de"')]
)
def test_a_user_stores_an_option(user_api, key, value):
    response = user_api.post("/api/user/options", json={"key": key, "value": value})
    assert response.status_code == 200
    assert response.get_json() == {"key": key, "value": value}
    assert stored_options() == {f"user{user_api.user.id}.{key}": value}
    assert user_api.get("/api/user/options").get_json() == {key: value}


def test_storing_again_replaces_the_value(user_api):
    user_api.post("/api/user/options", json={"key": "lang", "value": '"de"'})
    user_api.post("/api/user/options", json={"key": "lang", "value": '"fr"'})
    assert user_api.get("/api/user/options").get_json() == {"lang": '"fr"'}


def test_admins_have_their_own_options_too(admin_api, admin):
    admin_api.post("/api/user/options", json={"key": "lang", "value": '"pt"'})
    assert stored_options() == {f"user{admin.id}.lang": '"pt"'}


def test_users_see_only_their_own_options(app, user_api):
    other = factories.api_client(app, factories.user())
    other.post("/api/user/options", json={"key": "lang", "value": '"it"'})
    # A user whose id is this one's followed by a digit, and a global option.
    db.session.add(Option(key=f"user{user_api.user.id}0.lang", value='"es"'))
    db.session.add(Option(key="apps.bash.path", value="/bin/bash"))
    db.session.commit()
    assert user_api.get("/api/user/options").get_json() == {}
    user_api.post("/api/user/options", json={"key": "nav.unpinnedItems", "value": "[]"})
    assert user_api.get("/api/user/options").get_json() == {"nav.unpinnedItems": "[]"}
    assert other.get("/api/user/options").get_json() == {"lang": '"it"'}


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "[]",
        "null",
        '{"key": "theme", "value": "\\"dark\\""}',
        '{"key": "user2.lang", "value": "\\"de\\""}',
        '{"key": "apps.bash.path", "value": "\\"/bin/sh\\""}',
        '{"key": "LANG", "value": "\\"de\\""}',
        '{"key": "", "value": "1"}',
        '{"key": "lang"}',
        '{"value": "\\"de\\""}',
        '{"key": "lang", "value": "de"}',
        '{"key": "lang", "value": ""}',
        '{"key": "lang", "value": "NaN"}',
        '{"key": "lang", "value": null}',
        '{"key": "lang", "value": 5}',
        '{"key": "nav.unpinnedItems", "value": ["dashboard"]}',
        '{"key": 1, "value": "1"}',
        '{"key": "lang", "value": "\\"' + "x" * 1000 + '\\""}',
    ],
)
def test_bad_user_options_are_refused(user_api, raw):
    response = post_raw(user_api, "/api/user/options", raw)
    assert response.status_code == 400
    assert option_count() == 0


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_has_no_user_options(api, app, method):
    response = getattr(api, method)("/api/user/options", json={"key": "lang", "value": '"de"'})
    assert response.status_code == 401
    assert option_count() == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"key": "lang"}, "value is required"),
        # A null value is not read as an absent one here: it is not a string.
        ({"key": "lang", "value": None}, "value must be a string"),
        ({"key": None, "value": None}, "key is required"),
        ({"key": "theme", "value": "1"}, "Unknown user option key"),
    ],
)
def test_user_option_errors(user_api, body, message):
    response = user_api.post("/api/user/options", json=body)
    assert (response.status_code, response.get_json()["error"]) == (400, message)
