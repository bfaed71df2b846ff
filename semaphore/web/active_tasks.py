"""The administrators' "Active tasks" page: every waiting and running task of every project,
where it runs and why a waiting one waits, refreshed every few seconds, with stop buttons.
The list and the stop are services.tasks.active's, as GET /api/tasks and DELETE /api/tasks/{id}.
"""

from __future__ import annotations

from flask import Response, flash, url_for
from flask_login import current_user, login_required

from semaphore.errors import SemaphoreError
from semaphore.models import utcnow
from semaphore.services.tasks import active
from semaphore.services.tasks.origins import origins
from semaphore.web.blueprint import web_blueprint
from semaphore.web.htmx import is_htmx, redirect_to, render
from semaphore.web.tasks import STATUS_TITLES, elapsed

# How often the page asks for the list again (htmx polling; the list is a few queries).
REFRESH_SECONDS = 2


@web_blueprint.get("/tasks")
@login_required
def active_tasks() -> Response:
    rows = active.list_active(current_user)
    return render(
        "queue/index.html",
        "queue/_table.html",
        rows=rows,
        counts=active.counts(rows),
        origins=origins([row.task for row in rows]),
        now=utcnow(),
        age=elapsed,
        status_titles=STATUS_TITLES,
        refresh_seconds=REFRESH_SECONDS,
    )


@web_blueprint.post("/tasks/<int:task_id>/stop")
@login_required
def active_tasks_stop(task_id: int) -> Response:
    try:
        active.stop_active(current_user, task_id)
    except SemaphoreError as exc:
        if exc.status == 403:
            raise
        flash(exc.message, "error")
    else:
        flash(f"Task #{task_id} is stopping", "success")
    if is_htmx():
        return active_tasks()
    return redirect_to(url_for("web.active_tasks"))
