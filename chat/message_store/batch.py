"""Storing a batch of drafts: the usual four statements, or the whole story.

See the package docstring for the loop path's invariants; everything above
`store_batch` keeps them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import access, selectors
from ..errors import CONFLICT, ChatError
from ..models import ConversationStatus, DeliveryStatus, Message, Sender
from . import attachments, sql
from .drafts import Draft, Stored

# reaches(sender, customer_id, agent_id): is the recipient connected here?
Reaches = Callable[[str, int, int | None], bool]
Outcome = Stored | ChatError
_AGENT = str(Sender.AGENT)  # a plain str: compared once per stored message


def store_usual_batch(
    cursor, *, drafts: list[Draft], delivered_ids: list[int], stamp, reaches: Reaches | None = None
) -> list[Outcome] | None:
    """The usual batch, on `cursor` in the caller's transaction; None: not a usual batch.

    None means the caller rolls back (part of the batch may be written) and
    hands the batch to `store_batch`: a customer writing after the end, a
    client_id stored in an earlier batch, or an attachment, needs more than
    these statements.

    `reaches` says whether a message's recipient is connected: those are
    stored `delivered` at once, for a caller that sends them before anything
    else can run (one write, not two).
    """
    if attachments.has_attachments(drafts):
        return None  # checked and linked with the ORM: the worker thread's
    if delivered_ids:
        sql.mark_delivered(cursor, delivered_ids)
    if not drafts:
        return []
    convs = sql.conversation_rows(cursor, {d.conversation_id for d in drafts} - {None})
    if _needs_opening(drafts, convs):
        return None
    inserted = _insert(cursor, drafts, convs, stamp, reaches)
    if inserted.lookup:
        return None
    return _outcomes(inserted, {}, convs)


# Rounds of opening conversations for one batch: one, unless a conversation
# opened for it is ended again before the batch commits.
_OPENING_ROUNDS = 3


def store_batch(*, drafts: list[Draft], delivered_ids: list[int]) -> list[Outcome]:
    """Store a batch in one transaction of its own, whatever it holds (worker thread).

    Also marks `delivered_ids` delivered. Ids follow the drafts' order.
    Customer drafts with no conversation (`conversation_id` None) or an
    ended one go to the customer's open conversation, opened if need be
    (announced through the outbox: the caller collects it).
    """
    stamp = connection.ops.adapt_datetimefield_value
    rounds = 0
    # Drafts refused a new conversation (too many from their address), by index.
    refused: dict[int, ChatError] = {}
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            if delivered_ids:
                sql.mark_delivered(cursor, delivered_ids)
                delivered_ids = []
            if not drafts:
                return []
            convs = sql.conversation_rows(cursor, {d.conversation_id for d in drafts} - {None})
            if rounds == _OPENING_ROUNDS or not _needs_opening(drafts, convs):
                checked = attachments.check(drafts) if attachments.has_attachments(drafts) else None
                inserted = _insert(cursor, drafts, convs, stamp, None, checked)
                if checked is not None:
                    attachments.link(cursor, checked, inserted.fresh, drafts)
                earlier = _messages_under(cursor, inserted.lookup) if inserted.lookup else {}
                outcomes = _outcomes(inserted, earlier, convs)
                for i, error in refused.items():
                    if not isinstance(outcomes[i], Stored):
                        outcomes[i] = error
                if checked is not None or earlier:
                    attachments.fill(outcomes, checked or attachments.Checked())
                return outcomes
        # Rare: a customer wrote after the end. Open the new conversation
        # (its own transactions), then store the batch.
        rounds = rounds + 1 if _open_for(drafts, convs, refused) else _OPENING_ROUNDS


def _ended(row: access.ConversationRow | None) -> bool:
    return row is not None and row.status == ConversationStatus.ENDED


def _needs_opening(drafts: list[Draft], convs: dict[int, access.ConversationRow]) -> bool:
    """Whether a customer draft has no conversation yet, or aims at an ended one."""
    for d in drafts:
        if d.sender == Sender.CUSTOMER and (
            d.conversation_id is None or _ended(convs.get(d.conversation_id))
        ):
            return True
    return False


def _open_for(
    drafts: list[Draft], convs: dict[int, access.ConversationRow], refused: dict[int, ChatError]
) -> bool:
    """Send customer drafts with no open conversation to one; True if any moved.

    Writing after a chat ended (or before any) opens a new conversation.
    Doing it here, in draft order, keeps a burst that straddles the end in
    the order it was sent. Each reopening is its own transaction (taking the
    assignment lock first, like every assignment). A draft whose client_id
    is already stored in the ended conversation stays, so the resend returns
    the stored message. A customer whose address has opened too many
    conversations lately gets none: its drafts are refused `rate_limited`.
    """
    from ..realtime import limits
    from ..services.joins import conversation_reopen  # services sit above the store

    ended = {i for i, row in convs.items() if _ended(row)}
    already = set(
        Message.objects.filter(
            conversation_id__in=ended,
            sender=Sender.CUSTOMER,
            client_id__in={d.client_id for d in drafts if d.client_id is not None},
        ).values_list("conversation_id", "client_id")
    )
    opened: dict[int, int | None] = {}
    for i, d in enumerate(drafts):
        if d.sender != Sender.CUSTOMER or not (d.conversation_id is None or d.conversation_id in ended):
            continue
        if i in refused or (d.conversation_id, d.client_id) in already:
            continue
        if d.customer_id not in opened:
            allowed = limits.new_conversation_allowed_sync(d.client_address)
            opened[d.customer_id] = conversation_reopen(customer_id=d.customer_id) if allowed else None
        if opened[d.customer_id] is None:
            refused[i] = limits.refusal(limits.too_many_chats())
            continue
        d.conversation_id = opened[d.customer_id]
    return any(c is not None for c in opened.values())


@dataclass(slots=True)
class _Inserted:
    """What `_insert` did with each draft, before earlier messages are looked up."""

    outcomes: list  # ChatError, or None where decided below
    fresh: list[tuple[int, sql.NewMessage]] = field(default_factory=list)
    # The same key again within the batch: answered with the first.
    repeats: list[tuple[int, sql.MessageKey]] = field(default_factory=list)
    # Refused as ended or full: a resend of what was stored before stays valid.
    refused_after_end: list[tuple[int, sql.MessageKey]] = field(default_factory=list)
    # Keys stored by an earlier batch, to be read back.
    lookup: set[sql.MessageKey] = field(default_factory=set)


def _full(most: int) -> ChatError:
    return ChatError(
        CONFLICT,
        _("This conversation has reached its limit of %(limit)d messages; start a new chat."),
        limit=most,
    )


def _insert(
    cursor,
    drafts: list[Draft],
    convs,
    stamp,
    reaches: Reaches | None,
    checked: attachments.Checked | None = None,
) -> _Inserted:
    """Insert the drafts that may be stored; what each one got, and the conversations' counts kept.

    A conversation holding CONVERSATION_MAX_MESSAGES refuses more (`conflict`):
    its count comes with the access row the batch reads anyway, and one
    UPDATE per batch keeps it. `checked`: the batch's uploads, and the drafts
    refused for theirs (which are not stored, after the access check).
    """
    now = timezone.now()
    most = settings.CONVERSATION_MAX_MESSAGES
    # Messages each conversation would hold, counting this batch's so far.
    held: dict[int, int] = {}
    done = _Inserted([None] * len(drafts))
    # Keys as plain tuples (equal to, and hashed as, their MessageKey): one is
    # made for every message with a client id, and a NamedTuple costs 7x more.
    in_batch: dict[tuple, sql.NewMessage] = {}
    for i, d in enumerate(drafts):
        row = convs.get(d.conversation_id)
        if d.sender == Sender.CUSTOMER:
            error = access.customer_refusal(row, d.customer_id)
        else:
            error = access.agent_refusal(row, d.agent_id)
        key = None if d.client_id is None else (d.conversation_id, d.sender, d.client_id)
        if error is None and checked is not None:
            error = checked.refused.get(i)
        if error is not None:
            done.outcomes[i] = error
            if key is not None and isinstance(error, access.ConversationEndedError):
                done.refused_after_end.append((i, key))
            continue
        if key is not None and key in in_batch:
            done.repeats.append((i, key))
            continue
        count = held.get(row.id, row.message_count)
        if count >= most:
            done.outcomes[i] = _full(most)
            if key is not None:
                done.refused_after_end.append((i, key))
            continue
        held[row.id] = count + 1
        m = sql.NewMessage(d.conversation_id, d.sender, d.agent_id, d.sender_name, d.text, d.client_id, now)
        if reaches is not None and reaches(d.sender, row.customer_id, row.agent_id):
            m.status = DeliveryStatus.DELIVERED
        done.fresh.append((i, m))
        if key is not None:
            in_batch[key] = m
    sql.insert_messages(cursor, [m for _, m in done.fresh], stamp)  # a key stored before: id None
    added: dict[int, int] = {}
    # Conversations whose first agent message this is, with its sender: ids
    # follow the drafts' order, so the first one met is the first stored.
    firsts: dict[int, int] = {}
    for _i, m in done.fresh:
        if m.id is not None:
            added[m.conversation_id] = added.get(m.conversation_id, 0) + 1
            if (
                m.sender == _AGENT
                and m.conversation_id not in firsts
                and not convs[m.conversation_id].answered
            ):
                firsts[m.conversation_id] = m.sender_agent_id
    if added:
        if firsts:
            sql.count_messages(cursor, added, firsts, stamp(now))
        else:
            sql.count_messages(cursor, added)
    done.lookup = {m.key for _, m in done.fresh if m.id is None} | {key for _, key in done.refused_after_end}
    # Repeats answer with the first of their key: stored now, or found earlier.
    for i, key in done.repeats:
        done.outcomes[i] = in_batch[key]
    return done


def _outcomes(
    done: _Inserted, earlier: dict[sql.MessageKey, Message], convs: dict[int, access.ConversationRow]
) -> list[Outcome]:
    """Each draft's outcome, given the messages stored earlier under the keys looked up."""
    found: list = list(done.outcomes)
    for i, m in done.fresh:
        found[i] = (m, True) if m.id is not None else (earlier[m.key], False)
    for i, key in done.repeats:
        first = found[i]
        found[i] = (first, False) if first.id is not None else (earlier[key], False)
    for i, key in done.refused_after_end:
        if key in earlier:
            found[i] = (earlier[key], False)
    result: list[Outcome] = []
    for outcome in found:
        if isinstance(outcome, ChatError):
            result.append(outcome)
            continue
        m, new = outcome
        row = convs[m.conversation_id]
        result.append(Stored(selectors.chat_message_shape(m), row.customer_id, row.agent_id, new))
    return result


def _messages_under(cursor, keys: set[sql.MessageKey]) -> dict[sql.MessageKey, Message]:
    """Messages stored earlier under these keys (worker thread: the ORM is fine here)."""
    ids = sql.message_ids_under(cursor, keys)
    if not ids:
        return {}
    return {
        sql.MessageKey(m.conversation_id, m.sender, m.client_id): m
        for m in Message.objects.filter(id__in=ids)
    }
