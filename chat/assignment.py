"""Assignment and queue policy as plain functions over plain data.

No Django here: the services load snapshots, ask these functions what to do,
and apply the answer inside one transaction (PROTOCOL.md, "Assignment").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class AgentSnapshot:
    id: int
    status: str  # "online" | "busy" | "offline"
    sockets: int  # logged-in sockets
    active: int  # active conversations held
    capacity: int
    skills: frozenset[str]
    # Seconds since the epoch of the last assignment; None if never assigned.
    last_assigned_at: float | None


@dataclass(frozen=True)
class QueuedConversation:
    id: int
    topic: str | None


def accepts_new(agent: AgentSnapshot) -> bool:
    """Online, connected and below capacity: may take a new conversation."""
    return agent.status == "online" and agent.sockets > 0 and agent.active < agent.capacity


def matches_topic(agent: AgentSnapshot, topic: str | None, known_skills: frozenset[str]) -> bool:
    """A topic that names a skill needs that skill; any other topic needs none."""
    return topic is None or topic not in known_skills or topic in agent.skills


def known_skills_of(agents: Iterable[AgentSnapshot]) -> frozenset[str]:
    skills: set[str] = set()
    for agent in agents:
        skills |= agent.skills
    return frozenset(skills)


def _preference(agent: AgentSnapshot) -> tuple[int, float, int]:
    # Fewest active first; then the longest since the last assignment
    # (never assigned counts as longest); the id keeps ties deterministic.
    waited = -math.inf if agent.last_assigned_at is None else agent.last_assigned_at
    return (agent.active, waited, agent.id)


def pick_agent(
    agents: Sequence[AgentSnapshot], topic: str | None, known_skills: frozenset[str]
) -> AgentSnapshot | None:
    """The agent a new conversation on `topic` goes to, or None to queue it."""
    candidates = [a for a in agents if accepts_new(a) and matches_topic(a, topic, known_skills)]
    return min(candidates, key=_preference, default=None)


def plan_drain(
    queue: Sequence[QueuedConversation],
    agents: Sequence[AgentSnapshot],
    known_skills: frozenset[str],
    now: float,
) -> list[tuple[int, int]]:
    """(conversation id, agent id) pairs that serve the queue in order.

    The queue is walked head first. A conversation that no free agent can
    take (its skill is all busy) is skipped rather than blocking the ones
    behind it that others can take.
    """
    pool = {a.id: a for a in agents}
    plan: list[tuple[int, int]] = []
    for item in queue:
        if not any(accepts_new(a) for a in pool.values()):
            break
        agent = pick_agent(list(pool.values()), item.topic, known_skills)
        if agent is None:
            continue
        plan.append((item.id, agent.id))
        # Each assignment of the drain is later than the one before, so the
        # agent served first counts as idle longer, as it will be stored.
        pool[agent.id] = replace(agent, active=agent.active + 1, last_assigned_at=now + len(plan) * 1e-6)
    return plan


def requeue_order(current_head: int | None, count: int) -> list[int]:
    """Queue-order values that put `count` conversations before the head."""
    head = 0 if current_head is None else current_head
    return [head - count + i for i in range(count)]


def estimate_wait_seconds(position: int, handle_seconds: float, open_capacity: int) -> int | None:
    """Expected wait at `position` (1 = next) given mean handling time.

    `open_capacity` is the number of conversations online agents can hold in
    total; with none online there is no estimate.
    """
    if open_capacity <= 0:
        return None
    return math.ceil(position * handle_seconds / open_capacity)
