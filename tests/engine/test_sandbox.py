"""The task sandbox: a run sees its own files and the tools, never the server's or others'.

Real bubblewrap, real scripts: a project manager's bash task probes what a hostile script
would read, through the API, the RQ job and the engine as in production; local repositories
are allowed only under the configured roots, when saved and when run.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from semaphore.engine import sandbox
from semaphore.engine.spec import EngineSettings
from semaphore.extensions import db
from semaphore.jobs import runtime
from semaphore.jobs.tasks import run_task
from semaphore.models import Task
from semaphore.services import tasks
from semaphore.services.permissions import project_access
from semaphore.services.tasks import output as task_output
from tests import factories
from tests.engine.conftest import leftovers, task
from tests.engine.conftest import run_task as run_engine

# Each path given as an argument: `ls` a directory, `cat` anything else; one line per path.
PROBE = """\
for path in "$@"; do
  if [ -d "$path" ]; then out=$(ls -A "$path" 2>&1); else out=$(cat "$path" 2>&1); fi
  if [ $? -eq 0 ]; then echo "READ $path: $out"; else echo "DENIED $path: $out"; fi
done
echo "caps: $(grep CapEff /proc/self/status)"
echo "own checkout: $(head -c 3 probe.sh)"
echo "home: $(echo written > "$HOME/note" && cat "$HOME/note")"
"""
DENIED = ("No such file or directory", "Permission denied")


def _probe_results(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        for verdict in ("READ ", "DENIED "):
            if line.startswith(verdict):
                path, _, message = line.removeprefix(verdict).partition(": ")
                found[path] = f"{verdict.strip()}: {message}"
    return found


@pytest.fixture
def config_overrides(tmp_path) -> dict:
    # As in production (tmp_path /tmp/semaphore, data_dir ./data): apart from each other.
    config_file = tmp_path / "etc" / "config.json"
    config_file.parent.mkdir()
    config_file.write_text('{"cookie_hash": "..."}\n')
    return {"tmp_path": str(tmp_path / "semaphore-tmp"), "config_file": str(config_file)}


def _bash_template(project, directory: Path, script: str, arguments: list[str] = ()):
    factories.git_repository(directory, {"probe.sh": script})
    repository = factories.repository(
        project=project, git_url=f"file://{directory}", git_branch="main"
    )
    return factories.template(
        project=project,
        app="bash",
        playbook="probe.sh",
        repository_id=repository.id,
        inventory_id=None,
        arguments=json.dumps(list(arguments)),
    )


def _run(app, user, template) -> tuple[str, list[str]]:
    started = tasks.create_task(
        project_access(user, template.project_id), {"template_id": template.id}
    )
    runtime.set_app(app)
    run_task(started.id)  # what the worker runs for this job
    db.session.expire_all()
    lines = [line.output for line in task_output.read_lines(started.id)]
    return db.session.get(Task, started.id).status, lines


def test_a_managers_task_cannot_read_the_servers_or_other_projects_files(app, config, tmp_path):
    # The other project ran first: its checkout and its home are on disk.
    other_owner = factories.user()
    other = factories.project(members={other_owner: "owner"})
    other_script = 'echo "other secret" > "$HOME/other-home-secret"\necho done\n'
    other_template = _bash_template(other, tmp_path / "other-repo", other_script)
    assert _run(app, other_owner, other_template)[0] == "success"
    tmp = Path(config.tmp_path)
    other_checkout = tmp / f"repository_{other_template.repository_id}_{other_template.id}"
    assert (other_checkout / "probe.sh").exists()
    other_home = tmp / f"home_{other.id}"
    assert (other_home / "other-home-secret").exists()

    # The server's own secrets exist on disk.
    data_dir = Path(config.data_dir)
    (data_dir / "secrets.json").write_text('{"access_key_encryption": "the key"}\n')
    database = config.database_url.removeprefix("sqlite:///")
    targets = [
        str(data_dir),
        str(data_dir / "secrets.json"),
        config.config_file,
        "/etc/shadow",
        "/etc/gshadow",
        str(other_checkout),
        str(other_checkout / "probe.sh"),
        str(other_home / "other-home-secret"),
        *[str(p) for p in Path("/etc/ssh").glob("ssh_host_*_key")],
        # The server user's home: only PATH directories there (a pyenv) would show.
        *[p for p in ("/root/.ssh", "/root/.bashrc") if Path(p).exists()],
        *([database] if config.database_url.startswith("sqlite:") else []),
    ]
    for target in targets:
        assert Path(target).exists(), target  # each one is really there to be read

    manager = factories.user()
    project = factories.project(members={manager: "manager"})
    template = _bash_template(project, tmp_path / "probe-repo", PROBE, targets)
    status, lines = _run(app, manager, template)
    assert status == "success", lines
    results = _probe_results(lines)
    assert sorted(results) == sorted(targets)
    for target, result in results.items():
        assert result.startswith("DENIED") and any(d in result for d in DENIED), (target, result)
    assert "caps: CapEff:\t0000000000000000" in lines  # root in there can mount nothing
    assert "own checkout: for" in lines
    assert "home: written" in lines
    assert not (other_home / "note").exists()  # each project has a home of its own
    assert (tmp / f"home_{project.id}" / "note").read_text() == "written\n"


def test_local_repositories_only_under_the_configured_roots(app, tmp_path):
    manager = factories.user()
    project = factories.project(members={manager: "manager"})
    client = factories.api_client(app, manager)
    key = factories.key(project=project)
    url = f"/api/project/{project.id}/repositories"

    def create(git_url: str):
        body = {"name": "local", "git_url": git_url, "git_branch": "", "ssh_key_id": key.id}
        return client.post(url, json=body)

    # None configured (the default): no local repository at all.
    refused = create(str(tmp_path))
    assert refused.status_code == 400
    assert refused.get_json()["error"] == (
        "git_url: a local repository path must be under one of the directories in the "
        "server's local_repository_roots (none are configured)"
    )
    roots = tmp_path / "repos"
    (roots / "app").mkdir(parents=True)
    app.config["SEMAPHORE"] = app.config["SEMAPHORE"].with_overrides(
        local_repository_roots=(str(roots),)
    )
    for outside in ("/etc", str(tmp_path), f"{roots}/../data", f"{roots}-other/app"):
        response = create(outside)
        assert response.status_code == 400, outside
        assert "local_repository_roots" in response.get_json()["error"]
    created = create(f"{roots}/app")
    assert created.status_code == 201
    repository_id = created.get_json()["id"]
    changed = client.put(
        f"{url}/{repository_id}",
        json={"id": repository_id, "name": "local", "git_url": "/etc", "git_branch": "",
              "ssh_key_id": key.id, "project_id": project.id},
    )  # fmt: skip
    assert changed.status_code == 400
    assert "local_repository_roots" in changed.get_json()["error"]


def test_the_engine_refuses_a_local_repository_outside_the_roots_at_run_time(
    settings, tmp_path
) -> None:
    # Stored before the roots changed (or restored from a backup): refused when it runs.
    inside = tmp_path / "scripts"
    inside.mkdir()
    (inside / "run.sh").write_text("echo ran\n")
    escape = tmp_path / "escape"
    escape.symlink_to("/etc")
    for url in ("/etc", str(escape)):
        run = run_engine(task(url), settings)
        assert run.result.status == "error"
        assert run.lines[-1] == (
            f"Running app failed: the local repository {url} is not under a directory of "
            f"local_repository_roots ({tmp_path})"
        )
    assert run_engine(task(str(inside)), settings).lines[-1] == "ran"
    none = replace(settings, local_repository_roots=())
    assert "none are configured" in run_engine(task(str(inside)), none).lines[-1]


@pytest.mark.single_db
def test_server_files_stay_hidden_with_tmp_path_inside_the_data_directory(make_repo, tmp_path):
    # The tests' own layout (tmp_path = <data_dir>/tmp): the directories leading to the run's
    # files exist in the sandbox, nothing else of the data directory does.
    data = tmp_path / "data"
    (data / "tmp").mkdir(parents=True)
    (data / "secrets.json").write_text("{}")
    (data / "semaphore.db").write_text("db")
    settings = EngineSettings(
        tmp_path=str(data / "tmp"),
        server_env={"PATH": "/usr/bin:/bin"},
        hidden_paths=(str(data),),
    )
    targets = [str(data / "secrets.json"), str(data / "semaphore.db")]
    repo = make_repo({"probe.sh": PROBE + f'echo "data: $(ls -A {data})"\n'})
    run = run_engine(task(repo.url, script="probe.sh", template={"arguments": targets}), settings)
    assert run.result.status == "success", run.output
    results = _probe_results(run.lines)
    assert all(r.startswith("DENIED") and "No such file" in r for r in results.values()), results
    assert "data: tmp" in run.lines
    assert leftovers(settings) == ["home_1/note"]  # what the script wrote; no mount point


@pytest.mark.single_db
def test_sandbox_off_runs_the_tool_on_the_host(make_repo, settings, tmp_path) -> None:
    secret = tmp_path / "host-only"
    secret.write_text("visible without the sandbox\n")
    repo = make_repo({"probe.sh": PROBE})
    spec = task(repo.url, script="probe.sh", template={"arguments": [str(secret)]})
    run = run_engine(spec, replace(settings, sandbox=False))
    assert run.result.status == "success", run.output
    assert f"READ {secret}: visible without the sandbox" in run.lines
    # The same run in the sandbox cannot see it.
    sandboxed = run_engine(replace(spec, task_id=2), settings)
    assert _probe_results(sandboxed.lines)[str(secret)].startswith("DENIED")


@pytest.mark.single_db
def test_without_bubblewrap_a_sandboxed_task_fails_with_a_clear_message(
    make_repo, settings, tmp_path, monkeypatch
) -> None:
    # Neither on the server's PATH nor in /usr/bin: as on a machine without the package.
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setattr(sandbox, "BWRAP_FALLBACK_PATH", str(empty))
    repo = make_repo({"run.sh": "echo ran\n"})
    no_bwrap = replace(settings, server_env={**settings.server_env, "PATH": str(empty)})
    run = run_engine(task(repo.url), no_bwrap)
    assert run.result.status == "error"
    assert run.lines[-1] == (
        "Running app failed: the task sandbox is on (task_sandbox) but bubblewrap is not "
        "installed: install the bubblewrap package, or set task_sandbox to false to run "
        "tasks unsandboxed"
    )
    assert "ran" not in run.lines
    assert leftovers(no_bwrap) == []


def test_the_system_mounts_are_computed_once_and_the_same_as_computed_afresh(tmp_path) -> None:
    # A worker computes them before it forks (jobs.tasks.warm_up); each run copies them.
    hidden = [str(tmp_path / "data")]
    (tmp_path / "data").mkdir()
    run = sandbox.RunPaths(tmp_path / "tmp", tmp_path / "tmp" / "home_1")
    box = sandbox.Sandbox("/usr/bin/bwrap", run, hidden=hidden)
    sandbox._system_cache.clear()
    first = box.arguments(["bash", "x.sh"], {"PATH": "/usr/bin:/bin"})
    assert len(sandbox._system_cache) == 1
    cached = next(iter(sandbox._system_cache.values()))
    again = box.arguments(["bash", "x.sh"], {"PATH": "/usr/bin:/bin"})
    assert again == first
    # Each run gets a copy: what a run adds never reaches the next one.
    assert next(iter(sandbox._system_cache.values())) is cached
    assert len(cached.args) < len(first)
    other = sandbox.Sandbox("/usr/bin/bwrap", run, hidden=[*hidden, "/etc/hosts"])
    assert "/etc/hosts" not in other.arguments(["bash"], {"PATH": "/usr/bin"})


def test_a_worker_warms_the_sandbox_before_it_forks(app) -> None:
    from semaphore.jobs.tasks import warm_up

    sandbox._system_cache.clear()
    sandbox._checked.clear()
    with app.app_context():
        warm_up()
    assert sandbox._checked and sandbox._system_cache


@pytest.mark.single_db
def test_a_tool_cannot_plant_git_hooks_or_config_that_git_would_run_outside(
    make_repo, settings, tmp_path
) -> None:
    # Git updates the checkout outside the sandbox: a hook or a config entry (core.fsmonitor)
    # a tool wrote into .git would run there, as the server's user, on the next update.
    marker = tmp_path / "hook-ran"
    script = f"""\
