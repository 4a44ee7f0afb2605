"""Agent accounts: the code that creates them.

Presence and status (which decide assignment) are chat services:
`chat.services.presence`.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from chat.errors import CONFLICT, ChatError

from .models import AgentProfile


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
    """Create a user and its agent profile; returns the profile and its API token."""
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ChatError(CONFLICT, _("User %(username)r already exists.") % {"username": username})
    user = User(username=username, is_staff=supervisor, is_superuser=supervisor)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    profile = AgentProfile(user=user, display_name=display_name or username, capacity=capacity, skills=skills)
    token = profile.issue_api_token()
    profile.save()
    return profile, token
