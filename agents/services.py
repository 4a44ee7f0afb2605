"""Agent presence, status and accounts: the code that changes them."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from chat import selectors
from chat import services as chat_services
from chat.errors import CONFLICT, ChatError
from chat.models import Conversation, ConversationStatus, Sender
from chat.outbox import record

from .models import AgentProfile, AgentStatus


@transaction.atomic
def agent_login(*, agent_id: int, new_socket: bool) -> dict:
    """A socket of the agent logged in: count it, and return the console state."""
    chat_services.lock_assignment()
    if new_socket:
        AgentProfile.objects.filter(id=agent_id).update(sockets=F("sockets") + 1)
    agent = AgentProfile.objects.select_for_update().get(id=agent_id)
    if agent.auto_offline:
        # The server, not the agent, set offline when the last socket went
        # away; coming back undoes it. A chosen `offline` stays.
        agent.status = AgentStatus.ONLINE
        agent.auto_offline = False
        agent.save(update_fields=["status", "auto_offline"])
    for conversation in Conversation.objects.filter(agent_id=agent_id, status=ConversationStatus.ACTIVE):
        chat_services.mark_delivered(conversation, Sender.CUSTOMER)
    record("agent_state", agent=selectors.agent_state_by_id(agent_id))
    if agent.status == AgentStatus.ONLINE:
        chat_services.drain()
    return {
        "ok": True,
        "agent": selectors.agent_state_by_id(agent_id),
        "conversations": selectors.conversations_of_agent(agent_id),
        "queue": selectors.queue_listing(10_000)["conversations"],
        "agents": selectors.agent_roster(),
    }


@transaction.atomic
def agent_socket_closed(*, agent_id: int) -> None:
    """A logged-in socket is gone; the grace period starts when none is left."""
    AgentProfile.objects.filter(id=agent_id, sockets__gt=0).update(sockets=F("sockets") - 1)
    if AgentProfile.objects.filter(id=agent_id, sockets=0).update(last_disconnect_at=timezone.now()):
        record("agent_state", agent=selectors.agent_state_by_id(agent_id))


@transaction.atomic
def agent_set_status(*, agent_id: int, status: str) -> dict:
    chat_services.lock_assignment()
    agent = AgentProfile.objects.select_for_update().get(id=agent_id)
    agent.status = status
    agent.auto_offline = False
    agent.save(update_fields=["status", "auto_offline"])
    if status == AgentStatus.OFFLINE:
        chat_services.release_conversations_of(agent)
    elif status == AgentStatus.ONLINE:
        chat_services.drain()
    state = selectors.agent_state_by_id(agent_id)
    record("agent_state", agent=state)
    return state


def agents_expire_absent(*, grace_seconds: float) -> list[int]:
    """Agents gone past the grace period go offline; their chats are released.

    The sweeper calls this every few seconds. Usually nobody is gone: a plain
    read says so without taking the write lock, which would stall the
    message writer's next commit behind SQLite's busy wait.
    """
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    if not _absent_agents(cutoff).exists():
        return []
    with transaction.atomic():
        chat_services.lock_assignment()
        gone = list(_absent_agents(cutoff).select_for_update())
        for agent in gone:
            agent.status = AgentStatus.OFFLINE
            agent.auto_offline = True
            agent.save(update_fields=["status", "auto_offline"])
            chat_services.release_conversations_of(agent)
            record("agent_state", agent=selectors.agent_state_by_id(agent.id))
        return [a.id for a in gone]


def _absent_agents(cutoff):
    return AgentProfile.objects.filter(sockets=0, last_disconnect_at__lt=cutoff).exclude(
        status=AgentStatus.OFFLINE
    )


@transaction.atomic
def presence_reset() -> None:
    """Forget socket counts left by a server that stopped (single-process mode)."""
    AgentProfile.objects.filter(sockets__gt=0).update(sockets=0, last_disconnect_at=timezone.now())


@transaction.atomic
def agent_set_capacity(*, agent_id: int, capacity: int) -> None:
    chat_services.lock_assignment()
    if capacity < 0:
        raise ChatError(CONFLICT, "Capacity cannot be negative.")
    AgentProfile.objects.filter(id=agent_id).update(capacity=capacity)
    record("agent_state", agent=selectors.agent_state_by_id(agent_id))
    chat_services.drain()


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
        raise ChatError(CONFLICT, f"User {username!r} already exists.")
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
