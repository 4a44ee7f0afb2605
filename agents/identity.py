"""Who is on the other end of an agent socket: API token or session cookie."""

from __future__ import annotations

import hashlib
from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import get_user
from django.http.cookie import parse_cookie

from .models import AgentProfile, hash_token

# A revocation naming this ends every socket opened with a session
# (chat.realtime.revocation matches it as a prefix).
ANY_SESSION = "session:"


def token_credential(api_token_hash: str) -> str:
    """What a socket opened with this API token (by its stored hash) is marked with."""
    return f"token:{api_token_hash[:16]}"


def session_credential(session_key: str) -> str:
    """What a socket opened with this session is marked with (never the key itself)."""
    return f"session:{hashlib.sha256(session_key.encode()).hexdigest()[:16]}"


def _session_key(cookie_header: str) -> str | None:
    # Django's own parser: http.cookies.SimpleCookie gives up on the whole
    # header at the first cookie it dislikes (say `ux={"a":1}`).
    return parse_cookie(cookie_header).get(settings.SESSION_COOKIE_NAME) or None


def _user_id_from_session(session_key: str) -> int | None:
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    # get_user checks the session's auth hash, so a changed password or a
    # logout ends the console's socket access too.
    user = get_user(SimpleNamespace(session=store))
    return user.pk if user.is_authenticated else None


def agent_from_credentials(
    *, token: str | None, cookie_header: str | None
) -> tuple[int, str, str, str] | None:
    """(agent id, display name, credential, language) for an API token or a logged-in session, or None.

    The credential names what opened the socket (`token_credential`,
    `session_credential`): a logout ends the sockets of that session, a
    rotation those of the old token. The language is the one chosen in the
    console (blank: none chosen).
    """
    agents = AgentProfile.objects.active()
    agent = credential = None
    if token:
        agent = agents.with_api_token(token).first()
        credential = token_credential(hash_token(token))
    elif cookie_header:
        key = _session_key(cookie_header)
        user_id = _user_id_from_session(key) if key else None
        agent = agents.filter(user_id=user_id).first() if user_id else None
        credential = session_credential(key) if key else None
    return None if agent is None else (agent.id, agent.display_name, credential, agent.language)


def agent_is_active(agent_id: int) -> bool:
    """Whether the agent's user may still act (deactivated users may not)."""
    return AgentProfile.objects.active().filter(id=agent_id).exists()
