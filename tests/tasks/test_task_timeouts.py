"""Task timeouts on a real `semaphore worker` (issue 19's first acceptance test): a bash task
sleeping 60 s under a 2 s limit, the template's or the server's max_task_duration_sec, ends
`error` within 6 s, its process group gone, its last line naming the limit, and a local SMTP
server receives the failure mail. A Terraform plan's wait for confirmation counts too."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from semaphore.extensions import db
from semaphore.jobs import runtime
from semaphore.jobs.tasks import run_task
from semaphore.models import Task
from semaphore.services import tasks
from semaphore.services.permissions import project_access
from semaphore.services.tasks import output as task_output
from tests import factories
from tests.engine.test_timeouts import running, sleep_marker, sleep_script
from tests.notifications.conftest import mailbox  # noqa: F401 - a fixture used by name
from tests.tasks.test_terraform_job import (  # noqa: F401 - fixtures used by name
    _terraform_template,
    stub_log,
    terraform_repo,
)
from tests.tasks.test_workers import _wait_for

TEMPLATE_MESSAGE = (
    "The task ran longer than the template's max_task_duration_sec (2 s) and was stopped."
)
GLOBAL_MESSAGE = "The task ran longer than max_task_duration_sec (2 s) and was stopped."
# The template's 2 s under the server's 600 s, and the server's 2 s alone.
LIMITS = pytest.mark.parametrize(
    "config_overrides,template_limit,message",
    [
        ({"max_task_duration_sec": 600}, 2, TEMPLATE_MESSAGE),
        ({"max_task_duration_sec": 2}, None, GLOBAL_MESSAGE),
    ],
    ids=["template", "global"],
)


def _task(task_id: int) -> Task:
    db.session.expire_all()
    return db.session.get(Task, task_id)


def _output(task_id: int) -> list[str]:
    db.session.expire_all()
    return [line.output for line in task_output.read_lines(task_id)]


def _process_group(marker: str) -> str:
    """The process group of the process whose command line holds the marker (ps)."""
    pid = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
    assert len(pid) == 1, pid
    ps = ["ps", "-o", "pgid=", "-p", pid[0]]
    return subprocess.run(ps, capture_output=True, text=True).stdout.strip()


def _group_alive(pgid: str) -> bool:
    """Whether a process of the group still runs (ps). A zombie runs nothing: the sandbox's
    init, orphaned once bwrap has its status, waits there for the host's init to reap it."""
    states = subprocess.run(["ps", "-o", "stat=", "-g", pgid], capture_output=True, text=True)
    return any(not state.startswith("Z") for state in states.stdout.split())


@LIMITS
def test_a_task_past_its_limit_ends_error_its_processes_gone_and_mailed(
    app,
    processes,
    mailbox,  # noqa: F811
    tmp_path,
    template_limit,
    message,
):
    marker = sleep_marker()
    owner = factories.user(alert=True)
    project = factories.project(name="Shop", alert=True, members={owner: "owner"})
    repo = factories.git_repository(tmp_path / "scripts", {"sleep.sh": sleep_script(marker)})
    repository = factories.repository(project=project, git_url=f"file://{repo}", git_branch="main")
    template = factories.template(
        project=project,
        name="Nightly",
        app="bash",
        playbook="sleep.sh",
        repository_id=repository.id,
        inventory_id=None,
        max_task_duration_sec=template_limit,
    )
    task = tasks.create_task(project_access(owner, project.id), {"template_id": template.id})
    processes.worker(
        SEMAPHORE_EMAIL_ALERT="true",
        SEMAPHORE_EMAIL_HOST="127.0.0.1",
        SEMAPHORE_EMAIL_PORT=str(mailbox.port),
        SEMAPHORE_EMAIL_SENDER="semaphore@example.com",
    )
    _wait_for(lambda: "started" in _output(task.id), 60)
    group = _process_group(marker)
    assert _group_alive(group)

    _wait_for(lambda: _task(task.id).status not in ("running", "stopping"), 10)
    done = _task(task.id)
    assert done.status == "error"
    assert (done.end - done.start).total_seconds() < 6
    assert not _group_alive(group) and not running(marker)
    lines = _output(task.id)
    assert "never" not in lines
    # The run's last line; the mail's own record may follow it.
    after = lines[lines.index(message) + 1 :]
    assert all(line.startswith("Sent the e-mail notification") for line in after), lines
    assert done.message == message

    _wait_for(lambda: mailbox.to(owner.email), 30)
    (delivery,) = mailbox.deliveries
    assert delivery.message["Subject"] == "Task 'Nightly' failed"
    assert message in delivery.message.get_body(preferencelist=("plain",)).get_content()


def test_a_wait_for_confirmation_counts_and_ends_error(
    app,
    terraform_repo,  # noqa: F811
    stub_log,  # noqa: F811
):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    template = _terraform_template(project, terraform_repo, "prod")
    template.max_task_duration_sec = 2
    db.session.commit()
    task = tasks.create_task(project_access(owner, project.id), {"template_id": template.id})
    runtime.set_app(app)
    job = threading.Thread(target=run_task, args=(task.id,))
    job.start()
    _wait_for(lambda: _task(task.id).status == "waiting_confirmation", 30)
    waiting = time.monotonic()
    job.join(timeout=10)
    assert not job.is_alive()
    assert time.monotonic() - waiting < 3
    assert _task(task.id).status == "error"
    assert _output(task.id)[-1] == TEMPLATE_MESSAGE
