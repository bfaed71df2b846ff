"""A project's dashboard: the service's task lists and per-day counts, and the page, its
partials and who may see them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from semaphore.extensions import db
from semaphore.models import ProjectUser, Task, utcnow
from semaphore.services import dashboard
from semaphore.services.permissions import project_access
from semaphore.web.project_dashboard import bar_title, chart, scale
from tests import factories
from tests.web.helpers import Browser

HTMX = {"HX-Request": "true"}
TODAY = date(2026, 11, 20)


@pytest.fixture
def template(project):
    return factories.template(project=project, name="Deploy")


def _html(response) -> str:
    return response.get_data(as_text=True)


def _at(day: date, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def _task(project, template, status: str = "success", created: datetime | None = None, **fields):
    created = created or utcnow()
    if status != "waiting":
        fields.setdefault("start", created + timedelta(seconds=5))
    if status in ("success", "error", "stopped"):
        fields.setdefault("end", created + timedelta(seconds=70))
    task = Task(
        project_id=project.id,
        template_id=template.id,
        status=status,
        created=created,
        environment="",
        **fields,
    )
    db.session.add(task)
    db.session.commit()
    return task


# --- the service -------------------------------------------------------------------------------


def test_daily_runs_counts_each_day_by_bucket_with_empty_days(owner, project, template):
    two_days_ago = TODAY - timedelta(days=2)
    for status in ("success", "success", "error", "stopped", "running", "waiting"):
        _task(project, template, status, created=_at(two_days_ago))
    _task(project, template, "success", created=_at(TODAY, 23, 59, 59))
    other_project = factories.project(members={owner: "owner"})
    _task(other_project, factories.template(project=other_project), created=_at(TODAY))

    runs = dashboard.daily_runs(project_access(owner, project.id), today=TODAY)

    assert len(runs) == 30
    assert [day.day for day in runs] == [TODAY - timedelta(days=29 - n) for n in range(30)]
    by_day = {day.day: day.counts for day in runs}
    assert by_day[two_days_ago] == {"success": 2, "failed": 1, "stopped": 1, "other": 2}
    assert by_day[TODAY] == {"success": 1, "failed": 0, "stopped": 0, "other": 0}
    assert by_day[TODAY - timedelta(days=1)] == dict.fromkeys(dashboard.BUCKETS, 0)
    totals = dashboard.totals(runs)
    assert (totals.runs, totals.finished, totals.success, totals.failed) == (7, 5, 3, 1)
    assert totals.success_rate == 60


def test_daily_runs_window_holds_exactly_the_last_30_days(owner, project, template):
    first = TODAY - timedelta(days=29)
    _task(project, template, created=_at(first, 0, 0, 0))  # the window's first instant
    _task(project, template, created=_at(first - timedelta(days=1), 23, 59, 59))
    _task(project, template, created=_at(TODAY + timedelta(days=1), 0, 0, 0))

    runs = dashboard.daily_runs(project_access(owner, project.id), today=TODAY)

    assert runs[0].day == first and runs[0].total == 1
    assert sum(day.total for day in runs) == 1
    week = dashboard.daily_runs(project_access(owner, project.id), days=7, today=TODAY)
    assert len(week) == 7 and sum(day.total for day in week) == 0


def test_active_and_recent_tasks(owner, project, template):
    now = utcnow()
    active = [
        _task(project, template, status, created=now - timedelta(minutes=n), user_id=owner.id)
        for n, status in enumerate(dashboard.ACTIVE_STATUSES)
    ]
    finished = [
        _task(project, template, status, created=now - timedelta(hours=1 + n))
        for n, status in enumerate(["success", "error", "stopped"] * 4)
    ]
    access = project_access(owner, project.id)

    listed = dashboard.active_tasks(access)
    assert [task.id for task, _, _ in listed] == [task.id for task in active]
    assert {user_name for _, _, user_name in listed} == {"Olive Owner"}
    assert listed[0][1].name == "Deploy"
    recent = dashboard.recent_tasks(access)
    assert [task.id for task, _, _ in recent] == [task.id for task in finished[:10]]
    assert dashboard.totals([]).success_rate is None


# --- the chart's geometry ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("highest", "expected"),
    [
        (0, (4, 1)),
        (1, (4, 1)),
        (4, (4, 1)),
        (5, (6, 2)),
        (9, (10, 5)),
        (17, (20, 5)),
        (96, (100, 50)),
    ],
)
def test_scale_uses_round_steps(highest, expected):
    assert scale(highest) == expected


def test_chart_stacks_buckets_from_the_baseline():
    counts = {"success": 4, "failed": 1, "stopped": 0, "other": 0}
    runs = [
        dashboard.DayRuns(TODAY - timedelta(days=1), dict.fromkeys(dashboard.BUCKETS, 0)),
        dashboard.DayRuns(TODAY, counts),
    ]
    drawn = chart(runs)
    empty, today = drawn["bars"]
    assert empty["segments"] == [] and empty["title"] == "2026-11-19: no runs"
    assert today["title"] == "2026-11-20: 4 success, 1 failed"
    success, failed = today["segments"]
    assert success["y"] + success["height"] == pytest.approx(drawn["baseline"], abs=0.1)
    assert failed["y"] + failed["height"] == pytest.approx(success["y"], abs=0.1)
    assert success["height"] == pytest.approx(4 * failed["height"], abs=0.5)
    # 5 runs on an axis up to 6: the stack's top is a sixth of the plot below its top.
    assert failed["y"] == pytest.approx(
        drawn["top"] + (drawn["baseline"] - drawn["top"]) / 6, abs=0.1
    )
    assert today["label"] == "Nov 20" and empty["label"] is None
    assert [tick["value"] for tick in drawn["ticks"]] == [0, 2, 4, 6]
    assert bar_title(runs[1]) == today["title"]


# --- the pages ---------------------------------------------------------------------------------


def test_project_home_is_the_dashboard(web, owner, project):
    web.log_in(owner)
    home = web.get(f"/project/{project.id}")
    assert home.status_code == 302
    assert home.headers["Location"].endswith(f"/project/{project.id}/dashboard")
    page = _html(web.get(f"/project/{project.id}/dashboard"))
    assert 'data-testid="nav-dashboard" aria-current="page"' in page
    assert page.index('data-testid="nav-dashboard"') < page.index('data-testid="nav-tasks"')
    assert "No runs in the last 30 days" in page and "Nothing is running or waiting." in page


def test_dashboard_shows_active_recent_tasks_and_the_chart(web, owner, project, template):
    running = _task(project, template, "running", user_id=owner.id, message="rolling out")
    done = _task(project, template, "error", created=utcnow() - timedelta(days=3))
    web.log_in(owner)
    page = _html(web.get(f"/project/{project.id}/dashboard"))

    active = page[
        page.index('data-testid="active-tasks"') : page.index('data-testid="recent-tasks"')
    ]
    assert f'data-testid="active-task-{running.id}"' in active and "Olive Owner" in active
    assert f"/project/{project.id}/tasks/{running.id}" in active and "rolling out" in active
    assert 'class="badge status status-running"' in active
    recent = page[page.index('data-testid="recent-tasks"') :]
    assert f'data-testid="recent-task-{done.id}"' in recent and "1m 05s" in recent
    assert 'class="badge status status-error"' in recent
    day = (utcnow() - timedelta(days=3)).date().isoformat()
    assert f"<title>{day}: 1 failed</title>" in page
    assert f"<title>{utcnow().date().isoformat()}: 1 other</title>" in page
    assert 'data-testid="stat-runs">2<' in page and 'data-testid="stat-success-rate">0%<' in page
    assert f'/api/ws?project_id={project.id}&amp;logs=0"' in page
    assert "js/project_live.js" in page and "css/dashboard.css" in page


def test_partials_swap_in_by_htmx_and_redirect_otherwise(web, owner, project, template):
    task = _task(project, template, "waiting")
    web.log_in(owner)
    base = f"/project/{project.id}/dashboard"

    tasks_part = web.get(f"{base}/tasks", headers=HTMX)
    html = _html(tasks_part)
    assert html.lstrip().startswith('<div id="dashboard-tasks"')
    assert f'data-testid="active-task-{task.id}"' in html and "<html" not in html
    assert "HX-Request" in tasks_part.headers["Vary"]
    chart_part = _html(web.get(f"{base}/chart", headers=HTMX))
    assert chart_part.lstrip().startswith('<section id="dashboard-chart"')
    assert chart_part.count("<title>") == 30
    for part in ("tasks", "chart"):
        plain = web.get(f"{base}/{part}")
        assert plain.status_code == 302 and plain.headers["Location"].endswith(base)


@pytest.mark.parametrize("path", ["", "/tasks", "/chart"])
def test_a_guest_reads_the_dashboard_and_an_outsider_gets_404(web, project, template, path):
    _task(project, template, "success")
    guest = factories.user(username="gus")
    outsider = factories.user(username="otto")
    db.session.add(ProjectUser(project_id=project.id, user_id=guest.id, role="guest"))
    db.session.commit()
    url = f"/project/{project.id}/dashboard{path}"

    web.log_in(guest)
    assert web.get(url, headers=HTMX).status_code == 200
    other = Browser(web.client.application)
    other.log_in(outsider)
    assert other.get(url, headers=HTMX).status_code == 404


@pytest.mark.parametrize("path", ["", "/tasks", "/chart"])
def test_anonymous_visitors_are_sent_to_log_in(web, project, path):
    response = web.get(f"/project/{project.id}/dashboard{path}")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
