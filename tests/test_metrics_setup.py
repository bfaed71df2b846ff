"""The metrics settings, and the per-machine directory the processes count into: stale files
dropped at server start."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from semaphore import metrics
from semaphore.config import load_config
from semaphore.errors import ConfigError

pytestmark = pytest.mark.single_db


def _load(tmp_path, **environ: str):
    return load_config(environ={"SEMAPHORE_DATA_DIR": str(tmp_path), **environ}, use_file=False)


def test_metrics_settings_from_the_environment_and_the_file(tmp_path):
    defaults = _load(tmp_path)
    assert defaults.metrics_token == "" and defaults.metrics_allowed_networks == ()
    config = _load(
        tmp_path,
        SEMAPHORE_METRICS_TOKEN="scrape-token",
        SEMAPHORE_METRICS_ALLOWED_NETWORKS='["10.1.2.3/8", "192.0.2.7"]',
    )
    assert config.metrics_token == "scrape-token"
    assert config.metrics_allowed_networks == ("10.0.0.0/8", "192.0.2.7/32")
    assert "scrape-token" not in repr(config)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"metrics_allowed_networks": ["::1"], "metrics_token": "t"}))
    from_file = load_config(str(path), environ={"SEMAPHORE_DATA_DIR": str(tmp_path)})
    assert from_file.metrics_allowed_networks == ("::1/128",) and from_file.metrics_token == "t"


@pytest.mark.parametrize("value", ['["not-a-network"]', '"10.0.0.0/8"', "[1]"])
def test_a_bad_allowed_network_stops_the_start_naming_the_key(tmp_path, value):
    with pytest.raises(ConfigError) as refused:
        _load(tmp_path, SEMAPHORE_METRICS_ALLOWED_NETWORKS=value)
    assert "metrics_allowed_networks" in str(refused.value)


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_server_start_drops_the_files_of_processes_no_longer_running(tmp_path):
    live, dead = os.getpid(), _dead_pid()
    names = [
        f"counter_{live}.db",
        f"histogram_{live}h.db",
        f"gauge_livesum_{live}.db",
        f"counter_{dead}.db",
        f"histogram_{dead}h.db",
        f"gauge_livesum_{dead}.db",
        "notes.txt",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    removed = metrics.remove_stale_files(str(tmp_path))
    assert sorted(removed) == sorted(n for n in names if str(dead) in n)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        n for n in names if str(dead) not in n
    )


@pytest.mark.parametrize("command", ["server", "worker", "scheduler"])
def test_an_unusable_tmp_path_stops_the_start_with_a_message(tmp_path, command):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = {
        "PATH": os.environ["PATH"],
        "SEMAPHORE_DATA_DIR": str(tmp_path),
        "SEMAPHORE_TMP_PATH": str(blocker / "tmp"),  # under a file: no directory can be made
        "SEMAPHORE_DB_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "SEMAPHORE_REDIS_URL": "redis://127.0.0.1:1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "semaphore", "--no-config", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Error: cannot create the metrics directory" in done.stderr
    assert "Traceback" not in done.stderr
