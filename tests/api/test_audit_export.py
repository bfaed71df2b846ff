"""The audit trail's JSON-lines export (`audit_log_file`): one parseable line per committed
event, in the API's shape, to a file or to standard output; nothing for a rollback."""

from __future__ import annotations

import json

import pytest

from semaphore.config import load_config
from semaphore.extensions import db
from semaphore.models import AuditEvent
from semaphore.services import audit

ADDRESS = "203.0.113.9"


@pytest.fixture
def audit_file(tmp_path):
    return tmp_path / "audit.jsonl"


@pytest.fixture
def config_overrides(audit_file):
    return {"audit_log_file": str(audit_file)}


def test_the_setting_is_read_from_the_environment(tmp_path):
    environ = {"SEMAPHORE_AUDIT_LOG_FILE": "-", "SEMAPHORE_AUDIT_RETENTION_DAYS": "30"}
    config = load_config(environ=environ, use_file=False, persist_secrets=False)
    assert (config.audit_log_file, config.audit_retention_days) == ("-", 30)


def test_one_parseable_line_per_event(audit_file, api, admin_api, user_api):
    failed = api.post(
        "/api/auth/login",
        json={"auth": "some\nbo\u2028dy", "password": "y"},
        environ_base={"REMOTE_ADDR": ADDRESS},
    )
    assert failed.status_code == 401
    created = user_api.post(
        "/api/user/tokens", json={"name": "ünïcode"}, environ_base={"REMOTE_ADDR": ADDRESS}
    )
    assert created.status_code == 201

    lines = audit_file.read_bytes().split(b"\n")
    assert lines[-1] == b""  # every line ends with a newline, the last one too
    written = [json.loads(line) for line in lines[:-1]]
    stored = {row.id for row in db.session.query(AuditEvent)}
    # The fixtures' users and tokens, the failed sign-in and the new token: each once.
    assert len(written) == len(stored) >= 5
    assert sorted(event["id"] for event in written) == sorted(stored)
    failure = next(event for event in written if event["kind"] == "login_failed")
    assert failure["actor_login"] == "some\nbo\u2028dy" and failure["address"] == ADDRESS
    listed = admin_api.get("/api/audit?kind=login_failed").get_json()
    assert listed == [failure]  # the API's shape, field for field
    token = next(e for e in written if e["kind"] == "token_created" and e["address"] == ADDRESS)
    assert token["details"]["name"] == "ünïcode"
    assert created.get_json()["id"] not in audit_file.read_text(encoding="utf-8")


def test_nothing_is_written_for_a_change_rolled_back(audit_file, app):
    audit.record("logout", None, actor_login="ghost")
    db.session.flush()
    db.session.rollback()
    audit.record("logout", None, actor_login="kept")
    db.session.commit()
    written = [json.loads(line) for line in audit_file.read_text().splitlines()]
    assert [event["actor_login"] for event in written] == ["kept"]


@pytest.mark.parametrize("config_overrides", [{"audit_log_file": "-"}])
def test_standard_output(app, capsys):
    audit.record("logout", None, actor_login="stdout-user")
    db.session.commit()
    out = capsys.readouterr().out.splitlines()
    assert json.loads(out[-1])["actor_login"] == "stdout-user"


@pytest.mark.parametrize("config_overrides", [{"audit_log_file": "/nonexistent/dir/audit.jsonl"}])
def test_an_unwritable_file_fails_nothing(api):
    # The event is in the database; the refusal is the same 401.
    response = api.post("/api/auth/login", json={"auth": "x", "password": "y"})
    assert response.status_code == 401
    assert db.session.query(AuditEvent).filter_by(kind="login_failed").count() == 1
