"""What this process knows about each connected socket (by sid)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from . import limits
from .ratelimit import TokenBucket
from .rooms import AGENT_NS


class _Buckets:
    """A socket's `message:read` and page buckets, each made on first use, and its reads so far.

    Most sockets never read or page, and a server holds tens of thousands
    of sockets (docs/PERFORMANCE.md, `connections`).
    """

    __slots__ = ()
    # message:read: the highest up_to_id stored from this socket, per
    # conversation; one not above it writes nothing (message ids only grow).
    read_up_to: dict[int, int] | None
    _reads: TokenBucket | None
    _pages: TokenBucket | None

    def read_is_new(self, conversation_id: int, up_to_id: int) -> bool:
        return self.read_up_to is None or up_to_id > self.read_up_to.get(conversation_id, 0)

    def read_stored(self, conversation_id: int, up_to_id: int) -> None:
        if self.read_up_to is None or len(self.read_up_to) >= 1000:
            self.read_up_to = {}
        self.read_up_to[conversation_id] = max(up_to_id, self.read_up_to.get(conversation_id, 0))

    @property
    def reads(self) -> TokenBucket:
        if self._reads is None:
            self._reads = limits.read_bucket()
        return self._reads

    @property
    def pages(self) -> TokenBucket:
        """`messages:fetch` (customers), `queue:list` (agents)."""
        if self._pages is None:
            self._pages = limits.page_bucket()
        return self._pages


@dataclass(slots=True)
class CustomerSocket(_Buckets):
    customer_id: int | None = None
    name: str = ""
    conversation_id: int | None = None
    # The client's address (limits.address_of), read at connect: the
    # handshake's headers are dropped once connected.
    address: str = ""
    # The socket's language (cs_project.languages.connection_language), also
    # decided at connect: error messages and system messages are worded in it.
    lang: str = settings.LANGUAGE_CODE
    read_up_to: dict[int, int] | None = None
    # Made on first use (_Buckets): most sockets never read.
    _reads: TokenBucket | None = None
    _pages: TokenBucket | None = None


@dataclass(slots=True)
class AgentSocket(_Buckets):
    agent_id: int
    name: str
    logged_in: bool = False
    # What opened it (agents.identity): a logout or a token rotation ends
    # only the sockets opened with that session or that token.
    credential: str = ""
    address: str = ""
    lang: str = settings.LANGUAGE_CODE
    read_up_to: dict[int, int] | None = None
    _reads: TokenBucket | None = None
    _pages: TokenBucket | None = None


customers: dict[str, CustomerSocket] = {}
agents: dict[str, AgentSocket] = {}
# Customer sockets inside their `customer:join`, by customer: an assignment
# the join makes reaches them after the join's ack, not before.
_joining: dict[int, set[str]] = {}


def language(namespace: str, sid: str | None) -> str | None:
    """The language of socket `sid` on `namespace`; None if it is not (or no longer) connected."""
    state = (agents if namespace == AGENT_NS else customers).get(sid)
    return None if state is None else state.lang


def joining_sids(customer_id: int) -> list[str]:
    return list(_joining.get(customer_id, ()))


def join_started(customer_id: int, sid: str) -> None:
    _joining.setdefault(customer_id, set()).add(sid)


def join_ended(customer_id: int, sid: str) -> None:
    sids = _joining.get(customer_id)
    if sids is not None:
        sids.discard(sid)
        if not sids:
            del _joining[customer_id]


# Customers bound to a socket here since the last heartbeat: marked seen
# within a second (chat.background), not at the next full round.
_newly_bound: set[int] = set()


def customer_bound(customer_id: int) -> None:
    _newly_bound.add(customer_id)


def take_newly_bound() -> set[int]:
    global _newly_bound
    taken, _newly_bound = _newly_bound, set()
    return taken


# Agents whose socket closed while its count could not be written (the
# database down), once per socket: counted out by the heartbeat, later.
_uncounted_closes: list[int] = []


def uncounted_close(agent_id: int) -> None:
    _uncounted_closes.append(agent_id)


def take_uncounted_closes() -> list[int]:
    taken = list(_uncounted_closes)
    _uncounted_closes.clear()
    return taken


def connected_customer_ids() -> set[int]:
    return {c.customer_id for c in customers.values() if c.customer_id is not None}
