"""The report of a period: read-only, in four queries (docs/REPORTS.md, "How the figures are read").

The period's conversations are those *created* in [since, until). Every
figure is about them (their messages, transfers and ratings too, whenever
those came). docs/REPORTS.md defines each figure and the JSON shape. What
the definitions would recompute from the messages (the first agent message,
the transfers, the message count) is kept on the conversation as they are stored.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum, Value

from agents.models import AgentProfile
from chat.models import Conversation, EndReason, Message, Sender

from .expressions import MessageCount, Millis, UtcHour
from .percentiles import EMPTY, percentiles_of

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

# The conversation's first agent message (its agent message with the
# smallest id, ids being the conversation's order) is kept on the
# conversation by the message writer, in the UPDATE that counts each batch
# (chat.message_store.sql.count_messages); the agents' messages are counted
# from the messages (`_counts`, `_agent_messages`).
FIRST_AGENT_AT = F("first_agent_message_at")
FIRST_AGENT_ID = F("first_agent_message_agent_id")

# From the first assignment: a transfer or a requeue later does not move them.
# In whole milliseconds (docs/REPORTS.md: each timestamp rounded first).
WAIT = Millis(F("first_assigned_at"), F("created_at"))
FIRST_RESPONSE = Millis(FIRST_AGENT_AT, F("created_at"))
DURATION = Millis(F("ended_at"), F("first_assigned_at"))

HOUR = UtcHour("created_at")


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


# How the agents' messages per topic and hour are counted, the faster way
# on each database (docs/REPORTS.md, "How the figures are read"): SQLite
# counts each conversation's on the index (conversation, sender, status),
# without reading a message; PostgreSQL groups the period's agent messages
# in the query that counts each agent's own (a hash join), where a count per
# conversation costs it a visit of the table's pages for each.
def _agents_counted_per_conversation() -> bool:
    return connection.vendor == "sqlite"


def _counts(conversations: QuerySet) -> dict[str, dict]:
    """Counts per topic, hour and (last) agent of the period's conversations.

    The customer's messages are the rest of message_count (the customer's and
    agents' messages, no system ones) once the agents' are known."""
    agent = {}
    if _agents_counted_per_conversation():
        agent["n_agent"] = Sum(MessageCount(F("id"), sender=Sender.AGENT))
    rows = (
        conversations.annotate(hour=HOUR)
        .values("topic", "hour", "agent_id")
        .annotate(
            n_conversations=Count("id"),
            n_answered=Count("id", filter=Q(first_assigned_at__isnull=False)),
            n_abandoned=Count("id", filter=ABANDONED),
            n_rated=Count("rating"),
            n_rating_sum=Sum("rating"),
            n_transfers=Sum("transfer_count"),
            n_messages=Sum("message_count"),
            **agent,
        )
    )
    return _rolled_up(rows, {"totals": None, "topics": "topic", "hours": "hour", "agents": "agent_id"})


def _period_messages(since, until):
    """The messages of the conversations started in the period."""
    return Message.objects.filter(conversation__created_at__gte=since, conversation__created_at__lt=until)


def _agent_messages(since, until) -> tuple[dict[int, int], dict[str, dict] | None]:
    """{agent id: its own messages in the period's conversations}, and (unless
    `_counts` counted them) the agents' messages per topic and hour."""
    agents = _period_messages(since, until).filter(sender=Sender.AGENT).order_by()
    if _agents_counted_per_conversation():
        rows = agents.filter(sender_agent__isnull=False).values("sender_agent_id").annotate(n=Count("id"))
        return {row["sender_agent_id"]: row["n"] for row in rows}, None
    rows = list(
        agents.annotate(topic=F("conversation__topic"), hour=UtcHour("conversation__created_at"))
        .values("topic", "hour", "sender_agent_id")
        .annotate(n_agent=Count("id"))
    )
    own: dict[int, int] = {}
    for row in rows:
        if row["sender_agent_id"] is not None:  # None: a deleted agent's
            own[row["sender_agent_id"]] = own.get(row["sender_agent_id"], 0) + row["n_agent"]
    return own, _rolled_up(rows, {"totals": None, "topics": "topic", "hours": "hour"})


def _timings(conversations: QuerySet) -> dict[str, dict]:
    """{"wait_s"|...: {grouping: {key: {"median", "p90"}}}}, read in one query.

    Each value is NULL where it has nothing to measure: the wait of a
    conversation no agent took, the first response of one without an agent
    message, the duration of one not answered or not ended.
    """
    groups = {"totals": Value(0), "topics": F("topic"), "hours": HOUR}
    return percentiles_of(
        conversations,
        values={"wait_s": WAIT, "first_response_s": FIRST_RESPONSE, "duration_s": DURATION},
        groups={
            "wait_s": groups,
            "first_response_s": {**groups, "agents": FIRST_AGENT_ID},
            "duration_s": {**groups, "agents": F("agent_id")},
        },
    )


def _csat(row: dict) -> dict:
    rated = row.get("n_rated", 0)
    return {"count": rated, "average": round(row["n_rating_sum"] / rated, 3) if rated else None}


def _figures(grouping: str, key, counts, messages, timings) -> dict:
    row = counts[grouping].get(key, {})
    agent = row.get("n_agent", 0)
    return {
        "conversations": row.get("n_conversations", 0),
        "answered": row.get("n_answered", 0),
        "abandoned": row.get("n_abandoned", 0),
        "transfers": row.get("n_transfers", 0),
        "messages": {"customer": row.get("n_messages", 0) - agent, "agent": agent},
        **{name: timings[name][grouping].get(key, EMPTY).copy() for name in timings},
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
    messages, agent_counts = _agent_messages(since, until)
    timings = _timings(conversations)
    for name in timings:
        timings[name]["agents"] = {k: v for k, v in timings[name].get("agents", {}).items() if k is not None}
    counts["hours"] = {int(k): v for k, v in counts["hours"].items() if k is not None}
    for grouping, rows in (agent_counts or {}).items():
        for key, row in rows.items():
            # A grouping's agent messages are in conversations it counts.
            counts[grouping][int(key) if grouping == "hours" else key]["n_agent"] = row["n_agent"]
    figures = {"counts": counts, "messages": messages, "timings": timings}
    topics = sorted(counts["topics"], key=lambda topic: (topic is not None, topic or ""))
    agent_ids = (set(counts["agents"]) | set(messages) | set(timings["first_response_s"]["agents"])) - {None}
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


def _agent(agent: int, name: str, counts, messages, timings) -> dict:
    """One agent: the conversations it held last (count, duration, CSAT: the
    agent of the conversation when it ended), the first responses it gave
    (the sender of the conversation's first agent message) and its own messages."""
    row = counts["agents"].get(agent, {})
    return {
        "id": agent,
        "name": name,
        "conversations": row.get("n_conversations", 0),
        "first_response_s": timings["first_response_s"]["agents"].get(agent, EMPTY).copy(),
        "duration_s": timings["duration_s"]["agents"].get(agent, EMPTY).copy(),
        "messages": messages.get(agent, 0),
        "csat": _csat(row),
    }
