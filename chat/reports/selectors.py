"""The report of a period: read-only, every figure aggregated by the database.

The period's conversations are those *created* in [since, until). Every
figure is about them (their messages, transfers and ratings too, whenever
those came). docs/REPORTS.md defines each figure and the JSON shape.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum, Value

from agents.models import AgentProfile
from chat import system_notes
from chat.models import Conversation, EndReason, Message, Sender

from .expressions import MessageCount, Seconds, UtcHour
from .percentiles import EMPTY, percentiles_by

# Abandoned: the customer went away before any agent took the conversation.
# Both endings count: "customer_left" (closed the chat or was revoked) and
# "customer_idle" (disconnected and went quiet until close-idle ended it);
# in both the customer gave up waiting. Endings by the server or staff
# (agent_offline, closed_by_supervisor) are not the customer's choice.
ABANDONED = Q(
    first_assigned_at__isnull=True,
    ended_at__isnull=False,
    end_reason__in=[EndReason.CUSTOMER_LEFT, EndReason.CUSTOMER_IDLE],
)

# The conversation's first agent message: its agent message with the
# smallest id (ids are the conversation's order), on msg_conv_id_idx.
_first_agent_message = Message.objects.filter(conversation=OuterRef("pk"), sender=Sender.AGENT).order_by("id")
FIRST_AGENT_AT = Subquery(_first_agent_message.values("created_at")[:1])
FIRST_AGENT_ID = Subquery(_first_agent_message.values("sender_agent_id")[:1])

# From the first assignment: a transfer or a requeue later does not move them.
WAIT = Seconds(F("first_assigned_at"), F("created_at"))
FIRST_RESPONSE = Seconds(FIRST_AGENT_AT, F("created_at"))
DURATION = Seconds(F("ended_at"), F("first_assigned_at"))

HOUR = UtcHour("created_at")
MESSAGE_HOUR = UtcHour("conversation__created_at")


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC, with a Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def period_conversations(since: datetime, until: datetime) -> QuerySet:
    return Conversation.objects.filter(created_at__gte=since, created_at__lt=until).order_by()


def _add(into: dict, key, **counts) -> None:
    row = into.setdefault(key, dict.fromkeys(counts, 0))
    for name, n in counts.items():
        row[name] = row.get(name, 0) + (n or 0)


def _rolled_up(rows, dimensions: dict[str, str]) -> dict[str, dict]:
    """Rows grouped finely by the database, summed per grouping:
    {"totals": {0: sums}, "topics": {topic: sums}, ...} (dimensions: grouping -> row key)."""
    out = {name: {} for name in dimensions}
    for row in rows:
        counts = {name: value for name, value in row.items() if name.startswith("n_")}
        for name, key in dimensions.items():
            _add(out[name], 0 if key is None else row[key], **counts)
    return out


def _message_count(sender: str) -> MessageCount:
    """A conversation's messages from `sender`: counted on the index (conversation, sender, status)."""
    return MessageCount(F("id"), sender=sender)


def _counts(conversations: QuerySet) -> dict[str, dict]:
    rows = (
        conversations.annotate(hour=HOUR)
        .values("topic", "hour", "agent_id")
        .annotate(
            n_conversations=Count("id"),
            n_answered=Count("id", filter=Q(first_assigned_at__isnull=False)),
            n_abandoned=Count("id", filter=ABANDONED),
            n_rated=Count("rating"),
            n_rating_sum=Sum("rating"),
            n_customer=Sum(_message_count(Sender.CUSTOMER)),
            n_agent=Sum(_message_count(Sender.AGENT)),
        )
    )
    return _rolled_up(rows, {"totals": None, "topics": "topic", "hours": "hour", "agents": "agent_id"})


def _period_messages(since, until):
    """The messages of the conversations started in the period."""
    return Message.objects.filter(conversation__created_at__gte=since, conversation__created_at__lt=until)


def _agent_messages(since, until) -> dict[int, int]:
    """{agent id: its own messages in the period's conversations}."""
    rows = (
        _period_messages(since, until)
        .filter(
            sender=Sender.AGENT,
            sender_agent__isnull=False,
        )
        .order_by()
        .values("sender_agent_id")
        .annotate(n=Count("id"))
    )
    return {row["sender_agent_id"]: row["n"] for row in rows}


def _transfers(since, until) -> dict[str, dict]:
    rows = (
        _period_messages(since, until)
        .filter(
            sender=Sender.SYSTEM,
            system_code=system_notes.TRANSFERRED,
        )
        .order_by()
        .annotate(topic=F("conversation__topic"), hour=MESSAGE_HOUR)
        .values("topic", "hour")
        .annotate(n_transfers=Count("id"))
    )
    return _rolled_up(rows, {"totals": None, "topics": "topic", "hours": "hour"})


