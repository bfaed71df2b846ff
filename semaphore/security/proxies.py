"""Which address a request comes from when reverse proxies stand in front of the app.

Only a proxy the administrator lists in `trusted_proxies` may say whom it forwards for:
anybody else's X-Forwarded-For or X-Real-IP is the client's own claim and is ignored, or it
could dodge the per-address login limit and pin failures on other people's addresses.
X-Forwarded-For is read from the right, as werkzeug's ProxyFix and nginx's `real_ip_recursive`
do: each trusted proxy appends the address it was connected from, so the first address that is
not a trusted proxy is the client (anything to its left was written by the client).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.cache
def networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    """The parsed `trusted_proxies` (validated when the config was loaded)."""
    return tuple(ipaddress.ip_network(text, strict=False) for text in trusted)


def parse_address(text: str) -> Address | None:
    """An IP address from a header or REMOTE_ADDR, with an optional port; None if it is not."""
    text = text.strip()
    if text.startswith("["):  # [2001:db8::1]:8080
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # 192.0.2.1:8080
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: Address | None, trusted: Iterable[Network]) -> bool:
    return address is not None and any(address in network for network in trusted)


def client_address(
    peer: str,
    forwarded_for: str | None,
    real_ip: str | None,
    trusted: tuple[Network, ...],
) -> str:
    """The client's address: `peer` itself unless it is a trusted proxy, and then the nearest
    address in X-Forwarded-For that is not a trusted proxy (else X-Real-IP)."""
    peer_address = parse_address(peer)
    if not trusted or not is_trusted(peer_address, trusted):
        return str(peer_address) if peer_address is not None else peer
    if forwarded_for:
        nearest = peer_address
        for hop in reversed(forwarded_for.split(",")):
            address = parse_address(hop)
            if address is None:
                break  # a malformed entry: what is left of it is nobody's word
            nearest = address
            if not is_trusted(address, trusted):
                break
        return str(nearest)
    address = parse_address(real_ip or "")
    return str(address if address is not None else peer_address)
