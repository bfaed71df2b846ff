"""Every model, imported here so that metadata and Alembic see all tables."""

from semaphore.models.access_key import KEY_TYPES, AccessKey
from semaphore.models.audit import AUDIT_KINDS, AuditEvent
from semaphore.models.base import Base, isoformat, utcnow
from semaphore.models.environment import Environment
from semaphore.models.event import Event
from semaphore.models.integration import (
    Integration,
    IntegrationAlias,
    IntegrationDelivery,
    IntegrationDeliveryOutcome,
    IntegrationExtractValue,
    IntegrationMatcher,
)
from semaphore.models.inventory import INVENTORY_TYPES, Inventory
from semaphore.models.project import ROLES, Project, ProjectUser
from semaphore.models.repository import Repository
from semaphore.models.runner import Option, Runner
from semaphore.models.schedule import Schedule
from semaphore.models.task import FINISHED_STATUSES, TASK_STATUSES, Task, TaskOutputChunk
from semaphore.models.template import (
    APPS,
    TEMPLATE_TYPES,
    Template,
    TemplateEnvironment,
    TemplateVault,
)
from semaphore.models.user import APIToken, RecoveryCode, Session, User, UserTotp
from semaphore.models.view import View

__all__ = [
    "APPS",
    "AUDIT_KINDS",
    "FINISHED_STATUSES",
    "INVENTORY_TYPES",
    "KEY_TYPES",
    "ROLES",
    "TASK_STATUSES",
    "TEMPLATE_TYPES",
    "APIToken",
    "AccessKey",
    "AuditEvent",
    "Base",
    "Environment",
    "Event",
    "Integration",
    "IntegrationAlias",
    "IntegrationDelivery",
    "IntegrationDeliveryOutcome",
    "IntegrationExtractValue",
    "IntegrationMatcher",
    "Inventory",
    "Option",
    "Project",
    "RecoveryCode",
    "ProjectUser",
    "Repository",
    "Runner",
    "Schedule",
    "Session",
    "Task",
    "TaskOutputChunk",
    "Template",
    "TemplateEnvironment",
    "TemplateVault",
    "User",
    "UserTotp",
    "View",
    "isoformat",
    "utcnow",
]