def _timings(conversations: QuerySet) -> dict[str, dict]:
    """{"wait_s"|...: {grouping: {key as text: {"median", "p90"}}}}."""
    groups = {"totals": Value(0), "topics": F("topic"), "hours": HOUR}
    answered = conversations.filter(first_assigned_at__isnull=False)
    ended = answered.filter(ended_at__isnull=False)
    return {
        "wait_s": percentiles_by(answered, value=WAIT, groups=groups),
        "first_response_s": percentiles_by(
            conversations, value=FIRST_RESPONSE, groups={**groups, "agents": FIRST_AGENT_ID}
        ),
        "duration_s": percentiles_by(ended, value=DURATION, groups={**groups, "agents": F("agent_id")}),
    }


def _text(key) -> str | None:
    """A group key as percentiles_by gives it back (text)."""
    if key is None:
        return None
    if isinstance(key, int):
        return str(key)
    return key


def _csat(row: dict) -> dict:
    rated = row.get("n_rated", 0)
    return {"count": rated, "average": round(row["n_rating_sum"] / rated, 3) if rated else None}


def _figures(grouping: str, key, counts, messages, transfers, timings) -> dict:
    row = counts[grouping].get(key, {})
    text = _text(key)
    return {
        "conversations": row.get("n_conversations", 0),
        "answered": row.get("n_answered", 0),
        "abandoned": row.get("n_abandoned", 0),
        "transfers": transfers[grouping].get(key, {}).get("n_transfers", 0),
        "messages": {"customer": row.get("n_customer", 0), "agent": row.get("n_agent", 0)},
        **{name: timings[name][grouping].get(text, EMPTY).copy() for name in timings},
        "csat": _csat(row),
    }


def report(*, since: datetime, until: datetime) -> dict:
    """The report of the conversations created in [since, until) (aware datetimes).

    `topics` lists the topics that have conversations (a conversation without
    a topic under `"topic": null`), by name; `hours` all 24 UTC hours of the
    conversations' start, 0 to 23, empty hours with zeros and nulls. Agents:
    see `_agent`.
    """
    conversations = period_conversations(since, until)
    counts = _counts(conversations)
    messages = _agent_messages(since, until)
    transfers = _transfers(since, until)
    timings = _timings(conversations)
    # Hours come back from the database as numbers; percentiles' keys as text.
    for name in timings:
        timings[name]["hours"] = {_text(int(float(k))): v for k, v in timings[name]["hours"].items()}
        if "agents" in timings[name]:
            timings[name]["agents"] = {
                _text(int(float(k))): v for k, v in timings[name]["agents"].items() if k
            }
    for part in (counts, transfers):
        part["hours"] = {int(k): v for k, v in part["hours"].items() if k is not None}
    figures = {"counts": counts, "messages": messages, "transfers": transfers, "timings": timings}
    topics = sorted(counts["topics"], key=lambda topic: (topic is not None, topic or ""))
    agent_ids = (
        set(counts["agents"]) | set(messages) | set(map(int, timings["first_response_s"]["agents"]))
    ) - {None}
    names = dict(AgentProfile.objects.filter(id__in=agent_ids).values_list("id", "display_name"))
    return {
        "period": {"since": iso(since), "until": iso(until)},
        "totals": _figures("totals", 0, **figures),
        "agents": [
            _agent(agent, names.get(agent, ""), **figures)
            for agent in sorted(agent_ids, key=lambda agent: (names.get(agent, "").casefold(), agent))
        ],
        "topics": [{"topic": topic, **_figures("topics", topic, **figures)} for topic in topics],
        "hours": [{"hour": hour, **_figures("hours", hour, **figures)} for hour in range(24)],
    }


def _agent(agent: int, name: str, counts, messages, transfers, timings) -> dict:
    """One agent: the conversations it held last (count, duration, CSAT: the
    agent of the conversation when it ended), the first responses it gave
    (the sender of the conversation's first agent message) and its own messages."""
    row = counts["agents"].get(agent, {})
    return {
        "id": agent,
        "name": name,
        "conversations": row.get("n_conversations", 0),
        "first_response_s": timings["first_response_s"]["agents"].get(str(agent), EMPTY).copy(),
        "duration_s": timings["duration_s"]["agents"].get(str(agent), EMPTY).copy(),
        "messages": messages.get(agent, 0),
        "csat": _csat(row),
    }
