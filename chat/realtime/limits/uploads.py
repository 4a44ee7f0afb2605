"""How many uploads one customer, one agent and one address may make.

Sliding windows of IP_WINDOW_SECONDS (chat.realtime.limits.windows), shared
by every process through Redis with REDIS_URL. The address is counted
first, so that a flood of bad tokens from one network is refused too.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from . import refusal, windows


def check(*, address: str, customer_id: int | None, agent_id: int | None) -> None:
    """Count one upload; raise `rate_limited` past any of the limits."""
    limits = settings.RATE_LIMITS
    window = limits["IP_WINDOW_SECONDS"]
    counters = windows.counters()
    if customer_id is not None:
        key, most = f"customer:{customer_id}", limits["UPLOADS_PER_CUSTOMER"]
    else:
        key, most = f"agent:{agent_id}", limits["UPLOADS_PER_AGENT"]
    if not counters.hit_sync(
        "uploads-ip", address, limits["UPLOADS_PER_IP"], window
    ) or not counters.hit_sync("uploads", key, most, window):
        raise refusal(_("Too many files sent; try again in a few minutes."))
