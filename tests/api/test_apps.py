"""/api/apps, /api/apps/{app_id}, /api/apps/{app_id}/active, and the settings the engine reads."""

import json
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from semaphore.config import current_config
from semaphore.engine.spec import EngineSettings
from semaphore.extensions import db
from semaphore.models import Option
from semaphore.services import apps
from semaphore.services.templates import VALID_APPS

APP_FIELDS = {"id", "active", "priority", "title", "icon", "color", "dark_color", "path", "args"}
BY_PRIORITY = ["ansible", "terraform", "terragrunt", "tofu", "bash", "powershell", "python"]


def stored_options() -> dict[str, str]:
    return {row.key: row.value for row in db.session.scalars(select(Option))}


def option_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Option))


def app_of(client, app_id: str) -> dict:
    return next(app for app in client.get("/api/apps").get_json() if app["id"] == app_id)


@pytest.fixture
def installed(monkeypatch):
    """Pretend that exactly the programs in the returned set are installed."""
    found: set[str] = set()
    monkeypatch.setattr(
        "semaphore.services.apps.find_executable",
        lambda name: f"/opt/bin/{name}" if name in found else None,
    )
    return found


# --- GET /api/apps ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin_api", "user_api"])
def test_every_user_lists_every_app_by_priority(request, app, who):
    body = request.getfixturevalue(who).get("/api/apps").get_json()
    assert [app["id"] for app in body] == BY_PRIORITY
    assert all(set(app) == APP_FIELDS for app in body)
    assert [app["priority"] for app in body] == [1000, 900, 850, 800, 700, 600, 500]


def test_anonymous_cannot_list_apps(api, app):
    assert api.get("/api/apps").status_code == 401


def test_apps_default_to_the_original_ui_titles_and_icons(user_api):
    bash = app_of(user_api, "bash")
    assert bash["title"] == "Bash Script" and bash["icon"] == "mdi-bash"
    assert (bash["color"], bash["dark_color"]) == ("black", "white")
    assert (bash["path"], bash["args"]) == ("", [])
    assert app_of(user_api, "terraform")["color"] == "#7b42bc"


def test_every_template_app_has_defaults():
    assert set(apps.DEFAULTS) == set(VALID_APPS)


def test_an_app_is_active_when_its_program_is_found(user_api, installed):
    installed.update({"bash", "powershell", "terraform"})
    body = {app["id"]: app["active"] for app in user_api.get("/api/apps").get_json()}
    assert body == {
        "ansible": False,
        "terraform": True,
        "terragrunt": False,
        "tofu": False,
        "bash": True,
        "powershell": True,  # the Windows name, when there is no pwsh
        "python": False,
    }


