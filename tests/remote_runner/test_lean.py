"""The runner loads no part of the server: no Flask, database, Redis or queue (checked in a
fresh interpreter, as `semaphore runner start` imports it)."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = [
    "flask", "sqlalchemy", "redis", "rq", "alembic", "psycopg", "pymysql", "semaphore.models",
    "semaphore.services", "semaphore.queue", "semaphore.api", "semaphore.web", "semaphore.jobs",
    "semaphore.scheduler", "semaphore.extensions", "semaphore.broker", "semaphore.database",
]  # fmt: skip
# What `semaphore runner start` loads before its loop runs, engine apps included.
CODE = """
import json, sys
from semaphore.cli import Context
from semaphore.remote_runner import commands, loop, job
from semaphore.engine.apps import get_app
config = Context(None, True, None).runner_config()
commands.engine_settings(config)
for name in ("ansible", "terraform", "bash", "python", "powershell"):
    get_app(name)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_modules(code: str, tmp_path) -> set[str]:
    env = {"PATH": "/usr/bin:/bin", "SEMAPHORE_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def unwanted(loaded: set[str]) -> list[str]:
    return sorted(
        name
        for name in FORBIDDEN
        if name in loaded or any(m.startswith(name + ".") for m in loaded)
    )


def test_the_runner_loads_nothing_of_the_server(tmp_path):
    loaded = loaded_modules(CODE, tmp_path)
    assert "semaphore.remote_runner.loop" in loaded and "requests" in loaded
    assert unwanted(loaded) == []
    assert not (tmp_path / "secrets.json").exists()


def test_the_check_sees_a_server_module(tmp_path):
    loaded = loaded_modules(CODE.replace("import json, sys", "import json, sys, flask"), tmp_path)
    assert unwanted(loaded) == ["flask"]
