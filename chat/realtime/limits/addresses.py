"""The client's address: the TCP peer, or what a trusted proxy says it is.

`X-Forwarded-For` is read only when the peer is one of `TRUSTED_PROXIES`;
then the address is the right-most one in the header that is not itself a
trusted proxy (each proxy appends the address it saw, so everything to the
left of that could have been written by the client). IPv6 clients are
counted by their /64: one host is usually given a whole /64.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

UNKNOWN = "unknown"


@lru_cache(maxsize=1)
def _trusted(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address, networks) -> bool:
    return any(address in network for network in networks)


def _key(address) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def client_address(peer: str | None, forwarded_for: str | None) -> str:
    """The address limits count: `peer`, or from `forwarded_for` behind a trusted proxy."""
    address = _parse(peer) if peer else None
    if address is None:
        return UNKNOWN
    networks = _trusted(tuple(settings.TRUSTED_PROXIES))
    if not forwarded_for or not networks or not _is_trusted(address, networks):
        return _key(address)
    for hop in reversed(forwarded_for.split(",")):
        parsed = _parse(hop)
        if parsed is None:
            break  # garbage from here leftwards: the last good hop is the client
        address = parsed
        if not _is_trusted(parsed, networks):
            break
    return _key(address)


def from_environ(environ: dict) -> str:
    """The client address of an Engine.IO handshake's environ (ASGI scope)."""
    scope = environ.get("asgi.scope") or {}
    client = scope.get("client")
    peer = client[0] if client else environ.get("REMOTE_ADDR")
    return client_address(peer, environ.get("HTTP_X_FORWARDED_FOR"))
