"""Queue maintenance for operators: status, drain, requeue-stale, close-idle, purge."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from agents.models import AgentProfile
from chat.actions import run_from_sync
from chat.errors import ChatError
from chat.models import Conversation, ConversationStatus
from chat.services import endings, presence, queue, retention, uploads


class Command(BaseCommand):
    help = (
        "Keep the queue healthy. Actions: status (what waits, who is online), drain (assign what "
        "fits now), requeue-stale (active chats of agents gone past the grace period), close-idle "
        "(end chats whose customer left and went quiet), purge (delete what is older than "
        "--days: ended conversations with their messages and notes, internal messages, customers with "
        "nothing left, expired sessions; --dry-run shows what would go)."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "drain", "requeue-stale", "close-idle", "purge"])
        parser.add_argument(
            "--days",
            type=float,
            default=None,
            help="purge: age of what goes, in days (a fraction allowed; default RETENTION_DAYS).",
        )
        parser.add_argument("--dry-run", action="store_true", help="purge: count only, delete nothing.")
        parser.add_argument(
            "--batch", type=int, default=None, help="purge: rows per transaction (default RETENTION_BATCH)."
        )
        parser.add_argument(
            "--pause", type=float, default=0.1, help="purge: seconds between transactions (0.1)."
        )

    def handle(self, *args, action, **options):
        try:
            getattr(self, "do_" + action.replace("-", "_"))(**options)
        except ChatError as error:
            raise CommandError(error.message) from None

    def do_status(self, **_):
        counts = dict(Conversation.objects.values_list("status").annotate(n=Count("id")).order_by())
        self.stdout.write(
            f"queued {counts.get('queued', 0)}, active {counts.get('active', 0)}, "
            f"ended {counts.get('ended', 0)}"
        )
        head = Conversation.objects.filter(status=ConversationStatus.QUEUED).order_by("queue_order", "id")
        for position, conversation in enumerate(head.select_related("customer")[:20], start=1):
            waited = timezone.now() - (conversation.queued_at or conversation.created_at)
            self.stdout.write(
                f"  {position:>3}. #{conversation.id} {conversation.customer.name} "
                f"topic={conversation.topic or '-'} waiting {int(waited.total_seconds())} s"
            )
        agents = AgentProfile.objects.annotate(
            active=Count("conversations", filter=Q(conversations__status=ConversationStatus.ACTIVE))
        ).order_by("display_name")
        for agent in agents:
            self.stdout.write(
                f"  agent {agent.display_name}: {agent.status}, sockets {agent.sockets}, "
                f"{agent.active}/{agent.capacity}, skills {','.join(agent.skills) or '-'}"
            )

    def do_drain(self, **_):
        before = Conversation.objects.filter(status=ConversationStatus.QUEUED).count()
        run_from_sync(queue.queue_drain)
        after = Conversation.objects.filter(status=ConversationStatus.QUEUED).count()
        self.stdout.write(f"assigned {before - after}, still queued {after}")

    def do_requeue_stale(self, **_):
        gone = run_from_sync(
            presence.agents_expire_absent, grace_seconds=settings.CHAT["AGENT_GRACE_SECONDS"]
        )
        self.stdout.write(f"agents set offline: {len(gone)}")

    def do_close_idle(self, **_):
        # No sockets here: a customer connected to any server process is
        # kept seen by that process (chat.background), so it is not idle.
        closed = run_from_sync(
            endings.conversations_close_idle,
            idle_seconds=settings.CHAT["CUSTOMER_IDLE_SECONDS"],
            connected_customer_ids=set(),
        )
        self.stdout.write(f"closed {closed}")

    def do_purge(self, *, days, dry_run, batch, pause, **unused):
        if days is None:
            days = settings.RETENTION_DAYS
        if days <= 0:
            raise CommandError(_("--days must be more than 0 (RETENTION_DAYS=0 keeps everything)."))
        if batch is None:
            batch = settings.RETENTION_BATCH
        if batch < 1:
            raise CommandError(_("--batch must be 1 or more."))
        cutoff = retention.retention_cutoff(days)
        would = retention.conversations_purge(older_than=cutoff, batch=batch, dry_run=True)
        if dry_run:
            self.stdout.write(_("would delete %(what)s (dry run)") % {"what": _describe(would)})
            return

        def progress(done: retention.Purged) -> None:
            self.stdout.write(
                _("deleted %(done)d/%(total)d conversations, %(messages)d/%(all)d messages")
                % {
                    "done": done.conversations,
                    "total": would.conversations,
                    "messages": done.messages,
                    "all": would.messages,
                }
            )

        done = retention.conversations_purge(
            older_than=cutoff, batch=batch, pause_seconds=max(pause, 0.0), progress=progress
        )
        self.stdout.write(_("deleted %(what)s") % {"what": _describe(done)})
        unsent_before = timezone.now() - timedelta(seconds=settings.UPLOAD_UNSENT_MAX_AGE)
        unsent = 0
        while deleted := uploads.attachments_purge_unsent(older_than=unsent_before, batch=batch):
            unsent += deleted
        self.stdout.write(_("deleted %(count)d uploads never sent") % {"count": unsent})


def _describe(purged: retention.Purged) -> str:
    return _(
        "%(conversations)d conversations, %(messages)d messages, %(internal)d internal messages, "
        "%(customers)d customers, %(sessions)d expired sessions"
    ) % {
        "conversations": purged.conversations,
        "messages": purged.messages,
        "internal": purged.internal_messages,
        "customers": purged.customers,
        "sessions": purged.sessions,
    }
