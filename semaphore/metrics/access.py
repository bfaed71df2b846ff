"""Who may read GET /metrics: nobody until `metrics_token` or `metrics_allowed_networks` is set.

The metrics tell how busy the installation is and which projects run what (by id), so they
are never public by default. A scraper shows the token as `Authorization: Bearer <token>`, or
comes from an allowed network (its address as `trusted_proxies` makes it out); with both
settings, both must hold. A user's session or API token gives no access: a scraper is not a
user, and an administrator's token should not sit in a Prometheus config.
"""

from __future__ import annotations

import hmac

from semaphore.config import Config
from semaphore.errors import NotAuthenticated, NotFound, PermissionDenied
from semaphore.security import proxies

OFF = "Metrics are off: set metrics_token or metrics_allowed_networks to serve them"
BAD_TOKEN = "A valid metrics token is required (Authorization: Bearer <metrics_token>)"
BAD_ADDRESS = "Metrics are not served to this address (metrics_allowed_networks)"


def check_scraper(config: Config, authorization: str, address: str) -> None:
    """Pass, or refuse the scrape.

    Raises:
        NotFound: neither setting is given (metrics are off).
        PermissionDenied: the address is outside metrics_allowed_networks.
        NotAuthenticated: metrics_token is set and the request does not carry it.
    """
    if not config.metrics_token and not config.metrics_allowed_networks:
        raise NotFound(OFF)
    if config.metrics_allowed_networks:
        allowed = proxies.networks(config.metrics_allowed_networks)
        if not proxies.is_trusted(proxies.parse_address(address), allowed):
            raise PermissionDenied(BAD_ADDRESS)
    if config.metrics_token:
        scheme, _, token = authorization.partition(" ")
        given = token.strip().encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given, config.metrics_token.encode()
        ):
            raise NotAuthenticated(BAD_TOKEN)
