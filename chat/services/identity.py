"""Customer tokens taken back: a new chat on the same device, or a supervisor.

Revoking gives the customer a new token key, so every token issued so far
is refused (customers.tokens), ends the open conversation, and records
`SocketsRevoked`, which disconnects the customer's sockets on every process.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from customers import tokens
from customers.models import Customer, new_token_key

from .. import system_notes
from ..errors import FORBIDDEN, ChatError
from ..events import SocketsRevoked
from ..models import Conversation, ConversationStatus, EndReason
from ..outbox import record
from .endings import do_end
from .joins import JoinResult, Start, _start_customers
from .queue import lock_assignment


def do_revoke(customer: Customer, reason: str, note: system_notes.Note) -> None:
    """Revoke every token of `customer` (locked) and end its open conversation with `reason`."""
    customer.token_key = new_token_key()
    customer.save(update_fields=["token_key"])
    conversation = (
        Conversation.objects.select_for_update()
        .filter(customer_id=customer.id)
        .exclude(status=ConversationStatus.ENDED)
        .first()
    )
    if conversation is not None:
        do_end(conversation, reason, note)
    record(SocketsRevoked(kind="customer", id=customer.id))


@transaction.atomic
def customer_tokens_revoke(*, customer_id: int) -> None:
    """A supervisor takes a customer's tokens back (admin): its chat ends, its sockets go."""
    lock_assignment()
    customer = Customer.objects.select_for_update().get(id=customer_id)
    do_revoke(customer, EndReason.CLOSED_BY_SUPERVISOR, system_notes.note(system_notes.CLOSED_BY_SUPERVISOR))


@transaction.atomic
def customer_start_over(
    *, token: str | None, customer_id: int | None, name: str, email: str | None, topic: str | None
) -> JoinResult:
    """`customer:join {new_chat: true}`: the device's previous visitor is left behind.

    The previous customer is the one the socket proved at connect
    (`customer_id`) or the one `token` names, if still valid; its tokens are
    revoked, its open conversation ends (`customer_left`) and its other
    sockets are disconnected. Then a new customer starts, as a join without
    a token would. A token no longer valid has nothing left to revoke and is
    ignored; a valid one naming another customer than the socket's is
    `forbidden`.
    """
    lock_assignment()
    previous = customer_id
    parsed = tokens.read(token) if token is not None else None
    if parsed is not None:
        owners = Customer.objects.filter(id=parsed[0], token_key=parsed[1])
        owner = owners.values_list("id", flat=True).first()
        if owner is not None and previous is not None and owner != previous:
            raise ChatError(FORBIDDEN, _("This socket belongs to another customer."))
        previous = owner if owner is not None else previous
    if previous is not None:
        customer = Customer.objects.select_for_update().get(id=previous)
        note = system_notes.note(system_notes.ENDED_BY_CUSTOMER, customer=customer.name)
        do_revoke(customer, EndReason.CUSTOMER_LEFT, note)
    return _start_customers([Start(name=name, email=email, topic=topic)])[0]
