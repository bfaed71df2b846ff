"""The facts every notification carries, read once from the database for all channels."""

from __future__ import annotations

from dataclasses import dataclass

from semaphore.config import Config
from semaphore.extensions import db
from semaphore.models import Project, Task, Template, User
from semaphore.models.task import incoming_version

# The original's status formatting: emoji, then the status in capitals, with no space.
STATUS_EMOJI = {
    "error": "❌",
    "success": "✅",
    "stopped": "⏹️",
    "waiting_confirmation": "⚠️",
}
STATUS_VERBS = {
    "error": "failed",
    "success": "succeeded",
    "stopped": "was stopped",
    "waiting_confirmation": "is waiting for confirmation",
}
NO_AUTHOR = "—"
# A test notification travels as a pseudo-task, as the original's SendProjectTestAlerts does:
# task #0 of a template of this name, reported as a success.
TEST_TEMPLATE_NAME = "Test notification"
TEST_STATUS = "success"
# A deploy task's build is found through its chain of build tasks; a cycle must not hang us.


@dataclass(frozen=True)
class TaskMessage:
    """One task's status change, as every channel words it."""

    project_id: int
    project_name: str
    alert_chat: str
    template_id: int
    template_name: str
    task_id: int
    status: str
    author: str
    version: str
    description: str
    url: str
    # True for the message `build_test_message` builds; it only changes the headline.
    test: bool = False

    @property
    def result(self) -> str:
        """The status as the original shows it: `❌ERROR`, `✅SUCCESS`, …"""
        return STATUS_EMOJI.get(self.status, "") + self.status.upper()

    @property
    def headline(self) -> str:
        """One line naming the project, template, task and outcome."""
        if self.test:
            return _test_sentence(self.project_name, self.author)
        verb = STATUS_VERBS.get(self.status, self.status)
        return (
            f"{self.project_name} / {self.template_name}: task #{self.task_id} {verb} "
            f"({self.result})"
        )

    @property
    def link_is_absolute(self) -> bool:
        """False when web_host is not configured and the link is only a path."""
        return self.url.startswith(("http://", "https://"))


def task_url(config: Config, project_id: int, task_id: int) -> str:
    """Our task page (the original links its template page with ?t=<task>)."""
    return f"{config.web_host.rstrip('/')}/project/{project_id}/tasks/{task_id}"


def _test_sentence(project_name: str, requester: str) -> str:
    """What a test notification says, naming the project and who asked for it."""
    return f"Test notification from Semaphore for project {project_name}, requested by {requester}"


def build_test_message(config: Config, project: Project, requester: User | None) -> TaskMessage:
    """The test notification of `project`, asked for by `requester` (None: the system).

    It links the project's Activity page, where the outcome of each channel is recorded.
    """
    author = (requester.name or requester.username) if requester is not None else NO_AUTHOR
    return TaskMessage(
        project_id=project.id,
        project_name=project.name,
        alert_chat=project.alert_chat or "",
        template_id=0,
        template_name=TEST_TEMPLATE_NAME,
        task_id=0,
        status=TEST_STATUS,
        author=author,
        version="",
        description=_test_sentence(project.name, author),
        url=f"{config.web_host.rstrip('/')}/project/{project.id}/activity",
        test=True,
    )


def build_message(config: Config, task: Task, project: Project, status: str) -> TaskMessage:
    """The message for `task` having reached `status`."""
    template = db.session.get(Template, task.template_id)
    author = db.session.get(User, task.user_id) if task.user_id is not None else None
    return TaskMessage(
        project_id=project.id,
        project_name=project.name,
        alert_chat=project.alert_chat or "",
        template_id=task.template_id,
        template_name=template.name if template else "",
        task_id=task.id,
        status=status,
        author=author.name if author else NO_AUTHOR,
        version=_version(task, template),
        description=task.message or "",
        url=task_url(config, project.id, task.id),
    )


def _version(task: Task, template: Template | None) -> str:
    """The task's own version; for a build or deploy task without one, `build <version>` of
    the build it deploys (as the original's alertInfos)."""
    if task.version:
        return task.version
    if template is None or not template.type:
        return ""
    incoming = incoming_version(db.session, task)
    return f"build {incoming}" if incoming else ""
