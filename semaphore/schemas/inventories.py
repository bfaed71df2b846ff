"""An inventory: what a request gives and what the API shows.

What `inventory` holds depends on the type: the hosts (static INI or YAML, kept as given), a
file path inside the task's working directory (so no absolute path and no '..' climbing out),
or a Terraform workspace name (it reaches `terraform workspace select` as one argument).
`tofu-workspace` exists in the original as a constant only, and its API refuses it. Whether the
keys and the repository exist in the project is the service's to check.
"""

from __future__ import annotations

import posixpath
import re

from pydantic import Field, ValidationInfo, field_validator, model_validator

from semaphore.models import INVENTORY_TYPES
from semaphore.schemas.base import InputModel, JsonInt, Name, OutputModel, Text, invalid, list_of

MAX_INVENTORY = 1024 * 1024
MAX_PATH = 1024
# Types whose `inventory` is one short value (a path, a workspace name), trimmed.
_SHORT_CONTENT = ("file", "terraform-workspace")
_WORKSPACE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")

InventoryType = Text(32, required=True)
# Its length and trimming depend on the type: see InventoryIn._content.
Content = Text(None, strip=False)


def file_path_problem(path: str) -> str | None:
    """Why a file inventory's path is refused (absolute, or climbing out with '..'), or None."""
    absolute = path.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", path)
    normal = posixpath.normpath(path.replace("\\", "/"))
    if absolute or normal == ".." or normal.startswith("../") or "\x00" in path:
        return "Invalid inventory file pathname. Must be: path/to/inventory."
    return None


class InventoryIn(InputModel):
    """POST and PUT …/inventory (never holder_id, which only a terraform template sets)."""

    # The original's body carries the ids too; the service checks they match the URL's.
    id: JsonInt | None = None
    project_id: JsonInt | None = None
    name: Name
    type: InventoryType
    # Checked when absent too: a file inventory needs its path.
    inventory: Content = Field(default="", validate_default=True)
    ssh_key_id: JsonInt | None = None
    become_key_id: JsonInt | None = None
    repository_id: JsonInt | None = None

    @field_validator("type")
    @classmethod
    def _type(cls, inventory_type: str) -> str:
        # tofu-workspace is refused by _refused, with the original's words.
        if inventory_type not in (*INVENTORY_TYPES, "tofu-workspace"):
            raise invalid(f"type must be one of {', '.join(INVENTORY_TYPES)}")
        return inventory_type

    @field_validator("inventory")
    @classmethod
    def _content(cls, content: str, info: ValidationInfo) -> str:
        inventory_type = info.data.get("type")
        if inventory_type not in _SHORT_CONTENT:
            if len(content) > MAX_INVENTORY:
                raise invalid(f"must be at most {MAX_INVENTORY} characters")
            return content
        content = content.strip()
        if len(content) > MAX_PATH:
            raise invalid(f"must be at most {MAX_PATH} characters")
        if inventory_type == "file" and not content:
            raise invalid("inventory is required: the path of the inventory file")
        if inventory_type == "terraform-workspace" and not _WORKSPACE.match(content):
            raise invalid("inventory must be a workspace name (letters, digits, '_', '.', '-')")
        return content

    @model_validator(mode="after")
    def _refused(self) -> InventoryIn:
        # Here, not in the field validators: a field's own errors start with its name.
        if self.type == "tofu-workspace":
            raise invalid("Inventory type tofu-workspace is not supported", "type")
        problem = self.type == "file" and file_path_problem(self.inventory)
        if problem:
            raise invalid(problem, "inventory")
        return self


class InventoryOut(OutputModel):
    """An inventory as the original shows it (holder_id included, read-only)."""

    id: int
    name: str
    project_id: int
    inventory: str
    ssh_key_id: int | None
    become_key_id: int | None
    repository_id: int | None
    type: str
    holder_id: int | None


InventoryList = list_of(InventoryOut)
