"""Agent presence and status: sockets coming and going, online / busy / offline.

Presence is the number of logged-in sockets, kept in the agent row so that
every process sees it, and per process (chat.services.processes) so that
what a dead process held can be taken back. Status and presence decide assignment, so these
services take the assignment lock like every other that may assign.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agents.models import AgentProfile, AgentStatus

from .. import selectors
from ..errors import CONFLICT, ChatError
from ..events import AgentStateChanged
from ..models import Conversation, ConversationStatus, Sender
from ..outbox import record
from .endings import do_release_conversations_of
from .processes import agent_socket_counted, agent_socket_uncounted
from .queue import do_drain, lock_assignment
from .receipts import do_mark_delivered


@transaction.atomic
def agent_login(*, agent_id: int, new_socket: bool, process_id: str) -> dict:
    """A socket of the agent logged in: count it (held by `process_id`), and return the console state."""
    lock_assignment()
    if new_socket:
        agent_socket_counted(process_id=process_id, agent_id=agent_id)
    agent = AgentProfile.objects.select_for_update().get(id=agent_id)
    if agent.auto_offline:
        # The server, not the agent, set offline when the last socket went
        # away; coming back undoes it. A chosen `offline` stays.
        agent.status = AgentStatus.ONLINE
        agent.auto_offline = False
        agent.save(update_fields=["status", "auto_offline"])
    for conversation in Conversation.objects.filter(agent_id=agent_id, status=ConversationStatus.ACTIVE):
        do_mark_delivered(conversation, Sender.CUSTOMER)
    record(AgentStateChanged(agent=selectors.agent_state_by_id(agent_id)))
    if agent.status == AgentStatus.ONLINE:
        do_drain()
    return {
        "ok": True,
        "agent": selectors.agent_state_by_id(agent_id),
        "conversations": selectors.conversations_of_agent(agent_id),
        # The head of the queue; the rest through `queue:list`.
        **_queue_page(),
        "agents": selectors.agent_roster(),
    }


@transaction.atomic
def agent_socket_closed(*, agent_id: int, process_id: str) -> None:
    """A logged-in socket held by `process_id` is gone; the grace period starts when none is left."""
    if not agent_socket_uncounted(process_id=process_id, agent_id=agent_id):
        return
    if AgentProfile.objects.filter(id=agent_id, sockets=0).update(last_disconnect_at=timezone.now()):
        record(AgentStateChanged(agent=selectors.agent_state_by_id(agent_id)))


@transaction.atomic
def agent_set_status(*, agent_id: int, status: str) -> dict:
    lock_assignment()
    agent = AgentProfile.objects.select_for_update().get(id=agent_id)
    agent.status = status
    agent.auto_offline = False
    agent.save(update_fields=["status", "auto_offline"])
    if status == AgentStatus.OFFLINE:
        do_release_conversations_of(agent)
    elif status == AgentStatus.ONLINE:
        do_drain()
    state = selectors.agent_state_by_id(agent_id)
    record(AgentStateChanged(agent=state))
    return state


def agents_expire_absent(*, grace_seconds: float) -> list[int]:
    """Agents gone past the grace period go offline; their chats are released.

    The sweeper calls this every few seconds. Usually nobody is gone: a plain
    read says so without taking the write lock, which would stall the
    message writer's next commit behind SQLite's busy wait.
    """
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    if not selectors.absent_agents(cutoff).exists():
        return []
    with transaction.atomic():
        lock_assignment()
        gone = list(selectors.absent_agents(cutoff).select_for_update())
        for agent in gone:
            agent.status = AgentStatus.OFFLINE
            agent.auto_offline = True
            agent.save(update_fields=["status", "auto_offline"])
            do_release_conversations_of(agent)
            record(AgentStateChanged(agent=selectors.agent_state_by_id(agent.id)))
        return [a.id for a in gone]


@transaction.atomic
def agent_set_capacity(*, agent_id: int, capacity: int) -> None:
    lock_assignment()
    if capacity < 0:
        raise ChatError(CONFLICT, _("Capacity cannot be negative."))
    AgentProfile.objects.filter(id=agent_id).update(capacity=capacity)
    record(AgentStateChanged(agent=selectors.agent_state_by_id(agent_id)))
    do_drain()


def _queue_page() -> dict:
    listing = selectors.queue_listing(settings.CHAT["QUEUE_LIST_LIMIT"])
    return {"queue": listing["conversations"], "queue_length": listing["length"]}
