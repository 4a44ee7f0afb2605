"""The report of a period: read-only, every figure aggregated by the database.

The period's conversations are those *created* in [since, until). Every
figure is about them (their messages, transfers and ratings too, whenever
those came). docs/REPORTS.md defines each figure and the JSON shape.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import Avg, Count, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import ExtractHour

from agents.models import AgentProfile
from chat import system_notes
from chat.models import Conversation, EndReason, Message, Sender

from .expressions import Seconds
from .percentiles import EMPTY, percentiles_by

# Abandoned: the customer went away before any agent took the conversation.
# Both endings count: "customer_left" (closed the chat or was revoked) and
# "customer_idle" (disconnected and went quiet until close-idle ended it);
# in both the customer gave up waiting. Endings by the server or staff
# (agent_offline, closed_by_supervisor) are not the customer's choice.
ABANDONED = Q(
    assigned_at__isnull=True,
    ended_at__isnull=False,
    end_reason__in=[EndReason.CUSTOMER_LEFT, EndReason.CUSTOMER_IDLE],
)

_first_agent_message = Message.objects.filter(conversation=OuterRef("pk"), sender=Sender.AGENT).order_by("id")
FIRST_AGENT_AT = Subquery(_first_agent_message.values("created_at")[:1])
FIRST_AGENT_ID = Subquery(_first_agent_message.values("sender_agent_id")[:1])

WAIT = Seconds(F("assigned_at"), F("created_at"))
FIRST_RESPONSE = Seconds(FIRST_AGENT_AT, F("created_at"))
DURATION = Seconds(F("ended_at"), F("assigned_at"))

HOUR = ExtractHour("created_at", tzinfo=UTC)
MESSAGE_HOUR = ExtractHour("conversation__created_at", tzinfo=UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC, with a Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def period_conversations(since: datetime, until: datetime) -> QuerySet:
    return Conversation.objects.filter(created_at__gte=since, created_at__lt=until).order_by()


def _counts() -> dict:
    return {
        "conversations": Count("id"),
        "answered": Count("id", filter=Q(assigned_at__isnull=False)),
        "abandoned": Count("id", filter=ABANDONED),
        "csat_count": Count("rating"),
        "csat_average": Avg("rating"),
    }


def _timings(conversations: QuerySet, group) -> dict[str, dict]:
    """{"wait_s"|"first_response_s"|"duration_s": {group key: {"median", "p90"}}}."""
    answered = conversations.filter(assigned_at__isnull=False)
    return {
        "wait_s": percentiles_by(answered, group=group, value=WAIT),
        "first_response_s": percentiles_by(conversations, group=group, value=FIRST_RESPONSE),
        "duration_s": percentiles_by(answered.filter(ended_at__isnull=False), group=group, value=DURATION),
    }


def _messages(since, until, group, senders=(Sender.CUSTOMER, Sender.AGENT), by="sender") -> dict:
    """{(group key, `by`): count} of the period's messages of `senders`."""
    rows = (
        Message.objects.filter(
            conversation__created_at__gte=since, conversation__created_at__lt=until, sender__in=senders
        )
        .order_by()
        .annotate(report_g=group)
        .values("report_g", by)
        .annotate(n=Count("id"))
    )
    return {(row["report_g"], row[by]): row["n"] for row in rows}


def _transfers(since, until, group) -> dict:
    """{group key: count} of the period's transfer notes."""
    rows = (
        Message.objects.filter(
            conversation__created_at__gte=since,
            conversation__created_at__lt=until,
            sender=Sender.SYSTEM,
            system_code=system_notes.TRANSFERRED,
        )
        .order_by()
        .annotate(report_g=group)
        .values("report_g")
        .annotate(n=Count("id"))
    )
    return {row["report_g"]: row["n"] for row in rows}


def _csat(counts: dict) -> dict:
    average = counts.get("csat_average")
    return {"count": counts.get("csat_count", 0), "average": None if average is None else round(average, 3)}


