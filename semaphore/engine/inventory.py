"""Inventories: the file ansible gets with -i, or the workspace terraform selects.

* static: the INI text, written to <tmp_path>/inventory_<taskID> (0600: it may hold passwords);
* static-yaml: the same with `.yml`, so ansible picks its YAML parser;
* file: a path inside the template's checkout, or inside another repository cloned to
  <tmp_path>/inventory_<taskID>;
* terraform-workspace: a workspace name; ansible cannot use it.
All of it is removed when the run ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from semaphore.engine.errors import EngineError
from semaphore.engine.spec import InventorySpec, RepositorySpec
from semaphore.engine.workspace import Workspace

STATIC = "static"
STATIC_YAML = "static-yaml"
FILE = "file"
TERRAFORM_WORKSPACE = "terraform-workspace"

# Checks out an inventory repository into the given directory; returns where it is (a local
# repository is used in place).
CloneFunction = Callable[[RepositorySpec, Path], Path]


def install_inventory(
    inventory: InventorySpec, workspace: Workspace, checkout: Path, clone: CloneFunction
) -> str | None:
    """Put the inventory on disk; return ansible's -i value (None for a workspace name).

    Raises:
        EngineError: unknown type, or a file path leaving its repository.
    """
    if inventory.type in (STATIC, STATIC_YAML):
        path = workspace.inventory_path(".yml" if inventory.type == STATIC_YAML else "")
        write_private(path, inventory.inventory)
        return str(path)
    if inventory.type == FILE:
        if inventory.repository is not None:
            location = clone(inventory.repository, workspace.inventory_path())
            return str(inside(location, inventory.inventory))
        # Relative to the checkout, which is ansible's working directory: passed as written.
        inside(checkout, inventory.inventory)
        return inventory.inventory
    if inventory.type == TERRAFORM_WORKSPACE:
        return None
    raise EngineError(f"invalid inventory type: {inventory.type}")


def terraform_workspace(inventory: InventorySpec | None) -> str:
    """The workspace to select: a terraform-workspace inventory's value, else `default`."""
    if inventory is not None and inventory.type == TERRAFORM_WORKSPACE and inventory.inventory:
        return inventory.inventory
    return "default"


def inside(base: Path, relative: str) -> Path:
    """base/relative, refusing a path that leaves base (absolute, or through `..`).

    Raises:
        EngineError: the path escapes base.
    """
    if not relative or os.path.isabs(relative):
        raise EngineError(f"inventory file path must be relative to the repository: {relative!r}")
    root = base.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise EngineError(f"inventory file path leaves the repository: {relative!r}")
    return base / relative


def write_private(path: Path, content: str) -> None:
    """Write a file readable by the server's user only (created 0600, no chmod window)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    os.chmod(path, 0o600)  # an older file of the same name may have had other permissions
