"""Who may import whom (CONVENTIONS.md, section 2), checked on the code itself.

The layer contracts live in pyproject.toml ([tool.importlinter]) and import-linter checks them;
cycles are found here with grimp, the graph library import-linter is built on. Imports under
`if TYPE_CHECKING:` are left out: they never run. Both checks are also run on a copy of the
package with one forbidden import added, to show they can fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.single_db

ROOT = Path(__file__).resolve().parent.parent


CYCLES_SCRIPT = """
import json, grimp
graph = grimp.build_graph("semaphore", cache_dir=None, exclude_type_checking_imports=True)
cycles, seen = [], set()
for module in sorted(graph.modules):
    for imported in graph.find_modules_directly_imported_by(module):
        back = graph.find_shortest_chain(importer=imported, imported=module)
        if back and frozenset(back) not in seen:
            seen.add(frozenset(back))
            cycles.append([module, *back])
print(json.dumps(cycles))
"""


def import_cycles(tree: Path) -> list[list[str]]:
    """Every import cycle between the package's modules in `tree`, each as its chain.

    In a fresh interpreter, so that the copy's package is the one found, not ours.
    """
    result = subprocess.run(
        [sys.executable, "-c", CYCLES_SCRIPT],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(result.stdout)


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    lint = Path(sys.executable).with_name("lint-imports")
    environ = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(lint), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_layer_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_module_imports_itself_in_a_circle():
    assert import_cycles(ROOT) == []


@pytest.fixture(scope="module")
def tree_with_a_wrong_import(tmp_path_factory) -> Path:
    """A copy of the package in which a service imports a route module and, back again,
    the route module was already importing services: a layer break and a cycle at once."""
    tree = tmp_path_factory.mktemp("layers")
    shutil.copytree(
        ROOT / "semaphore", tree / "semaphore", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    service = tree / "semaphore" / "services" / "views.py"
    service.write_text(service.read_text() + "\nfrom semaphore.api import views as _api_views\n")
    return tree


def test_a_service_importing_a_route_module_breaks_the_layers(tree_with_a_wrong_import):
    result = lint_imports(tree_with_a_wrong_import)
    assert result.returncode != 0
    assert "semaphore.services.views -> semaphore.api.views" in result.stdout


def test_the_cycle_check_finds_a_cycle(tree_with_a_wrong_import):
    cycles = import_cycles(tree_with_a_wrong_import)
    assert any(
        "semaphore.services.views" in chain and "semaphore.api.views" in chain for chain in cycles
    )