def _blocks(since, until, group, message_group) -> dict:
    """{group key: the totals' figures for that group}, for the groups that have conversations."""
    conversations = period_conversations(since, until)
    counts = {
        row["report_g"]: row
        for row in conversations.annotate(report_g=group).values("report_g").annotate(**_counts())
    }
    timings = _timings(conversations, group)
    messages = _messages(since, until, message_group)
    transfers = _transfers(since, until, message_group)
    return {
        key: {
            "conversations": row["conversations"],
            "answered": row["answered"],
            "abandoned": row["abandoned"],
            "transfers": transfers.get(key, 0),
            "messages": {
                "customer": messages.get((key, Sender.CUSTOMER), 0),
                "agent": messages.get((key, Sender.AGENT), 0),
            },
            "wait_s": timings["wait_s"].get(key, EMPTY).copy(),
            "first_response_s": timings["first_response_s"].get(key, EMPTY).copy(),
            "duration_s": timings["duration_s"].get(key, EMPTY).copy(),
            "csat": _csat(row),
        }
        for key, row in counts.items()
        if row["conversations"]
    }


def _agents(since, until) -> list[dict]:
    """Per agent: the conversations it held last (count, duration, CSAT), the
    first responses it gave, and its own messages."""
    conversations = period_conversations(since, until)
    counts = {
        row["agent_id"]: row
        for row in conversations.filter(agent__isnull=False)
        .values("agent_id")
        .annotate(conversations=Count("id"), csat_count=Count("rating"), csat_average=Avg("rating"))
    }
    first = percentiles_by(conversations, group=FIRST_AGENT_ID, value=FIRST_RESPONSE)
    answered = conversations.filter(assigned_at__isnull=False, ended_at__isnull=False, agent__isnull=False)
    duration = percentiles_by(answered, group=F("agent_id"), value=DURATION)
    messages = {
        agent: n
        for (_, agent), n in _messages(since, until, Value(0), (Sender.AGENT,), "sender_agent_id").items()
        if agent is not None
    }
    ids = (set(counts) | set(first) | set(messages)) - {None}
    names = dict(AgentProfile.objects.filter(id__in=ids).values_list("id", "display_name"))
    return [
        {
            "id": agent,
            "name": names.get(agent, ""),
            "conversations": counts.get(agent, {}).get("conversations", 0),
            "first_response_s": first.get(agent, EMPTY).copy(),
            "duration_s": duration.get(agent, EMPTY).copy(),
            "messages": messages.get(agent, 0),
            "csat": _csat(counts.get(agent, {})),
        }
        for agent in sorted(ids, key=lambda agent: (names.get(agent, "").casefold(), agent))
    ]


def report(*, since: datetime, until: datetime) -> dict:
    """The report of the conversations created in [since, until) (aware datetimes).

    `topics` lists the topics that have conversations (a conversation without
    a topic under `"topic": null`), by name; `hours` all 24 UTC hours of the
    conversations' start, 0 to 23, empty hours with zeros and nulls.
    """
    totals = _blocks(since, until, Value(0), Value(0)).get(0) or _empty()
    topics = _blocks(since, until, F("topic"), F("conversation__topic"))
    hours = _blocks(since, until, HOUR, MESSAGE_HOUR)
    return {
        "period": {"since": iso(since), "until": iso(until)},
        "totals": totals,
        "agents": _agents(since, until),
        "topics": [
            {"topic": topic, **topics[topic]}
            for topic in sorted(topics, key=lambda topic: (topic is not None, topic or ""))
        ],
        "hours": [{"hour": hour, **(hours.get(hour) or _empty())} for hour in range(24)],
    }


def _empty() -> dict:
    return {
        "conversations": 0,
        "answered": 0,
        "abandoned": 0,
        "transfers": 0,
        "messages": {"customer": 0, "agent": 0},
        "wait_s": EMPTY,
        "first_response_s": EMPTY,
        "duration_s": EMPTY,
        "csat": {"count": 0, "average": None},
    }
