"""/api/user/tokens: create, list, expire; only digests are stored."""

import pytest

from semaphore.extensions import db
from semaphore.models import APIToken
from tests import factories


def test_create_token_shows_it_once(user_api, api):
    response = user_api.post("/api/user/tokens", json={"name": "CI"})
    assert response.status_code == 201
    body = response.get_json()
    token = body["id"]
    assert len(token) == 44 and token == token.lower()
    assert body["name"] == "CI" and body["expired"] is False and body["user_id"] == user_api.user.id
    assert api.get("/api/user", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listed = user_api.get("/api/user/tokens").get_json()
    assert token not in str(listed)
    assert token.startswith(listed[-1]["id"])


def test_create_token_without_body(user_api):
    response = user_api.post("/api/user/tokens")
    assert response.status_code == 201
    assert response.get_json()["name"] == ""


def test_token_is_stored_only_as_a_digest(user_api):
    token = user_api.post("/api/user/tokens").get_json()["id"]
    for row in db.session.query(APIToken).all():
        assert token not in (row.id, row.token_hash)
        assert len(row.token_hash) == 64


def test_expire_token_by_list_id_or_by_value(user_api, api):
    first = user_api.post("/api/user/tokens").get_json()["id"]
    second = user_api.post("/api/user/tokens").get_json()["id"]
    handle = first[:16]
    assert user_api.delete(f"/api/user/tokens/{handle}").status_code == 204
    assert user_api.delete(f"/api/user/tokens/{second}").status_code == 204
    for token in (first, second):
        assert api.get("/api/user", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    listed = user_api.get("/api/user/tokens").get_json()
    assert [t["expired"] for t in listed if t["id"] in (first[:16], second[:16])] == [True, True]


def test_cannot_expire_someone_elses_token(user_api, app):
    other = factories.user()
    other_token = factories.api_token(other)
    assert user_api.delete(f"/api/user/tokens/{other_token}").status_code == 404
    assert user_api.delete(f"/api/user/tokens/{other_token[:16]}").status_code == 404
    other_api = factories.api_client(app, other)
    assert (
        other_api.with_headers(Authorization=f"Bearer {other_token}").get("/api/user").status_code
        == 200
    )


def test_unknown_token_is_404(user_api):
    assert user_api.delete("/api/user/tokens/doesnotexist").status_code == 404


def test_token_name_must_be_a_string(user_api):
    assert user_api.post("/api/user/tokens", json={"name": 5}).status_code == 400


def test_tokens_list_only_own(user_api, app):
    factories.api_token(factories.user())
    user_api.post("/api/user/tokens")
    assert all(
        t["user_id"] == user_api.user.id for t in user_api.get("/api/user/tokens").get_json()
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": 5, "expires": "x", "expires_in_days": "y"}, "name must be a string"),
        ({"expires": "x", "expires_in_days": "y"}, "give expires or expires_in_days, not both"),
        ({"expires_in_days": 5.0}, "expires_in_days must be a whole number from 1 to 3650"),
        ({"expires": "2999-01-01T00:00:00"}, "expires must be an RFC 3339 time with a zone"),
        ({"expires": "2001-01-01T00:00:00Z"}, "expires must be in the future"),
    ],
)
def test_token_limit_errors(user_api, body, message):
    response = user_api.post("/api/user/tokens", json=body)
    assert (response.status_code, response.get_json()["error"]) == (400, message)


def test_a_body_that_is_not_an_object_makes_a_plain_token(user_api):
    response = user_api.post("/api/user/tokens", json=["ignored"])
    assert response.status_code == 201
    assert response.get_json()["expires"] is None
