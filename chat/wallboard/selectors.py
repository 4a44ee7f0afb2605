"""What the wallboard shows: read-only, a handful of queries per refresh."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from agents.models import AgentProfile, AgentStatus

from .. import assignment, selectors
from ..models import Conversation, ConversationStatus
from ..reports import report

# The queue rows shown; the length counts them all.
QUEUE_ROWS = 100


@dataclass(frozen=True)
class ConversationRow:
    id: int
    customer: str
    topic: str | None
    since: datetime  # assigned (active) or queued


@dataclass(frozen=True)
class AgentRow:
    id: int
    name: str
    status: str
    status_label: str
    connected: bool
    active: int
    capacity: int
    conversations: list[ConversationRow] = field(default_factory=list)

    @property
    def can_take(self) -> bool:
        """Whether a conversation may be given to this agent now (as the service decides)."""
        return self.status != AgentStatus.OFFLINE and self.connected and self.active < self.capacity


@dataclass(frozen=True)
class QueueRow:
    position: int
    id: int
    customer: str
    topic: str | None
    waiting_since: datetime
    estimated_wait_s: int | None


def agents() -> list[AgentRow]:
    """Every agent whose user is active, by name, with its active conversations (oldest first)."""
    profiles = list(
        AgentProfile.objects.active()
        .annotate(n=Count("conversations", filter=Q(conversations__status=ConversationStatus.ACTIVE)))
        .order_by("display_name", "id")
    )
    held: dict[int, list[ConversationRow]] = {}
    active = (
        Conversation.objects.filter(status=ConversationStatus.ACTIVE, agent__isnull=False)
        .select_related("customer")
        .order_by("assigned_at", "id")
    )
    for c in active:
        held.setdefault(c.agent_id, []).append(ConversationRow(c.id, c.customer.name, c.topic, c.assigned_at))
    return [
        AgentRow(
            id=p.id,
            name=p.display_name,
            status=p.status,
            status_label=AgentStatus(p.status).label,
            connected=p.sockets > 0,
            active=p.n,
            capacity=p.capacity,
            conversations=held.get(p.id, []),
        )
        for p in profiles
    ]


def queue(limit: int = QUEUE_ROWS) -> tuple[list[QueueRow], int]:
    """The head of the queue in order, each with the wait estimate its customer is told; and the length.

    The estimate is `chat.assignment.estimate_wait_seconds`, from the same
    inputs the queue refresh sends customers (`queue:position`).
    """
    handle_s = selectors.mean_handle_seconds()
    capacity = selectors.online_capacity()
    waiting = selectors.queued_conversations().select_related("customer")[:limit]
    rows = [
        QueueRow(
            position=position,
            id=c.id,
            customer=c.customer.name,
            topic=c.topic,
            waiting_since=c.queued_at or c.created_at,
            estimated_wait_s=assignment.estimate_wait_seconds(position, handle_s, capacity),
        )
        for position, c in enumerate(waiting, start=1)
    ]
    return rows, selectors.queued_conversations().count()


def local_day(now: datetime) -> tuple[datetime, datetime]:
    """Today in settings.TIME_ZONE: [its 00:00, the next day's 00:00), aware."""
    zone = ZoneInfo(settings.TIME_ZONE)
    day = now.astimezone(zone).date()
    return (
        datetime.combine(day, time(0), tzinfo=zone),
        datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone),
    )


def today(now: datetime | None = None) -> dict:
    """Today's totals so far (chat.reports: the conversations started since local midnight)."""
    now = now or timezone.now()
    since, until = local_day(now)
    totals = report(since=since, until=until)["totals"]
    return {
        "since": since,
        "started": totals["conversations"],
        "answered": totals["answered"],
        "abandoned": totals["abandoned"],
        "median_wait_s": totals["wait_s"]["median"],
        "median_first_response_s": totals["first_response_s"]["median"],
        "csat_count": totals["csat"]["count"],
        "csat_average": totals["csat"]["average"],
    }
