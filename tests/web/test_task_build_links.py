"""The task page links a deploy task to its build task, and a build task to its deploys."""

from __future__ import annotations

from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import Task
from semaphore.services import tasks
from tests import factories
from tests.web.helpers import Browser


def piece(html: str, test_id: str) -> str:
    """The element with this data-testid, up to its closing tag."""
    return html.split(f'data-testid="{test_id}"', 1)[1].split("</dd>", 1)[0]


def test_a_deploy_says_which_build_started_it_and_the_build_lists_its_deploys(app):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    build = factories.template(project=project, type="build", start_version="1.0.0")
    deploy = factories.template(
        project=project, type="deploy", build_template_id=build.id, autorun=True
    )
    built = factories.task(of=build, status="running", version="1.0.7")
    assert tasks.change_status(built, "success")
    db.session.commit()
    started = db.session.scalars(select(Task).where(Task.template_id == deploy.id)).one()
    web = Browser(app)
    web.log_in(owner)

    deploy_page = web.get(f"/project/{project.id}/tasks/{started.id}").get_data(as_text=True)
    built_by = piece(deploy_page, "task-built-by")
    assert f'built by task <a href="/project/{project.id}/tasks/{built.id}">#{built.id}</a>' in (
        built_by
    )
    assert "1.0.7" in built_by

    build_page = web.get(f"/project/{project.id}/tasks/{built.id}").get_data(as_text=True)
    deploys = piece(build_page, "task-deploys")
    assert f'href="/project/{project.id}/tasks/{started.id}"' in deploys
    assert f"#{started.id}</a>" in deploys and "Waiting" in deploys
    assert 'data-testid="task-built-by"' not in build_page
    assert 'data-testid="task-deploys"' not in deploy_page
