"""The "Send a test notification" button of a project's settings page."""

from __future__ import annotations

import pytest
from rq import SimpleWorker

from semaphore import broker
from semaphore.extensions import db
from semaphore.jobs import runtime
from semaphore.models import Project, ProjectUser
from tests import factories
from tests.web.helpers import csrf_token

BUTTON = 'data-testid="send-test-notification"'
QUEUED = "Test notification queued; the result appears in the project&#39;s Activity"


def _html(response) -> str:
    return response.get_data(as_text=True)


def _settings(project) -> str:
    return f"/project/{project.id}/settings"


def _press(web, project):
    """Press the button as the browser does: a POST carrying the page's CSRF token."""
    page = _html(web.get(_settings(project)))
    assert BUTTON in page
    action = f"/project/{project.id}/settings/test-notification"
    assert f'action="{action}"' in page
    return web.post(action, data={"csrf_token": csrf_token(page)})


def _queued() -> list[tuple]:
    return [tuple(job.args) for job in broker.queue(broker.QUEUE_NOTIFICATIONS).jobs]


def _alerts_on(project) -> None:
    db.session.get(Project, project.id).alert = True
    db.session.commit()


def _member(project, role: str):
    user = factories.user()
    db.session.add(ProjectUser(project_id=project.id, user_id=user.id, role=role))
    db.session.commit()
    return user


def test_the_owner_queues_a_test_and_finds_the_result_in_activity(app, web, owner, project):
    _alerts_on(project)
    web.log_in(owner)
    response = _press(web, project)
    assert response.status_code == 303 and response.headers["Location"] == _settings(project)
    assert QUEUED in _html(web.get(_settings(project)))
    assert _queued() == [(project.id, owner.id)]

    runtime.set_app(app)
    queue = broker.queue(broker.QUEUE_NOTIFICATIONS)
    SimpleWorker([queue], connection=broker.connection()).work(burst=True)
    activity = _html(web.get(f"/project/{project.id}/activity"))
    assert "Test notification: no channel is configured" in activity


def test_with_alerts_off_the_409_message_is_flashed_as_an_error(web, owner, project):
    web.log_in(owner)
    page = _html(web.get(_settings(project)))
    assert 'data-testid="alerts-off-note"' in page and "turn them on above" in page
    response = _press(web, project)
    assert response.status_code == 303
    page = _html(web.get(_settings(project)))
    assert 'class="flash flash-error"' in page
    assert "Alerts are not enabled for this project" in page
    assert _queued() == []


def test_a_manager_may_press_it_too(web, project):
    manager = _member(project, "manager")
    web.log_in(manager)
    page = _html(web.get(_settings(project)))
    # Managers cannot change the settings (nor turn alerts on), but may test the notifications.
    assert 'data-testid="read-only"' in page and BUTTON in page
    assert "an owner must turn them on first" in page
    _alerts_on(project)
    assert 'data-testid="alerts-off-note"' not in _html(web.get(_settings(project)))
    assert _press(web, project).status_code == 303
    assert _queued() == [(project.id, manager.id)]


@pytest.mark.parametrize("role", ["guest", "task_runner"])
def test_guests_and_task_runners_see_no_button_and_are_refused(web, project, role):
    _alerts_on(project)
    web.log_in(_member(project, role))
    page = _html(web.get(_settings(project)))
    assert BUTTON not in page and 'data-testid="test-notification"' not in page
    refused = web.post(
        f"/project/{project.id}/settings/test-notification",
        data={"csrf_token": csrf_token(page)},
    )
    assert refused.status_code == 403
    assert _queued() == []


def test_an_admin_who_is_no_member_sees_the_button(web, project):
    _alerts_on(project)
    web.log_in(factories.user(admin=True))
    assert _press(web, project).status_code == 303
    assert len(_queued()) == 1


def test_a_post_without_the_csrf_token_is_refused(web, owner, project):
    _alerts_on(project)
    web.log_in(owner)
    response = web.post(f"/project/{project.id}/settings/test-notification")
    assert response.status_code == 400
    assert _queued() == []


@pytest.mark.parametrize("config_overrides", [{"redis_url": "redis://127.0.0.1:9/0"}])
def test_an_unreachable_queue_is_flashed(web, owner, project):
    _alerts_on(project)
    web.log_in(owner)
    assert _press(web, project).status_code == 303
    page = _html(web.get(_settings(project)))
    assert "The notification queue (Redis) cannot be reached" in page
