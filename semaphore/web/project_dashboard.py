"""A project's dashboard, its home page: active and recent tasks, and a chart of the last 30
days' runs by status. static/js/project_live.js refreshes both parts as the project's task
updates arrive over /api/ws.

The chart is an SVG drawn by the template from the geometry computed here: no chart library.
"""

from __future__ import annotations

import math
from datetime import date

from flask import Response, redirect, url_for
from flask_login import login_required

from semaphore.services import dashboard
from semaphore.services.dashboard import BUCKETS, DayRuns
from semaphore.services.permissions import ProjectAccess
from semaphore.services.tasks import origins as task_origins
from semaphore.web.blueprint import web_blueprint
from semaphore.web.htmx import is_htmx, render
from semaphore.web.project_resources import project_scope
from semaphore.web.tasks import STATUS_TITLES, duration

CHART_DAYS = 30
BUCKET_TITLES = {"success": "Success", "failed": "Failed", "stopped": "Stopped", "other": "Other"}
# The SVG's coordinate system; it scales to the card's width.
WIDTH, HEIGHT = 760, 220
LEFT, RIGHT, TOP, BOTTOM = 34, 22, 10, 26
MAX_TICKS = 4
LABEL_EVERY = 5  # days


@web_blueprint.get("/project/<int:project_id>/dashboard")
@login_required
def project_dashboard(project_id: int) -> Response:
    access = project_scope(project_id)
    return render(
        "projects/dashboard/index.html",
        access=access,
        **_tasks_context(access),
        **_chart_context(access),
    )


@web_blueprint.get("/project/<int:project_id>/dashboard/tasks")
@login_required
def project_dashboard_tasks(project_id: int) -> Response:
    access = project_scope(project_id)
    if not is_htmx():
        return redirect(url_for("web.project_dashboard", project_id=project_id))
    return render("projects/dashboard/_tasks.html", access=access, **_tasks_context(access))


@web_blueprint.get("/project/<int:project_id>/dashboard/chart")
@login_required
def project_dashboard_chart(project_id: int) -> Response:
    access = project_scope(project_id)
    if not is_htmx():
        return redirect(url_for("web.project_dashboard", project_id=project_id))
    return render("projects/dashboard/_chart.html", access=access, **_chart_context(access))


def _tasks_context(access: ProjectAccess) -> dict:
    active, recent = dashboard.active_tasks(access), dashboard.recent_tasks(access)
    return {
        "active": active,
        "recent": recent,
        "origins": task_origins.origins(task for task, _, _ in [*active, *recent]),
        "status_titles": STATUS_TITLES,
        "duration": duration,
    }


def _chart_context(access: ProjectAccess) -> dict:
    runs = dashboard.daily_runs(access, days=CHART_DAYS)
    return {
        "chart": chart(runs),
        "totals": dashboard.totals(runs),
        "chart_days": CHART_DAYS,
        "bucket_titles": BUCKET_TITLES,
    }


# The chart's geometry -----------------------------------------------------------------------


def scale(highest: int) -> tuple[int, int]:
    """The y axis's top and tick step for counts up to `highest`: round steps (1, 2, 5, 10,
    20, 50…), at most MAX_TICKS of them above zero, and never fewer (one run is not a wall)."""
    if highest <= MAX_TICKS:
        return MAX_TICKS, 1
    for exponent in range(12):
        for base in (1, 2, 5):
            step = base * 10**exponent
            if math.ceil(highest / step) <= MAX_TICKS:
                return math.ceil(highest / step) * step, step
    raise ValueError(f"count too large to chart: {highest}")


def bar_title(day: DayRuns) -> str:
    """A bar's tooltip and accessible name: "2026-11-20: 4 success, 1 failed"."""
    parts = [f"{day.counts[bucket]} {bucket}" for bucket in BUCKETS if day.counts[bucket]]
    return f"{day.day.isoformat()}: {', '.join(parts) or 'no runs'}"


def _day_label(day: date) -> str:
    return f"{day:%b} {day.day}"


def chart(runs: list[DayRuns]) -> dict:
    """Where the template draws each day's stacked bar, the y ticks and the date labels."""
    top, step = scale(max((day.total for day in runs), default=0))
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height
    slot = plot_width / max(len(runs), 1)
    bar_width = slot * 0.66
    bars = []
    for index, day in enumerate(runs):
        # Rounded edges computed from the running sum, so that stacked segments touch exactly.
        below, stacked, segments = float(baseline), 0, []
        for bucket in BUCKETS:
            count = day.counts[bucket]
            if not count:
                continue
            stacked += count
            y = _r(baseline - stacked / top * plot_height)
            segments.append({"bucket": bucket, "count": count, "y": y, "height": _r(below - y)})
            below = y
        # Label every fifth day, counted back from the last so that today has a label.
        labelled = (len(runs) - 1 - index) % LABEL_EVERY == 0
        bars.append(
            {
                "day": day.day,
                "total": day.total,
                "title": bar_title(day),
                "slot_x": _r(LEFT + index * slot),
                "x": _r(LEFT + index * slot + (slot - bar_width) / 2),
                "center": _r(LEFT + index * slot + slot / 2),
                "segments": segments,
                "label": _day_label(day.day) if labelled else None,
            }
        )
    ticks = [
        {"value": value, "y": _r(baseline - value / top * plot_height)}
        for value in range(0, top + 1, step)
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "baseline": baseline,
        "slot_width": _r(slot),
        "bar_width": _r(bar_width),
        "label_y": baseline + 17,
        "bars": bars,
        "ticks": ticks,
        "empty": all(day.total == 0 for day in runs),
    }


def _r(value: float) -> float:
    return round(value, 1)
