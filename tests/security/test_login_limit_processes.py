"""The failed-login limit lives in Redis, so two web processes enforce one count."""

from __future__ import annotations

import pytest
import requests

from tests import factories

pytestmark = pytest.mark.single_db


def test_failures_on_two_web_processes_add_up(app, config, processes):
    factories.user(username="target")
    first, second = processes.web(), processes.web()

    def attempt(address: str, password: str) -> requests.Response:
        return requests.post(
            f"http://{address}/api/auth/login",
            json={"auth": "target", "password": password},
            timeout=10,
        )

    # Alternate between the processes: neither alone sees the limit's worth of failures.
    for n in range(config.login_max_failures):
        assert attempt((first, second)[n % 2], "wrong").status_code == 401
    for address in (first, second):
        locked = attempt(address, factories.DEFAULT_PASSWORD)
        assert locked.status_code == 429, address
        assert int(locked.headers["Retry-After"]) > 0
