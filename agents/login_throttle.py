"""Login throttling with django-axes: who an attempt comes from, and the page
a locked-out sign-in gets. Settings: cs_project/settings.py, "Login
throttling"; docs/SECURITY.md, "Login throttling".
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from chat.realtime.limits.addresses import client_address


def login_client_ip(request: HttpRequest) -> str:
    """The address a login attempt counts against (`AXES_CLIENT_IP_CALLABLE`).

    The same address the Socket.IO limits count: the connection's peer,
    unless that peer is one of `TRUSTED_PROXIES`, then the right-most
    `X-Forwarded-For` entry that is not a trusted proxy
    (chat/realtime/limits/addresses.py).
    """
    return client_address(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR"))


def lockout_response(request: HttpRequest, *args) -> HttpResponse:
    """The page of a sign-in refused for too many failures (`AXES_LOCKOUT_CALLABLE`), status 429."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return render(
        request,
        "agents/locked_out.html",
        {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
