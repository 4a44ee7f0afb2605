"""What this process knows about each connected socket (by sid)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from django.conf import settings

from .ratelimit import TokenBucket


@dataclass
class CustomerSocket:
    customer_id: int | None = None
    name: str = ""
    conversation_id: int | None = None
    # Held while (re)opening a conversation, so this socket opens one only.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    bucket: TokenBucket = field(
        default_factory=lambda: TokenBucket(
            settings.CHAT["CUSTOMER_RATE_BURST"], settings.CHAT["CUSTOMER_RATE_PER_SECOND"]
        )
    )


@dataclass
class AgentSocket:
    agent_id: int
    name: str
    logged_in: bool = False


customers: dict[str, CustomerSocket] = {}
agents: dict[str, AgentSocket] = {}


def connected_customer_ids() -> set[int]:
    return {c.customer_id for c in customers.values() if c.customer_id is not None}
