"""Rate limits: per socket, per customer, per agent and per client address.

Every limit is a setting (`settings.RATE_LIMITS`, `TRUSTED_PROXIES`), listed
with its default in docs/SECURITY.md, "Rate limits". Where each is kept:

- events per socket (`frame_allowed`): this process, per Engine.IO
  connection and namespace, checked as the frame arrives, before any task
  or query;
- messages per customer (`customer_message_allowed`): this process, in the
  message event's `prepare`;
- `agent:internal` per agent, `message:read` per socket: this process, in
  the handler;
- sockets, new customers and new conversations per address
  (`windows.counters()`: memory, or Redis with `REDIS_URL`): at connect, at
  join, at `customer:disconnect`, and when the writer opens a conversation.

Synchronous checks (buckets) are in memory and cost a dict lookup; the
per-address counters are coroutines (a Redis round trip when shared), with
`new_conversation_allowed_sync` for the writer's database thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from ...errors import RATE_LIMITED, ChatError
from ..ratelimit import TokenBucket
from ..rooms import AGENT_NS
from . import addresses, windows
from .coalesce import Coalescer

# Where the connection's client address is kept in its handshake environ
# (the environ lives as long as the connection; namespace connects read it).
ADDRESS_KEY = "chat.client_address"

# Buckets kept per customer / agent before full (idle) ones are dropped.
_PRUNE_AT = 10_000


def _limit(name: str):
    return settings.RATE_LIMITS[name]


def too_many_chats():
    """The refusal's message (lazy: worded for the socket it answers)."""
    return _("Too many new chats from your network; try again in a few minutes.")


def refusal(message=None) -> ChatError:
    """`rate_limited`, with `message` (a lazy translation) or the usual one."""
    return ChatError(
        RATE_LIMITED, _("Too many requests; slow down and try again later.") if message is None else message
    )


def page_refusal() -> ChatError:
    """`messages:fetch` and `queue:list` past their socket's page bucket."""
    return refusal(_("Too many pages asked for; slow down."))


# --- per connection ----------------------------------------------------------------


@dataclass(slots=True)
class Connection:
    """One Engine.IO connection's address and event buckets (one per namespace, made on first use)."""

    address: str
    customer: TokenBucket | None = None
    agent: TokenBucket | None = None
    # Refusals it may still earn before it is closed (made on its first one).
    refusals: TokenBucket | None = None
    closing: bool = False


connections: dict[str, Connection] = {}


async def connection_opened(eio_sid: str, environ: dict) -> bool:
    """A new Engine.IO connection: False refuses it (too many sockets from its address)."""
    address = addresses.from_environ(environ)
    environ[ADDRESS_KEY] = address
    if not await windows.counters().open_socket(address, _limit("SOCKETS_PER_IP")):
        return False
    connections[eio_sid] = Connection(address)
    return True


async def connection_closed(eio_sid: str) -> None:
    connection = connections.pop(eio_sid, None)
    if connection is not None:
        await windows.counters().close_socket(connection.address)
        if connection.closing and _limit("FLOOD_HOLD_SECONDS") > 0:
            # Closed for flooding: straight back would cost the transport
            # its frames again, so the address waits a little first.
            await windows.counters().ban(connection.address, _limit("FLOOD_HOLD_SECONDS"))


def frame_allowed(eio_sid: str, namespace: str) -> bool:
    """Take one event from the connection's bucket for `namespace`; False: refuse the event."""
    connection = connections.get(eio_sid)
    if connection is None:
        return True
    if namespace == AGENT_NS:
        bucket = connection.agent
        if bucket is None:
            bucket = connection.agent = TokenBucket(
                _limit("AGENT_EVENTS_BURST"), _limit("AGENT_EVENTS_PER_SECOND")
            )
    else:
        bucket = connection.customer
        if bucket is None:
            bucket = connection.customer = TokenBucket(
                _limit("CUSTOMER_EVENTS_BURST"), _limit("CUSTOMER_EVENTS_PER_SECOND")
            )
    return bucket.take()


