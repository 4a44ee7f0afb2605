"""Login throttling with django-axes: who an attempt comes from, and the page
a locked-out sign-in gets. Settings: cs_project/settings.py, "Login
throttling"; docs/SECURITY.md, "Login throttling".
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.LOGIN_TRUSTED_PROXIES)))


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def login_client_ip(request: HttpRequest) -> str:
    """The address a login attempt counts against (`AXES_CLIENT_IP_CALLABLE`).

    The connection's peer (`REMOTE_ADDR`), unless that peer is one of
    `LOGIN_TRUSTED_PROXIES`: then the right-most address of
    `X-Forwarded-For` that is not a trusted proxy, the one the outermost
    trusted proxy saw. Entries further left were written by the client and
    prove nothing. A header with no usable entry falls back to the peer.
    """
    peer = request.META.get("REMOTE_ADDR", "")
    if not _trusted(peer):
        return peer
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    for address in reversed(forwarded):
        if not _trusted(address):
            return address if _valid(address) else peer
    return peer


def lockout_response(request: HttpRequest, *args) -> HttpResponse:
    """The page of a sign-in refused for too many failures (`AXES_LOCKOUT_CALLABLE`), status 429."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return render(
        request,
        "agents/locked_out.html",
        {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
