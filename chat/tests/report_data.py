"""A hand-built day for the report tests; every figure below is worked out by hand.

T0 = 2026-12-01 10:00 UTC. In the period [2026-12-01, 2026-12-02):
  c1 billing, ann: waits 10 s, ann answers at +25 s, ended at +310 s (lasted 300 s), rated 5.
  c2 no topic: ben takes it after 30 s (+1 h), answers at +40 s, transfers it to ann, who
     writes and ends it at +630 s (lasted 600 s), rated 3.
  c3 orders: the customer leaves after 60 s unanswered (+2 h): abandoned.
  c4 billing, ann: waits 50 s (+2 h 5 min), ann answers at +70 s, still active.
Before the period: c5 (not counted).
"""

from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 12, 1, 10, tzinfo=UTC)
SINCE, UNTIL = "2026-12-01", "2026-12-02"


def build() -> dict:
    from agents.services import agent_create
    from chat import system_notes
    from chat.models import Conversation, Message
    from customers.models import Customer

    ann, _ = agent_create(
        username="ann", password=None, display_name="Ann", capacity=5, skills=[], supervisor=False
    )
    ben, _ = agent_create(
        username="ben", password=None, display_name="Ben", capacity=5, skills=[], supervisor=False
    )

    def conversation(
        start, *, topic=None, agent=None, status="ended", assigned=None, ended=None, reassigned=None, **fields
    ):
        customer = Customer.objects.create(name="C")
        c = Conversation.objects.create(customer=customer, status=status, topic=topic, agent=agent, **fields)
        Conversation.objects.filter(pk=c.pk).update(
            created_at=start,
            first_assigned_at=start + timedelta(seconds=assigned) if assigned is not None else None,
            # A transfer or requeue sets assigned_at again; the reports keep to the first.
            assigned_at=start + timedelta(seconds=reassigned if reassigned is not None else assigned)
            if assigned is not None
            else None,
            ended_at=start + timedelta(seconds=ended) if ended is not None else None,
        )
        return c, start

    def say(c, start, seconds, sender, agent=None, note=None):
        code, params, text = note or ("", None, "hi")
        Message.objects.create(
            conversation=c,
            sender=sender,
            sender_agent=agent,
            sender_name="x",
            text=text,
            created_at=start + timedelta(seconds=seconds),
            system_code=code,
            system_params=params,
        )

    c1, s1 = conversation(
        T0, topic="billing", agent=ann, assigned=10, ended=310, end_reason="agent_ended", rating=5
    )
    say(c1, s1, 1, "customer")
    say(c1, s1, 10, "system", note=system_notes.note(system_notes.JOINED, agent="Ann"))
    say(c1, s1, 25, "agent", ann)
    say(c1, s1, 30, "customer")

    c2, s2 = conversation(
        T0 + timedelta(hours=1),
        agent=ann,
        assigned=30,
        reassigned=50,  # the transfer
        ended=630,
        end_reason="agent_ended",
        rating=3,
    )
    say(c2, s2, 1, "customer")
    say(c2, s2, 40, "agent", ben)
    say(c2, s2, 50, "system", note=system_notes.note(system_notes.TRANSFERRED, agent="Ann", from_agent="Ben"))
    say(c2, s2, 60, "agent", ann)

    c3, s3 = conversation(T0 + timedelta(hours=2), topic="orders", ended=60, end_reason="customer_left")
    say(c3, s3, 1, "customer")

    c4, s4 = conversation(
        T0 + timedelta(hours=2, minutes=5), topic="billing", agent=ann, status="active", assigned=50
    )
    say(c4, s4, 1, "customer")
    say(c4, s4, 70, "agent", ann)

    c5, s5 = conversation(
        T0 - timedelta(days=1), agent=ann, assigned=1, ended=2, end_reason="agent_ended", rating=1
    )
    say(c5, s5, 1, "customer")
    say(c5, s5, 2, "agent", ann)
    # Made with the ORM, not the message writer: the conversations' counts and
    # first agent messages as the migration fills them in for old messages.
    backfill()
    return {"ann": ann.id, "ben": ben.id}


def backfill() -> None:
    """Run migration 0010's backfill (what the message writer keeps per conversation)."""
    import importlib

    from django.db import connection

    migration = importlib.import_module("chat.migrations.0010_conversation_report_columns")
    with connection.cursor() as cursor:
        cursor.execute(migration.BACKFILL)


def expected(ids: dict) -> dict:
    def p(median, p90):
        return {"median": median, "p90": p90}

    none = p(None, None)
    return {
        "period": {"since": "2026-12-01T00:00:00Z", "until": "2026-12-02T00:00:00Z"},
        "totals": {
            "conversations": 4,
            "answered": 3,
            "abandoned": 1,
            "transfers": 1,
            "messages": {"customer": 5, "agent": 4},
            "wait_s": p(30.0, 46.0),  # 10, 30, 50: h = 2 * 0.9 = 1.8 -> 30 + 0.8 * 20
            "first_response_s": p(40.0, 64.0),  # 25, 40, 70
            "duration_s": p(450.0, 570.0),  # 300, 600: h = 0.9 -> 300 + 0.9 * 300
            "csat": {"count": 2, "average": 4.0},
        },
        "agents": [
            {
                "id": ids["ann"],
                "name": "Ann",
                "conversations": 3,
                "first_response_s": p(47.5, 65.5),  # 25, 70
                "duration_s": p(450.0, 570.0),
                "messages": 3,
                "csat": {"count": 2, "average": 4.0},
            },
            {
                "id": ids["ben"],
                "name": "Ben",
                "conversations": 0,
                "first_response_s": p(40.0, 40.0),
                "duration_s": none,
                "messages": 1,
                "csat": {"count": 0, "average": None},
            },
        ],
        "topics": {
            None: (1, 1, 0, 1, 1, 2, p(30.0, 30.0), p(40.0, 40.0), p(600.0, 600.0), 1, 3.0),
            "billing": (2, 2, 0, 0, 3, 2, p(30.0, 46.0), p(47.5, 65.5), p(300.0, 300.0), 1, 5.0),
            "orders": (1, 0, 1, 0, 1, 0, none, none, none, 0, None),
        },
        "hours": {
            10: (1, 1, 0, 0, 2, 1, p(10.0, 10.0), p(25.0, 25.0), p(300.0, 300.0), 1, 5.0),
            11: (1, 1, 0, 1, 1, 2, p(30.0, 30.0), p(40.0, 40.0), p(600.0, 600.0), 1, 3.0),
            12: (2, 1, 1, 0, 2, 1, p(50.0, 50.0), p(70.0, 70.0), none, 0, None),
        },
    }


def row(
    conversations, answered, abandoned, transfers, customer, agent, wait, first, duration, rated, average
):
    return {
        "conversations": conversations,
        "answered": answered,
        "abandoned": abandoned,
        "transfers": transfers,
        "messages": {"customer": customer, "agent": agent},
        "wait_s": wait,
        "first_response_s": first,
        "duration_s": duration,
        "csat": {"count": rated, "average": average},
    }