# What to do with a refused event (`refused`).
ANSWER, CLOSE, DROP = "answer", "close", "drop"


def refused(eio_sid: str) -> str:
    """Count a refused event: ANSWER it `rate_limited`, CLOSE the connection (once), or DROP it.

    A client that goes on sending past its bucket is not reading its answers,
    and its frames still cost their decoding: closed, it costs nothing more.
    """
    connection = connections.get(eio_sid)
    if connection is None or connection.closing:
        return DROP
    if connection.refusals is None:
        connection.refusals = TokenBucket(
            _limit("REFUSALS_BEFORE_CLOSE"), _limit("REFUSALS_FORGIVEN_PER_SECOND")
        )
    if connection.refusals.take():
        return ANSWER
    connection.closing = True
    return CLOSE


def address_of(environ: dict | None) -> str:
    """The client address `connection_opened` found for this handshake."""
    return (environ or {}).get(ADDRESS_KEY, addresses.UNKNOWN)


# --- per address, shared ---------------------------------------------------------


async def new_customer(address: str) -> None:
    """Count a new customer from `address`; raise `rate_limited` past the limit."""
    if not await windows.counters().hit(
        "customers", address, _limit("NEW_CUSTOMERS_PER_IP"), _limit("IP_WINDOW_SECONDS")
    ):
        raise refusal(too_many_chats())


async def new_conversation(address: str) -> None:
    """Count a new conversation from `address`; raise `rate_limited` past the limit."""
    if not await windows.counters().hit(
        "conversations", address, _limit("NEW_CONVERSATIONS_PER_IP"), _limit("IP_WINDOW_SECONDS")
    ):
        raise refusal(too_many_chats())


def new_conversation_allowed_sync(address: str | None) -> bool:
    """`new_conversation` for the message writer's database thread: count it, True if allowed."""
    return windows.counters().hit_sync(
        "conversations",
        address or addresses.UNKNOWN,
        _limit("NEW_CONVERSATIONS_PER_IP"),
        _limit("IP_WINDOW_SECONDS"),
    )


# --- per customer, per agent (this process) -----------------------------------------


def _bucket(table: dict[int, TokenBucket], key: int, burst: float, rate: float) -> TokenBucket:
    bucket = table.get(key)
    if bucket is None:
        if len(table) >= _PRUNE_AT:
            _prune(table)
        bucket = table[key] = TokenBucket(burst, rate)
    return bucket


def _prune(table: dict[int, TokenBucket]) -> None:
    now = time.monotonic()
    for key in [k for k, b in table.items() if b.tokens + (now - b.stamp) * b.rate >= b.burst]:
        del table[key]


_customer_messages: dict[int, TokenBucket] = {}
_agent_internal: dict[int, TokenBucket] = {}


def customer_message_allowed(customer_id: int) -> bool:
    """One message from this customer, across its sockets in this process (prepare: no await)."""
    bucket = _customer_messages.get(customer_id)
    if bucket is None:
        chat = settings.CHAT
        bucket = _bucket(
            _customer_messages, customer_id, chat["CUSTOMER_RATE_BURST"], chat["CUSTOMER_RATE_PER_SECOND"]
        )
    return bucket.take()


def internal_allowed(agent_id: int) -> bool:
    """One `agent:internal` from this agent, across its sockets in this process."""
    return _bucket(_agent_internal, agent_id, _limit("INTERNAL_BURST"), _limit("INTERNAL_PER_SECOND")).take()


def page_bucket() -> TokenBucket:
    """A socket's bucket of pages (`messages:fetch`, `queue:list`)."""
    return TokenBucket(settings.PAGE_RATE_BURST, settings.PAGE_RATE_PER_SECOND)


def read_bucket() -> TokenBucket:
    """A socket's bucket of `message:read` writes."""
    return TokenBucket(_limit("READS_BURST"), _limit("READS_PER_SECOND"))


# --- typing --------------------------------------------------------------------------

typing = Coalescer(lambda: _limit("TYPING_INTERVAL_SECONDS"), lambda: _limit("TYPING_REFRESH_SECONDS"))
