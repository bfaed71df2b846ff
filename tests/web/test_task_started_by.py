"""Who started a task, said by one macro on the task page, in History, on the template's page
and on the project dashboard: the user, else the schedule or the integration (linked), and for
a deploy the build task (linked)."""

from __future__ import annotations

import re

import pytest

from semaphore.extensions import db
from semaphore.models import Integration
from tests import factories


def started_by(html: str, task_id: int) -> str:
    """The text and links of the task's "started by" element (the first one on the page)."""
    match = re.search(
        rf'data-testid="started-by-{task_id}">(.*?)</span>\s*</(?:td|dd)>', html, re.S
    )
    assert match, f"no started-by for task {task_id}"
    return match.group(1)


@pytest.fixture
def started(project, owner):
    template = factories.template(project=project, name="Deploy web")
    schedule = factories.schedule(project=project, template_id=template.id, name="nightly")
    integration = Integration(project_id=project.id, name="github push", template_id=template.id)
    db.session.add(integration)
    db.session.commit()
    build = factories.task(of=template, user_id=owner.id)
    return {
        "template": template,
        "schedule": schedule,
        "integration": integration,
        "by_user": build,
        "by_schedule": factories.task(of=template, schedule_id=schedule.id),
        "by_integration": factories.task(of=template, integration_id=integration.id),
        "by_build": factories.task(of=template, build_task_id=build.id),
        "by_user_from_build": factories.task(
            of=template, user_id=owner.id, build_task_id=build.id, status="running"
        ),
        "by_nobody": factories.task(of=template),
    }


def expected(project, started) -> dict[str, list[str]]:
    p = project.id
    schedule, integration, build = started["schedule"], started["integration"], started["by_user"]
    return {
        "by_user": ['data-testid="started-by-user">Olive Owner<'],
        "by_schedule": [
            "Schedule</span>",
            f'href="/project/{p}/schedules#schedule-{schedule.id}"',
            'data-testid="started-by-schedule">nightly<',
        ],
        "by_integration": [
            "Integration</span>",
            f'href="/project/{p}/integrations/{integration.id}"',
            'data-testid="started-by-integration">github push<',
        ],
        "by_build": [
            "after build</span>",
            f'href="/project/{p}/tasks/{build.id}" data-testid="started-by-build">#{build.id}<',
        ],
        "by_user_from_build": [
            "Olive Owner<",
            "from build</span>",
            f'href="/project/{p}/tasks/{build.id}"',
        ],
        "by_nobody": ["—"],
    }


def test_every_task_list_and_the_task_page_say_who_started_it(web, app, owner, project, started):
    web.log_in(owner)
    p = project.id
    pages = {
        "history": f"/project/{p}/history",
        "template": f"/project/{p}/templates/{started['template'].id}",
        "dashboard": f"/project/{p}/dashboard",
    }
    wanted = expected(project, started)
    for where, url in pages.items():
        html = web.get(url).get_data(as_text=True)
        for kind, pieces in wanted.items():
            text = started_by(html, started[kind].id)
            for piece in pieces:
                assert piece in text, (where, kind, piece, text)
    for kind, pieces in wanted.items():
        html = web.get(f"/project/{p}/tasks/{started[kind].id}").get_data(as_text=True)
        text = started_by(html, started[kind].id)
        for piece in pieces:
            assert piece in text, ("task page", kind, piece, text)


def test_the_schedule_link_lands_on_its_row(web, app, owner, project, started):
    web.log_in(owner)
    html = web.get(f"/project/{project.id}/schedules").get_data(as_text=True)
    assert f'id="schedule-{started["schedule"].id}"' in html
