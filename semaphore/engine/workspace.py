"""A task's files on disk: the task directory, 0600 secret files, and their removal.

Layout under tmp_path (0700), as the original's:
  repository_<repoID>_<templateID>/   the template's checkout, kept between runs
  inventory_<taskID>[.yml]            a static inventory, or the clone of an inventory repository
  task_<taskID>_<random>/             ours: secret files (extra vars, vault passwords), askpass
                                      helper, ssh-agent sockets; removed with everything above
                                      that belongs to the task when the run ends, in every outcome.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

# A unix socket path must fit in sockaddr_un.sun_path (108 bytes with its NUL); agent sockets
# and ssh ControlPath sockets (dir + 41 characters) are kept well below it.
MAX_SOCKET_DIR = 60


class Workspace:
    """The temporary files of one task run. Use as a context manager: exit removes them."""

    def __init__(self, tmp_path: str | Path, task_id: int) -> None:
        self.tmp_path = Path(tmp_path)
        self.task_id = task_id
        self._dir: Path | None = None
        self._socket_dir: Path | None = None
        self._owned: list[Path] = []

    def __enter__(self) -> Workspace:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def open(self) -> Workspace:
        """Create tmp_path (0700) and this task's private directory."""
        self.tmp_path.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkdtemp creates the directory 0700, so nothing in it is readable by other users.
        self._dir = Path(tempfile.mkdtemp(prefix=f"task_{self.task_id}_", dir=self.tmp_path))
        return self

    @property
    def dir(self) -> Path:
        if self._dir is None:
            raise RuntimeError("the workspace is not open")
        return self._dir

    def checkout_dir(self, repository_id: int, template_id: int) -> Path:
        """Where a template's repository is cloned; it outlives the run (fetched next time)."""
        return self.tmp_path / f"repository_{repository_id}_{template_id}"

    def inventory_path(self, suffix: str = "") -> Path:
        """<tmp_path>/inventory_<taskID><suffix>, removed when the run ends."""
        return self.own(self.tmp_path / f"inventory_{self.task_id}{suffix}")

    def own(self, path: Path) -> Path:
        """Remove this path (file or directory) when the run ends."""
        self._owned.append(path)
        return path

    def secret_file(self, name: str, content: str | bytes, mode: int = 0o600) -> Path:
        """Write a file only the server's user can read, created that way (no chmod race)."""
        path = self.dir / name
        data = content.encode() if isinstance(content, str) else content
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return path

    def socket_dir(self) -> Path:
        """A short private directory for unix sockets (ssh-agent, ssh ControlPath)."""
        if self._socket_dir is None:
            if len(str(self.dir)) <= MAX_SOCKET_DIR:
                self._socket_dir = self.dir
            else:
                self._socket_dir = self.own(Path(tempfile.mkdtemp(prefix="sem-", dir="/tmp")))
        return self._socket_dir

    def cleanup(self) -> None:
        """Remove every file of the run. Never raises: it runs in `finally` blocks."""
        for path in [*self._owned, *([self._dir] if self._dir else [])]:
            try:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            except OSError:
                pass
        self._owned.clear()
        self._dir = None
        self._socket_dir = None
