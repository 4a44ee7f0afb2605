"""Data kept on purpose: what is older than the retention period is deleted.

`conversations_purge` is the one implementation, for the sweeper
(`chat.background`, settings `RETENTION_*`) and for `manage.py queue purge`
(cron, or by hand). What goes, once older than the cutoff:

- ended conversations (by `ended_at`; queued and active ones never), with
  their messages and the internal notes tied to them;
- internal messages (direct and team) tied to no conversation, by
  `created_at`; a note on a conversation still kept stays with it;
- customers with nothing left: no conversation at all, created and last
  seen before the cutoff, and no socket connected to this process;
- expired sessions (Django keeps them until `clearsessions`).

Each batch is one short transaction of at most `batch` rows of each kind
(messages, conversations, internal messages, customers, sessions): SQLite
has one writer, and the message writer must not wait behind a long delete. Candidates are found by
plain reads first; the write lock is taken only when there is something to
delete. Nothing here is announced: what it deletes has ended.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from customers.models import Customer

from ..models import Conversation, ConversationStatus, InternalMessage, Message

# Session engines whose sessions are rows of django_session.
_DB_SESSION_ENGINES = ("django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db")


@dataclass(slots=True)
class Purged:
    """What a purge deleted (or, in a dry run, would delete)."""

    conversations: int = 0
    messages: int = 0
    internal_messages: int = 0  # notes tied to the conversations, and the others
    customers: int = 0
    sessions: int = 0
    # False: stopped after `max_batches` with more left to delete.
    complete: bool = True

    def add(self, other: Purged) -> None:
        for field in fields(self):
            if field.name != "complete":
                setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


def retention_cutoff(days: float) -> datetime:
    """The moment before which data is old, `days` (a fraction allowed) ago."""
    return timezone.now() - timedelta(days=days)


def conversations_purge(
    *,
    older_than: datetime,
    batch: int,
    connected_customer_ids: Collection[int] = (),
    dry_run: bool = False,
    max_batches: int | None = None,
    pause_seconds: float = 0.0,
    progress: Callable[[Purged], None] | None = None,
) -> Purged:
    """Delete what ended or was last used before `older_than`, `batch` rows at a time.

    One transaction per batch; `progress(totals so far)` after each one.
    `max_batches` stops early (`complete` False when more is left): the
    sweeper does one batch per pass. `pause_seconds` between batches lets
    the other writers of a running server take the lock in between. `dry_run` counts what would go and
    deletes nothing. `connected_customer_ids` are kept whatever their age.
    """
    if batch < 1:
        raise ValueError("batch must be 1 or more")
    connected = frozenset(connected_customer_ids)
    if dry_run:
        return _count(older_than, connected)
    total = Purged()
    done = 0
    while True:
        deleted, full = _purge_batch(older_than, batch, connected)
        total.add(deleted)
        done += 1
        if progress is not None and deleted != Purged():
            progress(replace(total))
        if not full:
            return total
        if max_batches is not None and done >= max_batches:
            total.complete = False
            return total
        if pause_seconds > 0:
            time.sleep(pause_seconds)


def _old_conversations(cutoff: datetime):
    return Conversation.objects.filter(status=ConversationStatus.ENDED, ended_at__lt=cutoff)


def _loose_internal(cutoff: datetime):
    return InternalMessage.objects.filter(conversation__isnull=True, created_at__lt=cutoff)


def _old_customers(cutoff: datetime):
    """Customers created and last seen before the cutoff (whatever they still have)."""
    return Customer.objects.filter(created_at__lt=cutoff).filter(
        Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=cutoff)
    )


def _orphans(cutoff: datetime):
    """Old customers with no conversation at all."""
    return _old_customers(cutoff).filter(~Exists(Conversation.objects.filter(customer=OuterRef("pk"))))


def _expired_sessions():
    if settings.SESSION_ENGINE not in _DB_SESSION_ENGINES:
        return Session.objects.none()
    return Session.objects.filter(expire_date__lt=timezone.now())


def _ids(queryset, limit: int, skip: frozenset = frozenset(), order: tuple = ("pk",)) -> list:
    """The first `limit` primary keys of `queryset` (by `order`), leaving out `skip`.

    `skip` (the connected customers, thousands of them) is left out here
    rather than in SQL, where it would be one parameter per id.
    """
    if not skip:
        return list(queryset.order_by(*order).values_list("pk", flat=True)[:limit])
    ids = []
    for pk in queryset.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=max(limit, 100)):
        if pk not in skip:
            ids.append(pk)
            if len(ids) >= limit:
                break
    return ids


def _delete(queryset) -> int:
    """Delete `queryset`; the number of its own rows deleted (not the cascade's)."""
    _, per_model = queryset.delete()
    return per_model.get(queryset.model._meta.label, 0)


def _count_ids(queryset, skip: frozenset) -> int:
    if not skip:
        return queryset.count()
    return sum(1 for pk in queryset.values_list("pk", flat=True).iterator() if pk not in skip)


def _purge_batch(cutoff: datetime, batch: int, connected: frozenset) -> tuple[Purged, bool]:
    """One transaction of at most `batch` rows of each kind; and whether any kind filled it
    (more may be left)."""
    found = {
        # In no order: any old ones will do, and the index on status then
        # stops at the first `batch` instead of sorting every ended one.
        "conversations": _ids(_old_conversations(cutoff), batch, order=()),
        "internal": _ids(_loose_internal(cutoff), batch),
        # Customers whose conversations go in this batch are found again below.
        "customers": _ids(_orphans(cutoff), batch, skip=connected),
        "sessions": _ids(_expired_sessions(), batch),
    }
    if not any(found.values()):
        return Purged(), False  # nothing to delete: no write lock taken
    deleted = Purged()
    with transaction.atomic():
        # Checked again under the write lock: nothing can have reopened since.
        conversation_ids = _ids(
            _old_conversations(cutoff).filter(id__in=found["conversations"]), batch, order=()
        )
        # At most `batch` messages, however long the conversations: a
        # conversation goes once its last message has gone, maybe a few
        # batches later.
        message_ids = list(
            Message.objects.filter(conversation_id__in=conversation_ids)
            .order_by("conversation_id", "id")  # msg_conv_id_idx: one conversation after another
            .values_list("id", flat=True)[:batch]
        )
        deleted.messages = _delete(Message.objects.filter(id__in=message_ids))
        emptied = dict(
            Conversation.objects.filter(id__in=conversation_ids)
            .filter(~Exists(Message.objects.filter(conversation=OuterRef("pk"))))
            .values_list("id", "customer_id")
        )
        customer_ids = set(emptied.values()) - connected
        notes = _delete(InternalMessage.objects.filter(conversation_id__in=list(emptied)))
        deleted.conversations = _delete(Conversation.objects.filter(id__in=list(emptied)))
        loose = _delete(_loose_internal(cutoff).filter(id__in=found["internal"]))
        deleted.internal_messages = notes + loose
        # Locked (PostgreSQL) so that a join resuming one of them waits and
        # then finds it gone, rather than opening a conversation for it.
        candidates = (
            _orphans(cutoff)
            .select_for_update()
            .filter(id__in=customer_ids | set(found["customers"]))
            .values_list("id", flat=True)
        )
        deleted.customers = _delete(Customer.objects.filter(id__in=list(candidates)))
        deleted.sessions = _delete(_expired_sessions().filter(pk__in=found["sessions"]))
    full = len(message_ids) >= batch or any(len(ids) >= batch for ids in found.values())
    return deleted, full


def _count(cutoff: datetime, connected: frozenset) -> Purged:
    """What a purge would delete now, deleting nothing."""
    old = _old_conversations(cutoff)
    kept = Conversation.objects.filter(customer=OuterRef("pk")).exclude(id__in=old.values("id"))
    customers = _old_customers(cutoff).filter(~Exists(kept))
    return Purged(
        conversations=old.count(),
        messages=Message.objects.filter(conversation__in=old).count(),
        internal_messages=InternalMessage.objects.filter(conversation__in=old).count()
        + _loose_internal(cutoff).count(),
        customers=_count_ids(customers, skip=connected),
        sessions=_expired_sessions().count(),
    )
