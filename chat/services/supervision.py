"""What supervisors do to conversations and agents, each written to the audit log.

Every function here is one transaction: it checks the supervisor's right and
the input, makes the change through the same code the agents' own paths use
(so customers and agents hear of it by the same events, after the commit),
and adds its `agents.models.SupervisorAction` row in that same transaction.
A refusal is a `ChatError` and changes nothing, the log included.

`detail` holds names and codes, not prose, so that it reads the same in
every language: "Carla: Ann → Ben" (a reassignment), "Carla: → Ben" (given
from the queue), "Carla: Ann →" (back to the queue), "Carla: Ann → ended
(agent_offline)" (back to the queue, but no agent was there to take it),
"Carla (Ann)" (closed), "Ann (2)" (set offline, with how many conversations
it held).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from agents.models import AgentProfile, AgentStatus, SupervisorAction, SupervisorActionKind

from .. import selectors
from ..errors import CONFLICT, FORBIDDEN, NOT_FOUND, ChatError
from ..events import AgentStateChanged, ConversationTakenAway
from ..models import Conversation, ConversationStatus
from ..outbox import record
from . import endings, presence
from .queue import agent_snapshots, do_assign, do_drain, lock_assignment

# The right each action needs (the Supervisors group holds both).
CHANGE_CONVERSATION = "chat.change_conversation"
CHANGE_AGENT = "agents.change_agentprofile"


@transaction.atomic
def conversation_reassign(*, actor_id: int, conversation_id: int, to_agent_id: int) -> dict:
    """Give a conversation to `to_agent_id`: an active one from its agent, a queued one from the queue.

    The agent must be connected and not offline (busy is fine, as for an
    agent's own transfer), and below capacity: supervisors keep the rule
    that no agent is pushed over capacity (raise the capacity first).
    Returns the conversation's shape.
    """
    actor = _actor(actor_id, CHANGE_CONVERSATION)
    lock_assignment()
    conversation = _open_conversation(conversation_id)
    target = {a.id: a for a in agent_snapshots()}.get(to_agent_id)
    if target is None or not AgentProfile.objects.active().filter(id=to_agent_id).exists():
        raise ChatError(NOT_FOUND, _("No such agent."))
    if conversation.agent_id == to_agent_id:
        raise ChatError(CONFLICT, _("The conversation is already with that agent."))
    if target.status == AgentStatus.OFFLINE or target.sockets == 0:
        raise ChatError(CONFLICT, _("That agent is offline or not connected."))
    if target.active >= target.capacity:
        raise ChatError(CONFLICT, _("That agent is at capacity."))
    previous = conversation.agent
    if previous is not None:
        record(ConversationTakenAway(conversation_id=conversation.id, agent_id=previous.id))
    # As an agent's own transfer (queue.conversation_transfer) does it.
    do_assign(conversation, to_agent_id, transferred_from=previous.id if previous else None)
    if previous is not None:
        record(AgentStateChanged(agent=selectors.agent_state_by_id(previous.id)))
        do_drain()
    to_name = AgentProfile.objects.get(id=to_agent_id).display_name
    _log(
        actor,
        SupervisorActionKind.REASSIGN,
        conversation_id=conversation.id,
        agent_id=to_agent_id,
        previous_agent_id=previous.id if previous else None,
        detail=f"{conversation.customer.name}: {previous.display_name + ' ' if previous else ''}→ {to_name}",
    )
    return selectors.conversation_by_id(conversation.id)


@transaction.atomic
def conversation_requeue(*, actor_id: int, conversation_id: int) -> str:
    """Return an active conversation to the head of the queue; returns its status after.

    As when its agent leaves: with no other agent connected to take it
    over, it ends (`agent_offline`) instead of waiting for nobody.
    """
    actor = _actor(actor_id, CHANGE_CONVERSATION)
    lock_assignment()
    conversation = _open_conversation(conversation_id)
    if conversation.status != ConversationStatus.ACTIVE:
        raise ChatError(CONFLICT, _("Only active conversations can be returned to the queue."))
    previous = conversation.agent
    endings.conversation_requeue_by_supervisor(conversation_id=conversation.id)
    conversation.refresh_from_db(fields=["status", "end_reason"])
    detail = f"{conversation.customer.name}: {previous.display_name} →"
    if conversation.status == ConversationStatus.ENDED:
        detail += f" ended ({conversation.end_reason})"
    _log(
        actor,
        SupervisorActionKind.REQUEUE,
        conversation_id=conversation.id,
        agent_id=None,
        previous_agent_id=previous.id,
        detail=detail,
    )
    return conversation.status


@transaction.atomic
def conversation_close(*, actor_id: int, conversation_id: int) -> None:
    """Close a queued or active conversation (`closed_by_supervisor`)."""
    actor = _actor(actor_id, CHANGE_CONVERSATION)
    lock_assignment()
    conversation = _open_conversation(conversation_id)
    previous = conversation.agent
    endings.conversation_close_by_supervisor(conversation_id=conversation.id)
    name = conversation.customer.name
    _log(
        actor,
        SupervisorActionKind.CLOSE,
        conversation_id=conversation.id,
        agent_id=None,
        previous_agent_id=previous.id if previous else None,
        detail=f"{name} ({previous.display_name})" if previous else name,
    )


@transaction.atomic
def agent_set_offline(*, actor_id: int, agent_id: int) -> dict:
    """Set an agent offline, as its own status switch would: its conversations
    go back to the head of the queue (or end, with nobody left to take them).

    The agent stays connected and offline until it chooses another status.
    Returns the agent's state.
    """
    actor = _actor(actor_id, CHANGE_AGENT)
    lock_assignment()
    agent = AgentProfile.objects.filter(id=agent_id).first()
    if agent is None:
        raise ChatError(NOT_FOUND, _("No such agent."))
    if agent.status == AgentStatus.OFFLINE:
        raise ChatError(CONFLICT, _("That agent is already offline."))
    held = Conversation.objects.filter(agent_id=agent_id, status=ConversationStatus.ACTIVE).count()
    state = presence.agent_set_status(agent_id=agent_id, status=AgentStatus.OFFLINE)
    _log(
        actor,
        SupervisorActionKind.SET_OFFLINE,
        conversation_id=None,
        agent_id=agent_id,
        previous_agent_id=None,
        detail=f"{agent.display_name} ({held})",
    )
    return state


# --- helpers -------------------------------------------------------------------------


def _actor(actor_id: int, permission: str):
    """The acting user, if active, staff and holding `permission`; else the refusal."""
    user = get_user_model().objects.filter(id=actor_id).first()
    if user is None or not (user.is_active and user.is_staff and user.has_perm(permission)):
        raise ChatError(FORBIDDEN, _("You do not have the right to do that."))
    return user


def _open_conversation(conversation_id: int) -> Conversation:
    """The conversation, row-locked, if it exists and has not ended; else the refusal."""
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("customer", "agent")
        .filter(id=conversation_id)
        .first()
    )
    if conversation is None:
        raise ChatError(NOT_FOUND, _("No such conversation."))
    if conversation.status == ConversationStatus.ENDED:
        raise ChatError(CONFLICT, _("The conversation has already ended."))
    return conversation


def _log(actor, action: str, *, conversation_id, agent_id, previous_agent_id, detail: str) -> None:
    SupervisorAction.objects.create(
        actor=actor,
        actor_name=(actor.get_full_name() or actor.get_username())[:150],
        action=action,
        conversation_id=conversation_id,
        agent_id=agent_id,
        previous_agent_id=previous_agent_id,
        detail=detail[:500],
    )
