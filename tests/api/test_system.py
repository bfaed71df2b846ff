"""GET /api/ping and /api/info."""

from tests.contract import validate_definition


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
