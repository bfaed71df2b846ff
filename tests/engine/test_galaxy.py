"""ansible-galaxy requirements, installed for real from a local git repository and a tarball.

(Galaxy's servers cannot be reached here.) A recording wrapper in front of the real
ansible-galaxy gives the exact argv, which must be the original's.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from semaphore.engine.spec import InventorySpec
from tests.engine.conftest import STUBS, git, leftovers, run_task, stub_calls, task

pytestmark = pytest.mark.single_db

LOCAL = "localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n"
PLAYBOOK = """\
- hosts: all
  gather_facts: false
  roles:
    - gitrole
    - testns.tools.hello
"""


@pytest.fixture(scope="session")
def collection_tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """testns.tools 1.0.0 with a role `hello`, built by ansible-galaxy."""
    root = tmp_path_factory.mktemp("collection")
    source = root / "src"
    (source / "roles" / "hello" / "tasks").mkdir(parents=True)
    (source / "galaxy.yml").write_text(
        "namespace: testns\nname: tools\nversion: 1.0.0\nreadme: README.md\nauthors: [test]\n"
    )
    (source / "README.md").write_text("test collection\n")
    (source / "roles" / "hello" / "tasks" / "main.yml").write_text(
        "- ansible.builtin.debug:\n    msg: hello from the collection tarball\n"
    )
    subprocess.run(
        [str(Path(sys.executable).parent / "ansible-galaxy"), "collection", "build"]
        + ["--output-path", str(root)],
        cwd=source,
        check=True,
        capture_output=True,
    )
    return root / "testns-tools-1.0.0.tar.gz"


def test_roles_and_collections_are_installed_as_the_original_does(
    make_repo, settings, collection_tarball
) -> None:
    role = make_repo(
        {
            "tasks/main.yml": "- ansible.builtin.debug:\n    msg: hello from the git role\n",
            "meta/main.yml": "galaxy_info:\n  author: test\n  description: test\n",
        }
    )
    repo = make_repo(
        {
            "site.yml": PLAYBOOK,
            "roles/requirements.yml": f"- src: git+{role.url}\n  name: gitrole\n  version: main\n",
            "collections/requirements.yml": (
                f"collections:\n  - name: {collection_tarball}\n    type: file\n"
            ),
        }
    )
    settings = replace(
        settings,
        server_env={
            **settings.server_env,
            "PATH": f"{STUBS / 'galaxy'}:{settings.server_env['PATH']}",
        },
        # Galaxy runs in the sandbox: local sources are shown to it, as an admin would
        # (task_sandbox_paths); Galaxy's servers and git hosts are reached over the network.
        sandbox_paths=(*settings.sandbox_paths, str(collection_tarball.parent), str(role.bare)),
    )
    inventory = InventorySpec(type="static", inventory=LOCAL)
    spec = task(repo.url, app="ansible", script="site.yml", inventory=inventory)
    first = run_task(spec, settings)
    assert first.result.status == "success", first.output
    assert "hello from the git role" in first.output
    assert "hello from the collection tarball" in first.output

    checkout = Path(settings.tmp_path) / "repository_3_7"
    assert [(c["argv"], c["cwd"]) for c in stub_calls(settings)] == [
        (
            ["collection", "install", "-r", f"{checkout}/collections/requirements.yml", "--force"],
            str(checkout),
        ),
        (["role", "install", "-r", f"{checkout}/roles/requirements.yml", "--force"], str(checkout)),
    ]
    assert f"No {checkout}/requirements.yml file found. Skip galaxy install process." in first.lines
    for name in ("collections/requirements.yml", "roles/requirements.yml"):
        digest = hashlib.md5((checkout / name).read_bytes()).hexdigest()
        assert (checkout / f"{name}.md5").read_text() == digest

    # Unchanged requirements: skipped, as the original does (by MD5).
    second = run_task(replace(spec, task_id=2), settings)
    assert second.result.status == "success", second.output
    assert len(stub_calls(settings)) == 2
    assert (
        f"{checkout}/roles/requirements.yml has no changes. Skip galaxy install process."
        in second.lines
    )

    # A changed file is installed again.
    repo.commit({"roles/requirements.yml": f"- src: git+{role.url}\n  name: gitrole\n"}, "edit")
    third = run_task(replace(spec, task_id=3), settings)
    assert third.result.status == "success", third.output
    assert [c["argv"][0] for c in stub_calls(settings)[2:]] == ["role"]
    assert git("log", "-1", "--format=%s", cwd=checkout) == "edit"
    assert leftovers(settings) == []