echo kept > output.txt && echo "checkout: writable"
if (printf '#!/bin/sh\\ntouch {marker}\\n' > .git/hooks/post-checkout) 2>/dev/null; then
  chmod +x .git/hooks/post-checkout; echo "hooks: written"
else echo "hooks: read-only"; fi
if git config core.fsmonitor "touch {marker}" 2>/dev/null; then echo "config: written"
else echo "config: read-only"; fi
"""
    repo = make_repo({"probe.sh": script})
    spec = task(repo.url, script="probe.sh")
    first = run_engine(spec, settings)
    assert first.result.status == "success", first.output
    assert "checkout: writable" in first.lines
    assert "hooks: read-only" in first.lines and "config: read-only" in first.lines
    second = run_engine(replace(spec, task_id=2), settings)  # an update of the same checkout
    assert second.result.status == "success", second.output
    assert not marker.exists()


def test_a_commands_tool_paths_are_kept_until_its_program_or_path_changes(
    tmp_path, monkeypatch
) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    program = tools / "deploy"
    program.write_text("#!/bin/sh\necho hi\n")
    program.chmod(0o755)
    searched: list[str] = []
    find = sandbox._find_tool_paths
    monkeypatch.setattr(sandbox, "_find_tool_paths", lambda p, d: searched.append(p) or find(p, d))
    run = sandbox.RunPaths(tmp_path / "tmp", tmp_path / "tmp" / "home_1")
    box = sandbox.Sandbox("/usr/bin/bwrap", run)
    env = {"PATH": f"{tools}:/usr/bin"}
    first = box.arguments(["deploy"], env)
    assert str(tools) in first
    assert box.arguments(["deploy"], env) == first
    assert len(searched) == 1
    # Another PATH, a venv's bin directory first, is looked at afresh.
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "bin" / "deploy").write_text("#!/bin/sh\necho venv\n")
    (venv / "bin" / "deploy").chmod(0o755)
    moved = {"PATH": f"{venv / 'bin'}:{tools}:/usr/bin"}
    assert str(venv) in box.arguments(["deploy"], moved)
    assert len(searched) == 2
    program.write_text("#!/usr/bin/env python3\n")  # the program itself changed
    changed = program.stat().st_mtime_ns + 10**9  # past the clock's coarse ticks
    os.utime(program, ns=(changed, changed))
    box.arguments(["deploy"], env)
    assert len(searched) == 3
