"""Finding the tools we run: on PATH, else beside the Python running us (the venv's bin)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def find_executable(name: str) -> str | None:
    """The full path of a program, or None when it is not installed."""
    return shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
