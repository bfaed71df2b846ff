"""GET /api/ping, /api/info and /api/ready."""

import pytest

from tests.contract import validate_definition
from tests.processes import free_port


def test_ping_answers_pong_without_auth(api):
    response = api.get("/api/ping")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "pong"
    assert response.content_type.startswith("text/plain")


def test_ping_head(api):
    assert api.head("/api/ping").status_code == 200


def test_info_requires_login(api):
    response = api.get("/api/info")
    assert response.status_code == 401
    assert response.get_json() == {"error": "Not authenticated"}


def test_info_describes_the_installation(user_api):
    body = user_api.get("/api/info").get_json()
    validate_definition("InfoType", body)
    assert body["version"]
    assert "ansible-playbook" in body["ansible"] or body["ansible"].startswith("ansible")
    assert body["use_remote_runner"] is False


def test_unknown_api_path_is_json_404(api):
    response = api.get("/api/no/such/thing")
    assert response.status_code == 404
    assert "error" in response.get_json()


def test_wrong_method_is_json_405(user_api):
    response = user_api.put("/api/ping")
    assert response.status_code == 405
    assert "error" in response.get_json()


def test_trailing_slash_is_ignored(user_api):
    assert user_api.get("/api/user/").status_code == 200


def test_ready_answers_when_the_database_and_redis_do(api):
    response = api.get("/api/ready")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "database": "ok", "redis": "ok"}
    assert api.head("/api/ready").status_code == 200


@pytest.mark.parametrize("config_overrides", [{"redis_url": f"redis://127.0.0.1:{free_port()}/0"}])
def test_ready_is_503_json_when_redis_does_not_answer(api):
    response = api.get("/api/ready")
    assert response.status_code == 503
    assert response.get_json() == {
        "error": "Not ready: redis unreachable",
        "database": "ok",
        "redis": "unreachable",
    }
