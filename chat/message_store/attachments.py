"""Attachments sent in messages: who may send which, and the link once stored.

Only batches that hold an attachment come here, on the writer's worker
thread (the loop path hands them over: `store_usual_batch`'s caller checks
`has_attachments`). An upload may be sent once, by whoever uploaded it:

| case                                               | code        |
| -------------------------------------------------- | ----------- |
| no such upload                                     | `not_found` |
| uploaded by someone else                           | `forbidden` |
| already sent, in another message                   | `forbidden` |

A resend of the message that carried it (the same client_id) is not a
second sending: it gets the stored message back, attachment and all. The
upload's row is locked (PostgreSQL) from the check to the link, so two
processes cannot both send it; on SQLite the writer is alone anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from ..attachments import shape
from ..errors import FORBIDDEN, NOT_FOUND, ChatError
from ..models import Attachment, Message, Sender
from .drafts import Draft


def has_attachments(drafts: list[Draft]) -> bool:
    return any(d.attachment_id is not None for d in drafts)


@dataclass(slots=True)
class Checked:
    """The batch's uploads, locked, and the drafts refused for theirs (by index)."""

    rows: dict[int, Attachment] = field(default_factory=dict)
    refused: dict[int, ChatError] = field(default_factory=dict)


def check(drafts: list[Draft]) -> Checked:
    """Lock the uploads the drafts send and decide which drafts may send theirs."""
    ids = {d.attachment_id for d in drafts if d.attachment_id is not None}
    checked = Checked()
    if not ids:
        return checked
    checked.rows = {a.id: a for a in Attachment.objects.select_for_update().filter(id__in=ids)}
    sent_in = {
        m.id: (m.conversation_id, m.sender, m.client_id)
        for m in Message.objects.filter(id__in={a.message_id for a in checked.rows.values()} - {None})
    }
    claimed: dict[int, tuple] = {}  # upload id -> the key of the draft sending it in this batch
    for i, d in enumerate(drafts):
        if d.attachment_id is None:
            continue
        row = checked.rows.get(d.attachment_id)
        key = (d.conversation_id, d.sender, d.client_id)
        if row is None:
            checked.refused[i] = ChatError(NOT_FOUND, _("No such attachment."))
        elif (row.customer_id if d.sender == Sender.CUSTOMER else row.agent_id) != (
            d.customer_id if d.sender == Sender.CUSTOMER else d.agent_id
        ):
            checked.refused[i] = ChatError(FORBIDDEN, _("This attachment was uploaded by someone else."))
        elif row.message_id is not None and (d.client_id is None or sent_in.get(row.message_id) != key):
            checked.refused[i] = _already_sent()
        elif row.id not in claimed:
            claimed[row.id] = key
        elif d.client_id is None or claimed[row.id] != key:
            # Sent by an earlier draft of this batch (the same key again is a
            # resend: the store answers it with the first).
            checked.refused[i] = _already_sent()
    return checked


def _already_sent() -> ChatError:
    return ChatError(FORBIDDEN, _("This attachment has already been sent."))


def link(cursor, checked: Checked, fresh: list[tuple[int, object]], drafts: list[Draft]) -> None:
    """Give each new message its upload (in the transaction that stored it)."""
    table = Attachment._meta.db_table
    for i, m in fresh:
        attachment_id = drafts[i].attachment_id
        if attachment_id is None or m.id is None:
            continue
        cursor.execute(
            f'UPDATE "{table}" SET message_id = %s WHERE id = %s AND message_id IS NULL',
            [m.id, attachment_id],
        )
        if cursor.rowcount != 1:
            raise RuntimeError(f"attachment {attachment_id} was sent meanwhile")
        checked.rows[attachment_id].message_id = m.id


def fill(outcomes: list, checked: Checked) -> None:
    """Put each stored message's Attachment (fresh links) in its shape."""
    stored = [o for o in outcomes if not isinstance(o, ChatError)]
    by_message = {a.message_id: a for a in checked.rows.values() if a.message_id is not None}
    missing = {o.message["id"] for o in stored if not o.new} - set(by_message)
    if missing:  # resends of earlier messages: theirs, whatever the resend named
        by_message.update({a.message_id: a for a in Attachment.objects.filter(message_id__in=missing)})
    for o in stored:
        a = by_message.get(o.message["id"])
        if a is not None:
            o.message["attachment"] = shape(a)
