"""`manage.py seed_demo`: a realistic history of ended conversations, for reports and demos.

In `agents` because it may create agents (agents.services); `agents` depends on `chat`, not back.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from agents.models import AgentProfile
from agents.services import agent_create
from chat import system_notes
from chat.models import Conversation, EndReason, Message
from cs_project.commands import TranslatedCommand
from customers.models import Customer, new_token_key

BATCH = 5000
TOPICS = (None, "billing", "orders", "returns", "technical")
CUSTOMER_LINES = ("Hello, I need some help.", "My order has not arrived.", "Thanks!", "Is that so?", "OK.")
AGENT_LINES = (
    "Hello! How can I help?",
    "Let me check that for you.",
    "Done, anything else?",
    "You're welcome.",
)
# Busier in the (UTC) working day: weight of each hour of the day.
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 9, 8, 9, 10, 10, 9, 7, 5, 4, 3, 2, 2, 1]

CONVERSATION_COLUMNS = (
    "id, customer_id, agent_id, status, topic, created_at, queue_order, queued_at, assigned_at,"
    " ended_at, end_reason, message_count, rating, rating_comment, rated_at, first_assigned_at,"
    " transfer_count, first_agent_message_at, first_agent_message_agent_id"
)
MESSAGE_COLUMNS = (
    "conversation_id, sender, sender_agent_id, sender_name, text, client_id, created_at, status,"
    " system_code, system_params"
)


class Command(TranslatedCommand):
    help = _(
        "Fill the database with a realistic history for reports: ended conversations over the last "
        "--days days, with waits, first responses, abandoned waits, transfers and ratings. "
        "DEBUG only, unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--conversations", type=int, default=2000, help=gettext("How many conversations (2000).")
        )
        parser.add_argument(
            "--days", type=int, default=14, help=gettext("Spread over this many days up to now (14).")
        )
        parser.add_argument(
            "--seed", type=int, default=None, help=gettext("Random seed, for the same history again.")
        )
        parser.add_argument(
            "--force", action="store_true", help=gettext("Run with DEBUG off too (the data is made up).")
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help=gettext("Only on a database with no conversation yet (make run's first start)."),
        )

    def handle(self, *args, conversations, days, seed, force, if_empty, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                _(
                    "seed_demo fills the database with made-up conversations: it runs with DEBUG=1."
                    " --force runs it anyway."
                )
            )
        if conversations < 1 or days < 1:
            raise CommandError(_("--conversations and --days must be at least 1."))
        if if_empty and Conversation.objects.exists():
            return
        rng = random.Random(seed)
        agents = self._agents()
        today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
        start = today - timedelta(days=days)  # whole UTC days, up to today 00:00
        seeder = _Seeder(rng, agents, start, days)
        done = 0
        while done < conversations:
            size = min(BATCH, conversations - done)
            with transaction.atomic():
                seeder.batch(size)
            done += size
            self.stdout.write(f"{done}/{conversations}")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), [Conversation, Message, Customer]):
                    cursor.execute(sql)

    def _agents(self) -> list[tuple[int, str]]:
        agents = list(AgentProfile.objects.values_list("id", "display_name"))
        for n in range(len(agents), 3):
            profile, _token = agent_create(
                username=f"demo-seed-{n + 1}",
                password=None,
                display_name=f"Agent {n + 1}",
                capacity=5,
                skills=[],
                supervisor=False,
            )
            agents.append((profile.id, profile.display_name))
        return agents


class _Seeder:
    def __init__(self, rng: random.Random, agents, start, days):
        self.rng, self.agents, self.start, self.days = rng, agents, start, days
        self.next_id = (Conversation.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
        self.json = Message._meta.get_field("system_params")
        self.adapt = connection.ops.adapt_datetimefield_value

    def moment(self):
        day = self.rng.randrange(self.days)
        hour = self.rng.choices(range(24), HOUR_WEIGHTS)[0]
        offset = timedelta(days=day, hours=hour, seconds=self.rng.uniform(0, 3600))
        return self.start + offset

    def batch(self, size: int) -> None:
        rng = self.rng
        ids = list(range(self.next_id, self.next_id + size))
        self.next_id += size
        customer_rows = []
        conversation_rows = []
        message_rows = []
        created = [self.moment() for _ in ids]
        for created_at in created:
            customer_rows.append(
                (f"Customer {rng.randrange(10**6)}", "", self.adapt(created_at), new_token_key())
            )
        with connection.cursor() as cursor:
            first_customer = self._insert_customers(cursor, customer_rows)
            for n, (conversation_id, created_at) in enumerate(zip(ids, created, strict=True)):
                conversation_rows.append(
                    self._conversation(conversation_id, first_customer + n, created_at, message_rows)
                )
            cursor.executemany(
                f"INSERT INTO chat_conversation ({CONVERSATION_COLUMNS}) VALUES ({', '.join(['%s'] * 19)})",
                conversation_rows,
            )
            cursor.executemany(
                f"INSERT INTO chat_message ({MESSAGE_COLUMNS}) VALUES ({', '.join(['%s'] * 10)})",
                message_rows,
            )

    def _insert_customers(self, cursor, rows) -> int:
        """Insert the customers; the id of the first (the others follow it)."""
        first = (Customer.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
        cursor.executemany(
            "INSERT INTO customers_customer (id, name, email, created_at, token_key)"
            " VALUES (%s, %s, %s, %s, %s)",
            [(first + n, *row) for n, row in enumerate(rows)],
        )
        return first

    def _message(self, rows, conversation_id, sender, agent, at, text, note=None):
        code, params, note_text = note or ("", None, "")
        rows.append(
            (
                conversation_id,
                sender,
                agent[0] if agent else None,
                agent[1] if agent else ("System" if sender == "system" else "Customer"),
                note_text or text,
                None,
                self.adapt(at),
                2,
                code,
                self.json.get_db_prep_save(params, connection) if params is not None else None,
            )
        )

    def _conversation(self, conversation_id, customer_id, created_at, rows) -> tuple:
        rng = self.rng
        topic = rng.choice(TOPICS)
        self._message(
            rows, conversation_id, "customer", None, created_at + timedelta(seconds=1), CUSTOMER_LINES[0]
        )
        wait = timedelta(seconds=round(rng.expovariate(1 / 45), 3))
        if rng.random() < 0.08:  # the customer gave up waiting
            ended_at = created_at + wait * 2
            reason = rng.choice([EndReason.CUSTOMER_LEFT, EndReason.CUSTOMER_LEFT, EndReason.CUSTOMER_IDLE])
            note = system_notes.note(system_notes.ENDED_BY_CUSTOMER, customer="Customer")
            self._message(rows, conversation_id, "system", None, ended_at, "", note)
            return (
                conversation_id, customer_id, None, "ended", topic, self.adapt(created_at), None,
                self.adapt(created_at), None, self.adapt(ended_at), reason, 1, None, "", None, None,
                0, None, None,
            )  # fmt: skip
        agent = rng.choice(self.agents)
        first_assigned_at = latest_assigned_at = created_at + wait
        self._message(
            rows,
            conversation_id,
            "system",
            None,
            first_assigned_at,
            "",
            system_notes.note(system_notes.JOINED, agent=agent[1]),
        )
        at = first_assigned_at + timedelta(seconds=round(rng.lognormvariate(2.7, 0.7), 3))  # first reply
        counted = 1
        first = None  # the first agent message: (when, who), as the message writer keeps it
        exchanges = rng.randint(1, 6)
        transfer_at = rng.randrange(exchanges) if rng.random() < 0.06 else None
        for i in range(exchanges):
            if i == transfer_at:
                to = rng.choice([a for a in self.agents if a != agent] or [agent])
                note = system_notes.note(system_notes.TRANSFERRED, agent=to[1], from_agent=agent[1])
                self._message(rows, conversation_id, "system", None, at, "", note)
                latest_assigned_at = at  # as a transfer sets it
                agent, at = to, at + timedelta(seconds=rng.uniform(5, 40))
            self._message(rows, conversation_id, "agent", agent, at, rng.choice(AGENT_LINES))
            first = first or (self.adapt(at), agent[0])
            at += timedelta(seconds=rng.uniform(10, 90))
            self._message(rows, conversation_id, "customer", None, at, rng.choice(CUSTOMER_LINES))
            at += timedelta(seconds=rng.uniform(10, 120))
            counted += 2
        ended_at = at
        if rng.random() < 0.85:
            reason, note = (
                EndReason.AGENT_ENDED,
                system_notes.note(system_notes.ENDED_BY_AGENT, agent=agent[1]),
            )
        else:
            reason, note = (
                EndReason.CUSTOMER_LEFT,
                system_notes.note(system_notes.ENDED_BY_CUSTOMER, customer="Customer"),
            )
        self._message(rows, conversation_id, "system", None, ended_at, "", note)
        rating = rated_at = None
        if rng.random() < 0.4:
            rating = rng.choices([1, 2, 3, 4, 5], [5, 5, 10, 30, 50])[0]
            rated_at = self.adapt(ended_at + timedelta(seconds=rng.uniform(2, 30)))
        return (
            conversation_id, customer_id, agent[0], "ended", topic, self.adapt(created_at), None,
            self.adapt(created_at), self.adapt(latest_assigned_at), self.adapt(ended_at), reason, counted,
            rating, "", rated_at, self.adapt(first_assigned_at), int(transfer_at is not None), *first,
        )  # fmt: skip
