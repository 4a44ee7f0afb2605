"""Agent accounts: the code that creates them.

Presence and status (which decide assignment) are chat services:
`chat.services.presence`.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from chat.actions import send_after_commit
from chat.errors import CONFLICT, ChatError
from chat.events import SocketsRevoked

from .identity import token_credential
from .models import AgentProfile
from .supervisors import make_supervisor


@transaction.atomic
def agent_create(
    *,
    username: str,
    password: str | None,
    display_name: str | None,
    capacity: int,
    skills: list[str],
    supervisor: bool,
) -> tuple[AgentProfile, str]:
    """Create a user and its agent profile; returns the profile and its API token.

    A supervisor is also staff in the Supervisors group (agents.supervisors).
    """
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ChatError(CONFLICT, _("User %(username)r already exists."), username=username)
    user = User(username=username)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    if supervisor:
        make_supervisor(user)
    profile = AgentProfile(user=user, display_name=display_name or username, capacity=capacity, skills=skills)
    token = profile.issue_api_token()
    profile.save()
    return profile, token


@transaction.atomic
def agent_rotate_api_token(*, agent_id: int) -> str:
    """Issue the agent a new API token and return it; the old one stops working.

    Sockets opened with the old token are disconnected on every process once
    this commits; the agent's console sockets (session cookie) stay.
    """
    profile = AgentProfile.objects.select_for_update().get(id=agent_id)
    old = profile.api_token_hash
    token = profile.issue_api_token()
    profile.save(update_fields=["api_token_hash"])
    if old:
        send_after_commit(SocketsRevoked(kind="agent", id=agent_id, credential=token_credential(old)))
    return token


@transaction.atomic
def agent_deactivate(*, agent_id: int) -> None:
    """Deactivate the agent's user: no login, no API token, every socket ends.

    The sockets are ended by the user's post_save (agents.signals), as for a
    user deactivated in the user admin.
    """
    profile = AgentProfile.objects.select_related("user").get(id=agent_id)
    if profile.user.is_active:
        profile.user.is_active = False
        profile.user.save(update_fields=["is_active"])


def agent_language_set(*, agent_id: int, language: str) -> None:
    """Keep the console language an agent chose ("" follows the browser)."""
    AgentProfile.objects.filter(id=agent_id).update(language=language)
