"""The closed sets of names a request may give (apps, kinds of environment secret), without
pydantic: the services branch on them too, in processes that never validate a body (the
worker and the scheduler; issue 17)."""

from __future__ import annotations

from semaphore.models import APPS

# pulumi is a constant of the original with no runner behind it, so it is refused.
VALID_APPS = tuple(app for app in APPS if app != "pulumi")
TERRAFORM_APPS = ("terraform", "tofu", "terragrunt")
# An environment secret sets an extra variable (`var`) or an environment variable (`env`).
SECRET_TYPES = ("var", "env")
