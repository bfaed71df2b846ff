"""Property-based run of the contract (schemathesis): generated requests to every implemented
operation must never get a 5xx, and documented 2xx answers must match their schemas.

Each operation is one test on a fresh database, seeded with a project that path parameters
point at. The run is bounded and derandomized so that it is repeatable and quick (about a
minute on two cores). To explore further while developing, set SEMAPHORE_FUZZ_SEED (random
generation from that seed, with shrinking) and SEMAPHORE_FUZZ_EXAMPLES (examples per operation).
"""

from __future__ import annotations

import os

import pytest

from tests.fuzz_support import operations_in_scope

MAX_EXAMPLES = int(os.environ.get("SEMAPHORE_FUZZ_EXAMPLES", "30"))
EXPLORE_SEED = os.environ.get("SEMAPHORE_FUZZ_SEED")


def _params() -> list:
    params = []
    for method, path in operations_in_scope():
        params.append(pytest.param(method, path, id=f"{method} {path}"))
    return params


@pytest.mark.single_db
@pytest.mark.parametrize("method,path", _params())
def test_operation_honours_the_contract(app, admin, method, path):
    # Imported here: schemathesis is slow to import, and only this test needs it.
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    from semaphore.extensions import db
    from tests import fuzz_support

    seeded = fuzz_support.seed(admin)
    operation = fuzz_support.schema()[path][method]
    wanted = set(seeded.path_parameters) & {p.name for p in operation.path_parameters}
    fixed = {name: seeded.path_parameters[name] for name in wanted}
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed),
        operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=fixed),
    )
    headers = {"Authorization": f"Bearer {seeded.token}"}

    @given(case=strategy, aligned=st.booleans())
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=EXPLORE_SEED is None,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate] + ([Phase.shrink] if EXPLORE_SEED else []),
        suppress_health_check=list(HealthCheck),
    )
    def run(case, aligned):
        if aligned:
            fuzz_support.align_body(case, seeded, method, path)
        # A fresh app context per request, as a real server has (see tests/contract.py).
        with app.app_context():
            response = case.call(app=app, headers=headers)
        db.session.expire_all()
        case.validate_response(
            response,
            checks=[
                not_a_server_error,
                response_schema_conformance,
                fuzz_support.repository_contract_check,
            ],
            headers=headers,
        )

    if EXPLORE_SEED:
        run = seed(int(EXPLORE_SEED))(run)
    run()
