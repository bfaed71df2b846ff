"""The project settings page: how many tasks the project holds and the size of their stored
output, and its own task retention days (issue 19)."""

from __future__ import annotations

import re

from semaphore.extensions import db
from semaphore.models import Project, utcnow
from semaphore.services.permissions import project_access
from semaphore.services.tasks import output as task_output
from semaphore.services.tasks import retention
from tests import factories


def _task_with_output(template, text: str, status: str = "success") -> None:
    task = factories.task(of=template, status=status)
    task_output.store_lines(task.id, 1, [(utcnow(), text)])
    db.session.commit()


def _testid(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">([^<]*)<', html)
    assert match, testid
    return match.group(1)


def test_the_settings_page_shows_the_task_count_and_output_size(web, owner, project):
    template = factories.template(project=project)
    _task_with_output(template, "é" * 1000)  # 2,000 bytes, 1,000 characters
    _task_with_output(template, "ok\nok", status="running")  # 5 bytes
    factories.task(of=template, status="waiting")
    _task_with_output(factories.template(), "x" * 9000)  # another project's

    web.log_in(owner)
    page = web.get(f"/project/{project.id}/settings").get_data(as_text=True)
    assert _testid(page, "task-count") == "3 tasks"
    assert _testid(page, "output-size") == "2.0 kB"
    assert retention.task_storage(project_access(owner, project.id)) == retention.TaskStorage(
        tasks=3, output_bytes=2005
    )


def test_an_empty_project_shows_no_tasks(web, owner, project):
    web.log_in(owner)
    page = web.get(f"/project/{project.id}/settings").get_data(as_text=True)
    assert _testid(page, "task-count") == "0 tasks"
    assert _testid(page, "output-size") == "0 Bytes"


def test_the_owner_sets_the_projects_retention_days_in_the_form(web, owner, project):
    web.log_in(owner)
    path = f"/project/{project.id}/settings"
    page = web.get(path).get_data(as_text=True)
    assert 'name="task_retention_days"' in page and 'value=""' in page

    def saved(days: str) -> int | None:
        response = web.submit(path, {"name": project.name, "task_retention_days": days})
        assert response.status_code == 303
        db.session.expire_all()
        return db.session.get(Project, project.id).task_retention_days

    assert saved("14") == 14
    assert 'name="task_retention_days" type="text" value="14"' in web.get(path).get_data(
        as_text=True
    )
    assert saved("0") == 0
    assert saved("") is None
    bad = web.submit(path, {"name": project.name, "task_retention_days": "-3"})
    assert bad.status_code == 422
    assert 'data-testid="error-task_retention_days"' in bad.get_data(as_text=True)