def test_a_configured_path_decides_whether_the_app_is_active(admin_api, tmp_path):
    program = tmp_path / "my-tofu"
    program.write_text("#!/bin/sh\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    admin_api.put("/api/apps/tofu", json={"path": str(program)})
    admin_api.put("/api/apps/bash", json={"path": str(tmp_path / "missing")})
    assert app_of(admin_api, "tofu")["active"] is True
    assert app_of(admin_api, "bash")["active"] is False


def test_an_explicit_active_wins_over_the_search(admin_api, installed):
    installed.add("bash")
    admin_api.post("/api/apps/bash/active", json={"active": False})
    admin_api.post("/api/apps/python/active", json={"active": True})
    assert app_of(admin_api, "bash")["active"] is False
    assert app_of(admin_api, "python")["active"] is True


@pytest.mark.parametrize(
    "config_overrides",
    [
        {
            "apps": {
                "bash": {"active": False, "priority": 2000, "title": "Shell", "args": ["-e"]},
                "python": {"priority": 0, "path": 7},  # wrong types fall back to defaults
                "custom": {"active": True},
            }
        }
    ],
)
def test_the_config_apps_map_is_shown(user_api):
    body = user_api.get("/api/apps").get_json()
    bash = body[0]
    assert bash["id"] == "bash"
    assert (bash["active"], bash["priority"], bash["title"], bash["args"]) == (
        False,
        2000,
        "Shell",
        ["-e"],
    )
    python = app_of(user_api, "python")
    assert python["priority"] == 500 and python["path"] == ""
    assert "custom" not in {app["id"] for app in body}


# --- GET /api/apps/{app_id} -------------------------------------------------------------------


def test_admin_gets_one_app(admin_api):
    response = admin_api.get("/api/apps/python")
    assert response.status_code == 200
    assert response.get_json() == app_of(admin_api, "python")


@pytest.mark.parametrize("app_id", ["pulumi", "nope", "BASH", "x" * 300])
def test_an_unknown_app_is_not_found(admin_api, app_id):
    assert admin_api.get(f"/api/apps/{app_id}").status_code == 404


# --- who may change apps ----------------------------------------------------------------------

WRITES = [
    ("get", "/api/apps/bash", None),
    ("put", "/api/apps/bash", {"path": "/bin/bash"}),
    ("post", "/api/apps/bash", {"path": "/bin/bash"}),
    ("post", "/api/apps/bash/active", {"active": False}),
    ("delete", "/api/apps/bash", None),
]


@pytest.mark.parametrize("method,path,body", WRITES)
def test_plain_users_are_refused(user_api, method, path, body):
    db.session.add(Option(key="apps.bash.title", value="Kept"))
    db.session.commit()
    response = getattr(user_api, method)(path, json=body)
    assert response.status_code == 403
    assert response.get_json()["error"]
    assert stored_options() == {"apps.bash.title": "Kept"}


@pytest.mark.parametrize("method,path,body", WRITES)
def test_anonymous_is_refused(api, app, method, path, body):
    assert getattr(api, method)(path, json=body).status_code == 401
    assert option_count() == 0


@pytest.mark.parametrize("method,path,body", WRITES[1:])
def test_writes_to_an_unknown_app_are_not_found(admin_api, method, path, body):
    response = getattr(admin_api, method)(path.replace("bash", "pulumi"), json=body)
    assert response.status_code == 404
    assert option_count() == 0


# --- PUT|POST /api/apps/{app_id} --------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "post"])
def test_admin_stores_each_given_field_as_an_option(admin_api, method):
    body = {
        "active": False,
        "priority": 42,
        "title": "Shell",
        "icon": "mdi-console",
        "color": "red",
        "dark_color": "pink",
        "path": "/usr/local/bin/bash",
        "args": ["-e", "-x"],
    }
    response = getattr(admin_api, method)("/api/apps/bash", json=body)
    assert response.status_code == 204
    assert stored_options() == {
        "apps.bash.active": "false",
        "apps.bash.priority": "42",
        "apps.bash.title": "Shell",
        "apps.bash.icon": "mdi-console",
        "apps.bash.color": "red",
        "apps.bash.dark_color": "pink",
        "apps.bash.path": "/usr/local/bin/bash",
        "apps.bash.args": '["-e","-x"]',
    }
    assert admin_api.get("/api/apps/bash").get_json() == {"id": "bash", **body}


def test_an_update_changes_only_the_given_fields(admin_api):
    admin_api.put("/api/apps/bash", json={"path": "/bin/bash", "title": "Shell"})
    admin_api.put("/api/apps/bash", json={"title": "Sh", "id": "ignored"})
    assert stored_options() == {"apps.bash.path": "/bin/bash", "apps.bash.title": "Sh"}


def test_empty_values_delete_their_options(admin_api):
    admin_api.put("/api/apps/bash", json={"path": "/bin/bash", "args": ["-e"], "title": "Sh"})
    admin_api.put("/api/apps/tofu", json={"path": "/bin/tofu"})
    assert (
        admin_api.put("/api/apps/bash", json={"path": "", "args": [], "title": None}).status_code
        == 204
    )
    assert stored_options() == {"apps.tofu.path": "/bin/tofu"}
    bash = app_of(admin_api, "bash")
    assert (bash["path"], bash["args"], bash["title"]) == ("", [], "Bash Script")


def test_a_priority_of_zero_means_the_default(admin_api):
    admin_api.put("/api/apps/python", json={"priority": 0})
    assert app_of(admin_api, "python")["priority"] == 500


def test_a_new_priority_reorders_the_list(admin_api):
    admin_api.put("/api/apps/python", json={"priority": 5000})
    assert admin_api.get("/api/apps").get_json()[0]["id"] == "python"


BAD_BODIES = [
    "[]",
    '"text"',
    "1",
    "null",
    "",
    "not json",
    '{"active": "yes"}',
    '{"active": 1}',
    '{"priority": "1"}',
    '{"priority": -1}',
    '{"priority": 1.5}',
    '{"priority": true}',
    '{"priority": 1e400}',
    '{"priority": 99999999999}',
    '{"title": 5}',
    '{"title": {"a": 1}}',
    '{"title": "' + "x" * 256 + '"}',
    '{"icon": ["x"]}',
    '{"path": 5}',
    '{"path": "' + "x" * 1001 + '"}',
    '{"path": "/bin/ba\\u0000sh"}',
    '{"args": "-e"}',
    '{"args": [1]}',
    '{"args": [["-e"]]}',
    '{"args": [null]}',
    '{"args": {"0": "-e"}}',
    '{"args": ["' + "x" * 1000 + '"]}',
    '{"args": ["a\\u0000"]}',
    # A valid field does not get written when another one is bad.
    '{"path": "/bin/bash", "args": "-e"}',
]


@pytest.mark.parametrize("method", ["put", "post"])
@pytest.mark.parametrize("raw", BAD_BODIES)
def test_bad_bodies_are_refused_and_nothing_is_written(admin_api, method, raw):
    response = getattr(admin_api, method)(
        "/api/apps/bash", data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert option_count() == 0


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(st.sampled_from([*apps.FIELDS, "id", "other"]), JSON_VALUES, max_size=4)
    | JSON_VALUES
)
def test_no_body_makes_an_update_fail_with_a_server_error(admin_api, body):
    response = admin_api.put("/api/apps/bash", json=body)
    assert response.status_code in (204, 400)


# --- POST /api/apps/{app_id}/active -----------------------------------------------------------


def test_admin_switches_an_app_off_and_on(admin_api):
    assert admin_api.post("/api/apps/bash/active", json={"active": False}).status_code == 204
    assert stored_options() == {"apps.bash.active": "false"}
    assert app_of(admin_api, "bash")["active"] is False
    assert admin_api.post("/api/apps/bash/active", json={"active": True}).status_code == 204
    assert stored_options() == {"apps.bash.active": "true"}


@pytest.mark.parametrize(
    "raw", ["", "[]", "true", "{}", '{"active": "false"}', '{"active": 0}', '{"active": null}']
)
def test_active_must_be_a_boolean(admin_api, raw):
    response = admin_api.post(
        "/api/apps/bash/active", data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert option_count() == 0


# --- DELETE /api/apps/{app_id} ----------------------------------------------------------------


def test_deleting_an_app_removes_only_its_options(admin_api):
    admin_api.put("/api/apps/bash", json={"path": "/bin/bash", "active": False})
    admin_api.put("/api/apps/tofu", json={"path": "/bin/tofu"})
    db.session.add(Option(key="user1.lang", value='"de"'))
    db.session.commit()
    assert admin_api.delete("/api/apps/bash").status_code == 204
    assert stored_options() == {"apps.tofu.path": "/bin/tofu", "user1.lang": '"de"'}
    assert app_of(admin_api, "bash")["path"] == ""
    # The app itself always exists.
    assert admin_api.get("/api/apps/bash").status_code == 200


# --- what the engine reads --------------------------------------------------------------------


def test_a_path_set_through_the_api_is_what_the_engine_gets(admin_api):
    admin_api.put("/api/apps/bash", json={"path": "/opt/bash/bin/bash", "args": ["--norc"]})
    assert apps.app_settings()["bash"] == {"path": "/opt/bash/bin/bash", "args": ["--norc"]}
    engine = EngineSettings.from_config(current_config(), apps=apps.app_settings())
    assert engine.apps["bash"]["path"] == "/opt/bash/bin/bash"
    assert engine.apps["bash"]["args"] == ["--norc"]


@pytest.mark.parametrize(
    "config_overrides",
    [{"apps": {"bash": {"path": "/bin/bash", "args": ["-e"]}, "python": {"path": "/py"}}}],
)
def test_options_overlay_the_config_apps_map(admin_api):
    admin_api.put("/api/apps/bash", json={"path": "/usr/local/bin/bash", "active": False})
    assert apps.app_settings() == {
        "bash": {"path": "/usr/local/bin/bash", "args": ["-e"], "active": False},
        "python": {"path": "/py"},
    }
    # Deleting the option brings the config's value back.
    admin_api.put("/api/apps/bash", json={"path": ""})
    assert apps.app_settings()["bash"]["path"] == "/bin/bash"


def test_rows_that_are_not_valid_app_options_are_ignored(app):
    db.session.add_all(
        [
            Option(key="apps.bash.args", value="not json"),
            Option(key="apps.bash.active", value="maybe"),
            Option(key="apps.pulumi.path", value="/bin/pulumi"),
            Option(key="apps.bash.unknown", value="x"),
            Option(key="apps.python.priority", value="7"),
            Option(key="user1.lang", value='"de"'),
        ]
    )
    db.session.commit()
    assert apps.app_settings() == {"python": {"priority": 7}}


def test_app_settings_are_typed(admin_api):
    admin_api.put("/api/apps/python", json={"active": True, "priority": 3, "args": ["-u"]})
    assert apps.app_settings()["python"] == {"active": True, "priority": 3, "args": ["-u"]}
    assert json.loads(stored_options()["apps.python.args"]) == ["-u"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # Fields are checked in the order active, priority, title, ..., path, args.
        ({"title": 5, "priority": "x"}, "priority must be an integer"),
        ({"priority": -(2**40)}, "priority must be at least 0"),
        ({"args": ["a" * 1000]}, "args must be at most 1000 characters as JSON"),
    ],
)
def test_app_update_errors_name_the_first_problem(admin_api, body, message):
    response = admin_api.put("/api/apps/bash", json=body)
    assert (response.status_code, response.get_json()["error"]) == (400, message)


def test_active_must_be_given_as_a_boolean(admin_api):
    for body in ({}, {"active": None}, {"active": 1}):
        response = admin_api.post("/api/apps/bash/active", json=body)
        assert response.get_json()["error"] == "active must be true or false"
