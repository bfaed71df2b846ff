"""Return paths after login stay on this site."""

import pytest

from semaphore.security.redirects import same_site_path


@pytest.mark.parametrize("target", ["/", "/project/1/tasks?page=2", "/account#tokens"])
def test_paths_on_this_site_are_kept(target):
    assert same_site_path(target) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "account",
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "/\\/evil.example",
        "/ok\r\nSet-Cookie: x=1",
        "/ok\x00",
        "javascript:alert(1)",
    ],
)
def test_anything_else_is_dropped(target):
    assert same_site_path(target) == ""


def test_the_login_page_ignores_a_backslash_return_path(app):
    from tests import factories
    from tests.web.helpers import Browser

    user = factories.user()
    web = Browser(app)
    answer = web.submit(
        "/auth/login?next=/%5Cevil.example/",
        {"auth": user.username, "password": factories.DEFAULT_PASSWORD},
    )
    assert answer.status_code == 303 and answer.headers["Location"] == "/"
