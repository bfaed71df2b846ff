"""The task history (and a template's page): paging, filters, refused query arguments, the poll
that answers 204 while nothing changed, who may see them; and the dashboard's capped active list.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from semaphore.extensions import db
from semaphore.models import Integration, ProjectUser, Task, utcnow
from semaphore.schemas.listing import Page
from semaphore.services import tasks
from semaphore.services.permissions import project_access
from semaphore.services.tasks.history import TaskFilter, parse_filter
from tests import factories
from tests.test_list_queries import counting
from tests.web.helpers import Browser

HTMX = {"HX-Request": "true"}
ROLES = ("owner", "manager", "task_runner", "guest")


@pytest.fixture
def template(project):
    return factories.template(project=project, name="Deploy")


def _html(response) -> str:
    return response.get_data(as_text=True)


def _tasks(project, template, count: int, status: str = "success", **fields) -> list[Task]:
    """`count` tasks, one a minute back from now: the first made is the oldest."""
    now, created = utcnow(), fields.pop("created", None)
    rows = [
        Task(
            project_id=project.id,
            template_id=template.id,
            status=status,
            environment="",
            created=created or now - timedelta(minutes=count - n),
            **fields,
        )
        for n in range(count)
    ]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def _shown(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'data-testid="task-row-(\d+)"', html)]


def _member(project, role: str):
    user = factories.user(username=f"{role}-user", name=f"{role.title()} User")
    db.session.add(ProjectUser(project_id=project.id, user_id=user.id, role=role))
    db.session.commit()
    return user


def _poll_url(html: str) -> str:
    match = re.search(r'id="task-list"[^>]*hx-get="([^"]+)"', html)
    assert match, "the list does not poll"
    return match.group(1).replace("&amp;", "&")


def _quiet(web, url: str) -> bool:
    """Whether the poll at `url` answers 204 (nothing to redraw), allowing one redraw when the
    list shows unfinished tasks: it is redrawn anyway as each 10 s period begins."""
    response = web.get(url, headers=HTMX)
    if response.status_code == 200 and "~" in url:
        response = web.get(_poll_url(_html(response)), headers=HTMX)
    return response.status_code == 204


# --- paging ---------------------------------------------------------------------------------


def test_history_pages_through_120_tasks(web, owner, project, template):
    made = _tasks(project, template, 120)
    newest_first = [task.id for task in reversed(made)]
    web.log_in(owner)
    base = f"/project/{project.id}/history"

    first = _html(web.get(base))
    assert _shown(first) == newest_first[:50]
    assert 'data-testid="page-count">1–50 of 120<' in first
    assert f'href="{base}?page=2"' in first
    assert re.search(
        r'<span class="button compact" aria-disabled="true" data-testid="page-previous"', first
    )

    third = _html(web.get(f"{base}?page=3"))
    assert _shown(third) == newest_first[100:]
    assert 'data-testid="page-count">101–120 of 120<' in third
    assert f'href="{base}?page=2"' in third and 'data-testid="page-next"' in third
    assert not re.search(r'<a[^>]*data-testid="page-next"', third)

    small = _html(web.get(f"{base}?per_page=20&page=2", headers=HTMX))
    assert small.lstrip().startswith('<div id="task-history"') and "<html" not in small
    assert _shown(small) == newest_first[20:40]
    assert 'data-testid="page-count">21–40 of 120<' in small
    assert f'href="{base}?per_page=20&amp;page=3"' in small
    assert '<option value="20" selected>' in small


def test_a_page_past_the_end_shows_the_last(web, owner, project, template):
    made = _tasks(project, template, 25)
    web.log_in(owner)
    page = _html(web.get(f"/project/{project.id}/history?per_page=20&page=9"))
    assert _shown(page) == [task.id for task in reversed(made[:5])]
    assert 'data-testid="page-count">21–25 of 25<' in page


def test_the_service_pages_and_filters_in_sql(owner, project, template):
    other = factories.template(project=project, name="Other")
    _tasks(project, template, 30, status="success")
    waiting = _tasks(project, other, 4, status="waiting")
    access = project_access(owner, project.id)
    rows = tasks.list_tasks(access, page=Page(2, 20), filters=TaskFilter(status="success"))
    assert rows.total == 30 and len(rows) == 10
    active = tasks.list_tasks(access, page=Page(1, 20), filters=TaskFilter(status="active"))
    assert {task.id for task, _, _ in active} == {task.id for task in waiting}
    assert tasks.list_tasks(access, filters=TaskFilter(template_id=other.id)).total is None
    assert len(tasks.list_tasks(access, filters=TaskFilter(template_id=other.id))) == 4


# --- filters --------------------------------------------------------------------------------


def test_filters_narrow_the_list(web, owner, project, template):
    other = factories.template(project=project, name="Nightly")
    olive_runs = _tasks(project, template, 3, status="success", user_id=owner.id)
    failed = _tasks(project, template, 2, status="error")
    running = _tasks(project, other, 1, status="running")
    waiting = _tasks(project, other, 1, status="waiting_confirmation")
    schedule = factories.schedule(project=project, template_id=other.id)
    hook = Integration(project_id=project.id, template_id=other.id, name="Hook", task_params={})
    db.session.add(hook)
    db.session.commit()
    by_schedule = _tasks(project, other, 1, schedule_id=schedule.id)
    by_hook = _tasks(project, other, 1, integration_id=hook.id)
    old = _tasks(project, template, 1, created=datetime(2026, 1, 10, 23, 59, tzinfo=UTC))
    web.log_in(owner)
    base = f"/project/{project.id}/history"

    def ids(query: str) -> set[int]:
        response = web.get(f"{base}?{query}", headers=HTMX)
        assert response.status_code == 200, _html(response)
        return set(_shown(_html(response)))

    def of(*groups) -> set[int]:
        return {task.id for group in groups for task in group}

    assert ids("status=error") == of(failed)
    assert ids("status=active") == of(running, waiting)
    assert ids(f"template={other.id}") == of(running, waiting, by_schedule, by_hook)
    assert ids(f"template={other.id}&status=running") == of(running)
    assert ids(f"user={owner.id}") == of(olive_runs)
    assert ids("user=automated") == of(by_schedule, by_hook)
    assert ids("from=2026-01-10&to=2026-01-10") == of(old)
    assert ids("to=2026-01-09") == set()
    assert ids(f"from={utcnow().date().isoformat()}") == set(ids("")) - of(old)
    page = _html(web.get(f"{base}?status=error&template={template.id}&user=automated"))
    assert "No tasks match these filters." in page and 'data-testid="filter-clear"' in page
    assert '<option value="error" selected>' in page
    assert f'<option value="{template.id}" selected>Deploy</option>' in page
    assert '<option value="automated" selected>' in page
    assert f'<option value="{owner.id}">Olive Owner</option>' in page
    # The pager keeps the filters.
    _tasks(project, template, 25, status="error")
    page = _html(web.get(f"{base}?status=error&per_page=20"))
    assert f'href="{base}?status=error&amp;per_page=20&amp;page=2"' in page


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("page=abc", "page", "Page must be a whole number from 1"),
        ("page=0", "page", "Page must be a whole number from 1"),
        ("per_page=7", "per_page", "Tasks per page must be one of: 20, 50, 100"),
        ("per_page=-1", "per_page", "Tasks per page must be one of: 20, 50, 100"),
        ("status=bogus", "status", "Status must be one of: active, waiting,"),
        ("template=abc", "template", "Template must be an id"),
        ("user=root", "user", "Started by must be an id (a whole number from 1) or automated"),
        ("from=notadate", "from", "From must be a date (YYYY-MM-DD)"),
        ("to=2026-02-30", "to", "To must be a date (YYYY-MM-DD)"),
        ("from=2026-03-02&to=2026-03-01", "from", "From must not be after To"),
    ],
)
def test_a_refused_argument_is_named_and_ignored(
    web, owner, project, template, query, field, message
):
    made = _tasks(project, template, 3)
    web.log_in(owner)
    for headers in ({}, HTMX):
        response = web.get(f"/project/{project.id}/history?{query}", headers=headers)
        html = _html(response)
        assert response.status_code == 422, html
        assert f'data-testid="error-{field}"' in html and message in html
        assert set(_shown(html)) == {task.id for task in made}  # as if it were not given
    # The poll asks without the refused value, so it is not refused at every poll.
    poll = _poll_url(html)
    refused = next(part for part in query.split("&") if part.startswith(f"{field}="))
    assert refused not in poll.split("?")[1].split("&")
    assert web.get(poll, headers=HTMX).status_code == 204


def test_parse_filter_reads_every_filter():
    found, errors = parse_filter(
        {"status": "active", "template": "4", "user": "automated", "from": "2026-01-02", "to": ""}
    )
    assert errors == {}
    assert found == TaskFilter("active", 4, "automated", datetime(2026, 1, 2).date(), None)
    assert found.query_args() == {
        "status": "active",
        "template": "4",
        "user": "automated",
        "from": "2026-01-02",
    }
    assert not parse_filter({})[0]


# --- the poll -------------------------------------------------------------------------------


def test_the_poll_answers_204_until_something_changes(web, owner, project, template):
    (done,) = _tasks(project, template, 1)
    web.log_in(owner)
    page = _html(web.get(f"/project/{project.id}/history"))
    poll = _poll_url(page)
    assert "known=" in poll and 'hx-trigger="every 1.5s"' in page

    quiet = web.get(poll, headers=HTMX)
    assert quiet.status_code == 204 and quiet.data == b""
    assert "HX-Request" in quiet.headers["Vary"]
    # Not a poll (no HX-Request): the whole page, whatever `known` says.
    assert "<html" in _html(web.get(poll))

    task = tasks.create_task(project_access(owner, project.id), {"template_id": template.id})
    changed = web.get(poll, headers=HTMX)
    html = _html(changed)
    assert changed.status_code == 200
    assert html.lstrip().startswith('<div class="card table-card task-list" id="task-list"')
    assert 'id="task-history"' not in html  # the filters being edited are left alone
    assert _shown(html) == [task.id, done.id]
    # A list showing an unfinished task is redrawn at least every 10 s: its token says so.
    assert re.search(r"known=[^&\"]+~\d+", _poll_url(html))
    assert _quiet(web, _poll_url(html))

    tasks.change_status(task, "running")
    db.session.commit()
    running = _html(web.get(_poll_url(html), headers=HTMX))
    assert 'data-status="running"' in running


def test_a_filtered_poll_keeps_its_filters(web, owner, project, template):
    _tasks(project, template, 2, status="error")
    web.log_in(owner)
    page = _html(web.get(f"/project/{project.id}/history?status=waiting&per_page=20"))
    poll = _poll_url(page)
    assert "status=waiting" in poll and "per_page=20" in poll
    tasks.create_task(project_access(owner, project.id), {"template_id": template.id})
    assert len(_shown(_html(web.get(poll, headers=HTMX)))) == 1


def test_a_later_page_polls_only_while_it_shows_an_unfinished_task(web, owner, project, template):
    _tasks(project, template, 1, status="running", created=utcnow() - timedelta(days=2))
    _tasks(project, template, 45, status="success")
    web.log_in(owner)
    base = f"/project/{project.id}/history?per_page=20"
    assert 'hx-trigger="every 1.5s"' in _html(web.get(base))  # the first page always polls
    assert 'hx-trigger="every 1.5s"' not in _html(web.get(f"{base}&page=2"))
    assert 'hx-trigger="every 1.5s"' in _html(web.get(f"{base}&page=3"))  # the running one


def test_statements_do_not_grow_with_the_rows(web, owner, project, template):
    web.log_in(owner)
    counts = []
    for _ in range(2):
        _tasks(project, template, 30, status="waiting", user_id=owner.id)
        for query in ("", "?status=active&per_page=100", f"?user={owner.id}&from=2026-01-01"):
            url = f"/project/{project.id}/history{query}"
            web.get(url)
            with counting() as statements:
                web.get(url)
            counts.append(len(statements))
    assert counts[:3] == counts[3:], counts


# --- a template's page ------------------------------------------------------------------------


def test_a_templates_page_pages_its_own_tasks(web, owner, project, template):
    other = factories.template(project=project, name="Other")
    mine = _tasks(project, template, 25, status="error")
    _tasks(project, other, 5)
    web.log_in(owner)
    base = f"/project/{project.id}/templates/{template.id}"
    page = _html(web.get(f"{base}?per_page=20&template={other.id}"))
    assert _shown(page) == [task.id for task in reversed(mine)][:20]
    assert 'data-testid="page-count">1–20 of 25<' in page
    assert f'href="{base}?per_page=20&amp;page=2"' in page
    assert 'data-testid="filter-template"' not in page and 'data-testid="filter-status"' in page
    second = _html(web.get(f"{base}?per_page=20&page=2", headers=HTMX))
    assert _shown(second) == [task.id for task in reversed(mine)][20:]
    assert 'data-testid="page-count">21–25 of 25<' in second
    assert len(_shown(_html(web.get(f"{base}?status=success")))) == 0
    refused = web.get(f"{base}?page=x")
    assert refused.status_code == 422 and "Page must be a whole number" in _html(refused)


# --- who may see them -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", *ROLES])
@pytest.mark.parametrize("page", ["history", "template"])
def test_every_member_and_an_admin_see_the_lists(web, project, template, role, page):
    (task,) = _tasks(project, template, 1, status="error")
    user = factories.user(admin=True) if role == "admin" else _member(project, role)
    web.log_in(user)
    url = (
        f"/project/{project.id}/history"
        if page == "history"
        else f"/project/{project.id}/templates/{template.id}"
    )
    html = _html(web.get(f"{url}?status=error"))
    assert _shown(html) == [task.id]
    assert web.get(_poll_url(html), headers=HTMX).status_code == 204


@pytest.mark.parametrize("page", ["history", "template"])
def test_outsiders_get_404_and_anonymous_visitors_log_in(web, project, template, page):
    _tasks(project, template, 1, status="running")
    url = (
        f"/project/{project.id}/history"
        if page == "history"
        else f"/project/{project.id}/templates/{template.id}"
    )
    anonymous = web.get(f"{url}?known=x", headers=HTMX)
    assert anonymous.status_code in (302, 401)
    assert web.get(url).status_code == 302 and "/auth/login" in web.get(url).headers["Location"]
    outsider = Browser(web.client.application)
    outsider.log_in(factories.user(username="otto"))
    assert outsider.get(url).status_code == 404
    assert outsider.get(f"{url}?known=x", headers=HTMX).status_code == 404


# --- the dashboard's active list ----------------------------------------------------------------


def test_the_dashboard_caps_its_active_list_with_a_link_to_the_rest(web, owner, project, template):
    waiting = _tasks(project, template, 13, status="waiting")
    _tasks(project, template, 4, status="success")
    web.log_in(owner)
    page = _html(web.get(f"/project/{project.id}/dashboard"))
    active = page[
        page.index('data-testid="active-tasks"') : page.index('data-testid="recent-tasks"')
    ]
    shown = [int(n) for n in re.findall(r'data-testid="active-task-(\d+)"', active)]
    assert shown == [task.id for task in reversed(waiting)][:10]
    assert 'data-testid="active-count">13<' in active
    more = re.search(
        r'<a class="more-tasks" data-testid="active-more"\s+href="([^"]+)">([^<]+)</a>', active
    )
    assert more and more.group(2) == "+3 more"
    target = more.group(1).replace("&amp;", "&")
    assert target == f"/project/{project.id}/history?status=active"
    assert set(_shown(_html(web.get(target)))) == {task.id for task in waiting}


def test_no_more_link_while_every_active_task_is_shown(web, owner, project, template):
    _tasks(project, template, 10, status="running")
    web.log_in(owner)
    page = _html(web.get(f"/project/{project.id}/dashboard/tasks", headers=HTMX))
    assert 'data-testid="active-count">10<' in page and "active-more" not in page
