"""Whose address a request is (issue 15): X-Forwarded-For and X-Real-IP are believed only from
a peer in `trusted_proxies`, so a client cannot choose the address its failed logins count
against, nor pin them on somebody else's."""

from __future__ import annotations

import pytest

from semaphore.config import load_config
from semaphore.errors import ConfigError
from semaphore.security.proxies import client_address, networks
from semaphore.services.auth import login as auth
from tests import factories

PROXIES = networks(("10.0.0.0/8", "192.0.2.1"))


@pytest.mark.parametrize(
    "peer,forwarded_for,real_ip,expected",
    [
        # No trusted proxy: the peer, whatever the headers say.
        ("203.0.113.5", "198.51.100.1", "198.51.100.2", "203.0.113.5"),
        # A trusted proxy: the nearest address it forwards for that is not a proxy itself.
        ("10.1.1.1", "198.51.100.1", None, "198.51.100.1"),
        ("10.1.1.1", "6.6.6.6, 198.51.100.1, 10.2.2.2", None, "198.51.100.1"),
        ("192.0.2.1", "198.51.100.1:4711", None, "198.51.100.1"),
        ("10.1.1.1", "[2001:db8::7]:443", None, "2001:db8::7"),
        # All proxies: the farthest one.
        ("10.1.1.1", "10.3.3.3, 10.2.2.2", None, "10.3.3.3"),
        # Junk to the left of a real address is the client's own writing.
        ("10.1.1.1", "not-an-ip, 198.51.100.1", None, "198.51.100.1"),
        ("10.1.1.1", "198.51.100.1, junk", None, "10.1.1.1"),
        # X-Real-IP when there is no X-Forwarded-For.
        ("10.1.1.1", None, "198.51.100.9", "198.51.100.9"),
        ("10.1.1.1", None, "nonsense", "10.1.1.1"),
        ("10.1.1.1", None, None, "10.1.1.1"),
        ("::ffff:10.1.1.1", "198.51.100.1", None, "198.51.100.1"),
    ],
)
def test_client_address(peer, forwarded_for, real_ip, expected):
    assert client_address(peer, forwarded_for, real_ip, PROXIES) == expected


def test_nobody_is_trusted_by_default():
    assert client_address("127.0.0.1", "198.51.100.1", "198.51.100.2", networks(())) == (
        "127.0.0.1"
    )


def test_trusted_proxies_is_a_json_list_of_addresses_or_networks(tmp_path):
    environ = {"SEMAPHORE_DATA_DIR": str(tmp_path)}
    assert load_config(environ=environ, use_file=False).trusted_proxies == ()
    config = load_config(
        environ={**environ, "SEMAPHORE_TRUSTED_PROXIES": '["10.0.0.1/8", "::1", "192.0.2.7"]'},
        use_file=False,
    )
    assert config.trusted_proxies == ("10.0.0.0/8", "::1/128", "192.0.2.7/32")
    for bad in ('["proxy.example.com"]', '"10.0.0.1"', "[1]"):
        with pytest.raises(ConfigError, match="trusted_proxies"):
            load_config(environ={**environ, "SEMAPHORE_TRUSTED_PROXIES": bad}, use_file=False)


def _login(client, username: str, password: str, **headers: str):
    return client.post(
        "/api/auth/login", json={"auth": username, "password": password}, headers=headers
    )


def test_a_spoofed_x_real_ip_is_not_the_session_address(app, client):
    user = factories.user()
    _login(client, user.username, factories.DEFAULT_PASSWORD, **{"X-Real-IP": "198.51.100.1"})
    (listed,) = client.get("/api/user/sessions").get_json()
    assert listed["ip"] == "127.0.0.1"


@pytest.mark.parametrize("config_overrides", [{"trusted_proxies": ("127.0.0.1/32",)}])
def test_behind_a_trusted_proxy_each_client_has_its_own_address(app, client, config):
    user = factories.user()
    _login(client, user.username, factories.DEFAULT_PASSWORD, **{"X-Forwarded-For": "198.51.100.1"})
    (listed,) = client.get("/api/user/sessions").get_json()
    assert listed["ip"] == "198.51.100.1"

    # One client spraying many accounts through the proxy stops only itself.
    ceiling = config.login_max_failures * auth.ACCOUNTS_PER_ADDRESS
    sprayer = {"X-Forwarded-For": "198.51.100.66"}
    for n in range(ceiling):
        assert _login(client, f"nobody{n}", "wrong", **sprayer).status_code == 401
    assert _login(client, user.username, factories.DEFAULT_PASSWORD, **sprayer).status_code == 429
    neighbour = {"X-Forwarded-For": "198.51.100.67"}
    assert _login(client, user.username, factories.DEFAULT_PASSWORD, **neighbour).status_code == 204
