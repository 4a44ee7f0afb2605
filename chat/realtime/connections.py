"""What this process knows about each connected socket (by sid)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from .ratelimit import TokenBucket


@dataclass(slots=True)
class CustomerSocket:
    customer_id: int | None = None
    name: str = ""
    conversation_id: int | None = None
    # Made on first use: most sockets never send, and a server holds tens of
    # thousands of sockets (docs/PERFORMANCE.md, `connections`).
    _bucket: TokenBucket | None = None

    @property
    def bucket(self) -> TokenBucket:
        if self._bucket is None:
            self._bucket = TokenBucket(
                settings.CHAT["CUSTOMER_RATE_BURST"], settings.CHAT["CUSTOMER_RATE_PER_SECOND"]
            )
        return self._bucket

    _pages: TokenBucket | None = None

    @property
    def pages(self) -> TokenBucket:
        """`messages:fetch`: a bucket of its own (made on first use)."""
        if self._pages is None:
            self._pages = page_bucket()
        return self._pages


@dataclass(slots=True)
class AgentSocket:
    agent_id: int
    name: str
    logged_in: bool = False
    # What opened it (agents.identity): a logout or a token rotation ends
    # only the sockets opened with that session or that token.
    credential: str = ""
    _pages: TokenBucket | None = None

    @property
    def pages(self) -> TokenBucket:
        """`queue:list`: a bucket of its own (made on first use)."""
        if self._pages is None:
            self._pages = page_bucket()
        return self._pages


def page_bucket() -> TokenBucket:
    return TokenBucket(settings.PAGE_RATE_BURST, settings.PAGE_RATE_PER_SECOND)


customers: dict[str, CustomerSocket] = {}
agents: dict[str, AgentSocket] = {}
# Customer sockets inside their `customer:join`, by customer: an assignment
# the join makes reaches them after the join's ack, not before.
_joining: dict[int, set[str]] = {}


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


def connected_customer_ids() -> set[int]:
    return {c.customer_id for c in customers.values() if c.customer_id is not None}
