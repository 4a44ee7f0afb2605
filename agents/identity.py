"""Who is on the other end of an agent socket: API token or session cookie."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import get_user

from .models import AgentProfile, hash_token


def _user_id_from_cookie(cookie_header: str) -> int | None:
    try:
        cookies = SimpleCookie(cookie_header)
    except CookieError:
        return None
    morsel = cookies.get(settings.SESSION_COOKIE_NAME)
    if morsel is None:
        return None
    store = import_module(settings.SESSION_ENGINE).SessionStore(morsel.value)
    # get_user checks the session's auth hash, so a changed password or a
    # logout ends the console's socket access too.
    user = get_user(SimpleNamespace(session=store))
    return user.pk if user.is_authenticated else None


def agent_from_credentials(*, token: str | None, cookie_header: str | None) -> tuple[int, str] | None:
    """(agent id, display name) for an API token or a logged-in session, or None."""
    agents = AgentProfile.objects.filter(user__is_active=True)
    if token:
        agent = agents.filter(api_token_hash=hash_token(token)).first()
    elif cookie_header:
        user_id = _user_id_from_cookie(cookie_header)
        agent = agents.filter(user_id=user_id).first() if user_id else None
    else:
        agent = None
    return None if agent is None else (agent.id, agent.display_name)
