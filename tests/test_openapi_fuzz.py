"""Property-based run from our own generated document (GET /api/openapi.json), beside the run
from the original's contract (tests/test_contract_fuzz.py): generated requests to every
operation we declare get no 5xx, and every answer we declare matches its declared schema.

The same bounds as the contract run: one test per operation on a fresh database with the
seeded project, derandomized, SEMAPHORE_FUZZ_EXAMPLES examples per operation.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from pathlib import Path

import pytest

MAX_EXAMPLES = int(os.environ.get("SEMAPHORE_FUZZ_EXAMPLES", "30"))
# What the contract run leaves out too: tasks start real runs, logout ends the session, the
# WebSocket and OIDC redirects are not JSON operations; our additions for sign-in factors and
# sessions would lock the seeded admin out of the run.
_OUT_OF_SCOPE = re.compile(
    r"tasks|runners?|/ws$|oidc|notifications|auth/(logout|verify|recovery)|/user/2fa"
    r"|/user/sessions|/api/docs$"
)
_DESTRUCTIVE = {("DELETE", "/api/project/{project_id}"), ("DELETE", "/api/users/{user_id}")}


@functools.cache
def generated_document() -> dict:
    """Our document, from an app built once for collection (routes do not depend on config)."""
    from semaphore import create_app
    from tests.conftest import make_config

    data_dir = Path(tempfile.mkdtemp(prefix="openapi-fuzz-"))
    app = create_app(
        make_config(data_dir, f"sqlite:///{data_dir}/db.sqlite", "redis://127.0.0.1:1/0")
    )
    return app.test_client().get("/api/openapi.json").get_json()


@functools.cache
def schema():
    import schemathesis

    return schemathesis.openapi.from_dict(generated_document())


def _params() -> list:
    found = []
    for path, item in generated_document()["paths"].items():
        if _OUT_OF_SCOPE.search(path):
            continue
        for method in ("get", "post", "put", "delete", "patch"):
            if method in item and (method.upper(), path) not in _DESTRUCTIVE:
                found.append(pytest.param(method.upper(), path, id=f"{method.upper()} {path}"))
    return found


@pytest.mark.single_db
@pytest.mark.parametrize("method,path", _params())
def test_operation_honours_our_document(app, admin, method, path):
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    from semaphore.extensions import db
    from tests import fuzz_support

    seeded = fuzz_support.seed(admin)
    operation = schema()[path][method]
    wanted = set(seeded.path_parameters) & {p.name for p in operation.path_parameters}
    fixed = {name: seeded.path_parameters[name] for name in wanted}
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed),
        operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=fixed),
    )
    headers = {"Authorization": f"Bearer {seeded.token}"}

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        with app.app_context():
            response = case.call(app=app, headers=headers)
        db.session.expire_all()
        case.validate_response(
            response, checks=[not_a_server_error, response_schema_conformance], headers=headers
        )

    run()
