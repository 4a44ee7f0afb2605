"""The pure assignment and queue policy (chat/assignment.py), without a database.

PROTOCOL.md, "Assignment": a new conversation goes to an agent who is
online, connected, below capacity and (where the topic names a skill) has
that skill; among those the fewest active first, then the one who waited
longest since the last assignment. The queue drains in order, and a head
nobody can take does not block the ones behind it.
"""

from __future__ import annotations

import itertools

import pytest

from chat.assignment import (
    AgentSnapshot,
    QueuedConversation,
    accepts_new,
    estimate_wait_seconds,
    known_skills_of,
    matches_topic,
    pick_agent,
    plan_drain,
    requeue_order,
)

NO_SKILLS: frozenset[str] = frozenset()
BILLING = frozenset({"billing"})


def snap(
    id: int,
    *,
    status: str = "online",
    sockets: int = 1,
    active: int = 0,
    capacity: int = 2,
    skills: frozenset[str] | set[str] = NO_SKILLS,
    last: float | None = None,
) -> AgentSnapshot:
    return AgentSnapshot(
        id=id,
        status=status,
        sockets=sockets,
        active=active,
        capacity=capacity,
        skills=frozenset(skills),
        last_assigned_at=last,
    )


def queue(*items: tuple[int, str | None] | int) -> list[QueuedConversation]:
    out = []
    for item in items:
        cid, topic = item if isinstance(item, tuple) else (item, None)
        out.append(QueuedConversation(id=cid, topic=topic))
    return out


def picked(agents, topic=None, known=None):
    known = known_skills_of(agents) if known is None else known
    chosen = pick_agent(agents, topic, known)
    return None if chosen is None else chosen.id


# --- who may take a new conversation ---------------------------------------------


def test_accepts_new_only_online_connected_and_below_capacity():
    assert accepts_new(snap(1))
    assert accepts_new(snap(1, active=1, capacity=2))
    assert not accepts_new(snap(1, status="busy"))
    assert not accepts_new(snap(1, status="offline"))
    assert not accepts_new(snap(1, sockets=0))
    assert not accepts_new(snap(1, active=2, capacity=2))
    assert not accepts_new(snap(1, active=3, capacity=2))  # capacity lowered below load
    assert not accepts_new(snap(1, capacity=0))


@pytest.mark.parametrize(
    "excluded",
    [
        snap(1, status="busy"),
        snap(1, status="offline"),
        snap(1, sockets=0),
        snap(1, active=2, capacity=2),
        snap(1, capacity=0),
    ],
    ids=["busy", "offline", "no-socket", "at-capacity", "zero-capacity"],
)
def test_pick_agent_skips_agents_who_cannot_take_one(excluded):
    # The excluded agent would otherwise win every tie-break (idle, never assigned).
    other = snap(2, active=1, last=1000.0)
    assert picked([excluded, other]) == 2
    assert picked([excluded]) is None


def test_pick_agent_with_nobody_returns_none():
    assert picked([]) is None
    assert picked([snap(1, status="busy"), snap(2, sockets=0), snap(3, active=2)]) is None


# --- least loaded, then longest idle ------------------------------------------------


def test_fewest_active_conversations_first():
    agents = [snap(1, active=1), snap(2, active=0), snap(3, active=1)]
    assert picked(agents) == 2


def test_least_loaded_beats_longest_idle():
    # Agent 2 was assigned just now but holds fewer conversations.
    agents = [snap(1, active=1, last=10.0), snap(2, active=0, last=99_999.0)]
    assert picked(agents) == 2


def test_load_is_counted_in_conversations_not_as_a_share_of_capacity():
    # 1 of 5 is fewer conversations than 1 of 2, but not fewer than 1.
    agents = [snap(1, active=2, capacity=5), snap(2, active=1, capacity=2)]
    assert picked(agents) == 2


def test_tie_on_load_goes_to_the_longest_idle():
    agents = [snap(1, active=1, last=300.0), snap(2, active=1, last=100.0), snap(3, active=1, last=200.0)]
    assert picked(agents) == 2


def test_never_assigned_counts_as_idle_longest():
    agents = [snap(1, last=0.0), snap(2, last=None), snap(3, last=-1e9)]
    assert picked(agents) == 2


def test_choice_does_not_depend_on_the_order_agents_are_listed():
    agents = [
        snap(1, active=1, last=5.0),
        snap(2, active=0, last=50.0),
        snap(3, active=0, last=40.0),
        snap(4, active=0, status="busy"),
    ]
    for order in itertools.permutations(agents):
        assert picked(list(order)) == 3
    # A full tie still gives one answer whatever the order.
    tied = [snap(7), snap(3), snap(5)]
    assert len({picked(list(order)) for order in itertools.permutations(tied)}) == 1


def test_pick_agent_does_not_change_the_snapshots():
    agents = [snap(1, active=1), snap(2)]
    before = list(agents)
    picked(agents)
    assert agents == before


# --- topics and skills --------------------------------------------------------------


def test_known_skills_are_the_union_of_every_agents_skills():
    agents = [snap(1), snap(2, skills={"billing"}), snap(3, status="offline", skills={"returns", "billing"})]
    assert known_skills_of(agents) == frozenset({"billing", "returns"})
    assert known_skills_of([]) == frozenset()


def test_matches_topic():
    plain, biller = snap(1), snap(2, skills=BILLING)
    assert matches_topic(plain, None, BILLING)
    assert matches_topic(plain, "weather", BILLING)
    assert not matches_topic(plain, "billing", BILLING)
    assert matches_topic(biller, "billing", BILLING)
    assert matches_topic(biller, None, BILLING)
    assert matches_topic(biller, "weather", BILLING)


def test_topic_naming_a_skill_goes_to_an_agent_with_it_even_if_busier():
    agents = [snap(1, active=0), snap(2, active=1, skills=BILLING)]
    assert picked(agents, "billing") == 2


def test_topic_naming_a_skill_waits_when_every_agent_with_it_is_unavailable():
    for biller in (
        snap(2, active=2, skills=BILLING),
        snap(2, status="busy", skills=BILLING),
        snap(2, status="offline", skills=BILLING),
        snap(2, sockets=0, skills=BILLING),
    ):
        agents = [snap(1), biller]
        assert picked(agents, "billing") is None, biller


def test_unknown_topic_and_no_topic_go_to_anyone():
    agents = [snap(1, active=1), snap(2, active=0, skills=BILLING), snap(3, active=1)]
    assert picked(agents, "weather") == 2
    assert picked(agents, None) == 2
    agents = [snap(1, active=0), snap(2, active=1, skills=BILLING)]
    assert picked(agents, "weather") == 1


def test_a_skill_only_an_offline_agent_has_is_still_a_skill():
    # known_skills comes from every agent: "billing" still needs a biller.
    agents = [snap(1), snap(2, status="offline", skills=BILLING)]
    assert picked(agents, "billing") is None


def test_agent_with_several_skills_matches_each():
    agents = [snap(1, skills={"billing", "returns"}), snap(2)]
    assert picked(agents, "returns") == 1
    assert picked(agents, "billing") == 1


# --- draining the queue -------------------------------------------------------------


def test_plan_drain_serves_the_queue_in_order_until_capacity_runs_out():
    agents = [snap(1, capacity=2), snap(2, capacity=1, active=0, last=50.0)]
    plan = plan_drain(queue(10, 11, 12, 13, 14), agents, NO_SKILLS, now=1000.0)
    assert [cid for cid, _ in plan] == [10, 11, 12]
    # Agent 1 (never assigned) first, then agent 2 (least loaded), then agent 1 again.
    assert plan == [(10, 1), (11, 2), (12, 1)]


def test_plan_drain_spreads_by_load():
    agents = [snap(1, active=1, capacity=3), snap(2, active=0, capacity=3), snap(3, active=2, capacity=3)]
    plan = plan_drain(queue(1, 2, 3, 4), agents, NO_SKILLS, now=1000.0)
    assert plan[0] == (1, 2)  # the least loaded takes the head
    load = {a.id: a.active for a in agents}
    for _, agent_id in plan:
        load[agent_id] += 1
    assert [cid for cid, _ in plan] == [1, 2, 3, 4]
    assert max(load.values()) - min(load.values()) <= 1, load


def test_plan_drain_never_pushes_an_agent_over_capacity():
    agents = [snap(1, capacity=2, active=1), snap(2, capacity=3, active=0), snap(3, status="busy")]
    plan = plan_drain(queue(*range(100, 120)), agents, NO_SKILLS, now=1.0)
    load = {1: 1, 2: 0}
    for _, agent_id in plan:
        load[agent_id] += 1
    assert load == {1: 2, 2: 3}
    assert len({cid for cid, _ in plan}) == len(plan) == 4
    assert [cid for cid, _ in plan] == [100, 101, 102, 103]


def test_plan_drain_with_nobody_free_or_nothing_queued():
    assert plan_drain(queue(1, 2), [snap(1, status="busy"), snap(2, sockets=0)], NO_SKILLS, 1.0) == []
    assert plan_drain(queue(1, 2), [], NO_SKILLS, 1.0) == []
    assert plan_drain([], [snap(1)], NO_SKILLS, 1.0) == []


def test_plan_drain_skips_a_head_that_nobody_free_can_take():
    agents = [snap(1), snap(2, skills=BILLING, active=2)]
    plan = plan_drain(queue((1, "billing"), 2, (3, "billing"), 4), agents, BILLING, now=1.0)
    assert plan == [(2, 1), (4, 1)]


def test_plan_drain_gives_a_skilled_head_to_the_skilled_agent_and_the_rest_in_order():
    agents = [snap(1, last=10.0), snap(2, skills=BILLING, capacity=1, last=20.0)]
    plan = plan_drain(queue(1, (2, "billing"), 3, 4), agents, BILLING, now=100.0)
    # 1 -> agent 1 (idle longer); 2 needs billing -> agent 2; 3 -> agent 1 (2 is full); 4 waits.
    assert plan == [(1, 1), (2, 2), (3, 1)]


def test_plan_drain_skips_every_conversation_whose_skill_has_no_free_agent():
    agents = [snap(1, capacity=1), snap(2, skills=BILLING, status="busy")]
    plan = plan_drain(queue((5, "billing"), (6, "billing"), 7, 8), agents, BILLING, now=1.0)
    assert plan == [(7, 1)]


def test_plan_drain_treats_each_new_assignment_as_the_latest():
    # After taking one, an agent has waited less than one who was assigned earlier.
    agents = [snap(1, active=1, last=100.0), snap(2, active=0, last=200.0)]
    plan = plan_drain(queue(1, 2, 3), agents, NO_SKILLS, now=1000.0)
    # 1 -> agent 2 (least loaded); then both hold one and agent 1 waited
    # longer; then agent 1 is full and agent 2 takes the last place.
    assert plan == [(1, 2), (2, 1), (3, 2)]


def test_plan_drain_orders_assignments_made_in_the_same_drain():
    # Agent 20 (never assigned) takes the head; agent 10 the next. When both
    # hold one again, agent 20 has waited longest (it was assigned first in
    # this drain), so it takes the third. Giving every assignment of the
    # drain the same timestamp loses that order.
    agents = [snap(10, last=50.0), snap(20, last=None)]
    plan = plan_drain(queue(1, 2, 3), agents, NO_SKILLS, now=1000.0)
    assert plan == [(1, 20), (2, 10), (3, 20)]


def test_plan_drain_does_not_change_its_inputs():
    agents = [snap(1), snap(2)]
    items = queue(1, 2, 3)
    before_agents, before_items = list(agents), list(items)
    plan_drain(items, agents, NO_SKILLS, now=5.0)
    assert agents == before_agents and items == before_items


# --- putting conversations back at the head ---------------------------------------------


@pytest.mark.parametrize("head", [1_700_000_000_000_000, 5, 0, -3])
@pytest.mark.parametrize("count", [1, 2, 5])
def test_requeue_order_puts_items_before_the_head_in_their_order(head, count):
    orders = requeue_order(head, count)
    assert len(orders) == count
    assert all(order < head for order in orders)
    assert orders == sorted(orders) and len(set(orders)) == count


def test_requeue_order_with_an_empty_queue():
    orders = requeue_order(None, 3)
    assert len(orders) == 3 and orders == sorted(orders) and len(set(orders)) == 3
    assert requeue_order(None, 0) == [] and requeue_order(10, 0) == []


def test_requeue_twice_goes_ahead_of_the_first_requeue():
    # Queue: [head=100]. Two requeued go before it; then one more before those.
    first = requeue_order(100, 2)
    second = requeue_order(min(first), 1)
    assert second[0] < min(first) < max(first) < 100


# --- wait estimates -------------------------------------------------------------------


def test_estimate_wait_seconds():
    assert estimate_wait_seconds(1, 300.0, 2) == 150
    assert estimate_wait_seconds(3, 300.0, 2) == 450
    assert estimate_wait_seconds(1, 100.0, 3) == 34  # rounded up
    assert estimate_wait_seconds(2, 60.0, 1) == 120
    assert isinstance(estimate_wait_seconds(1, 100.0, 3), int)


def test_estimate_wait_without_capacity_is_unknown():
    assert estimate_wait_seconds(1, 300.0, 0) is None
    assert estimate_wait_seconds(5, 300.0, -1) is None


def test_estimate_wait_grows_with_position_and_shrinks_with_capacity():
    by_position = [estimate_wait_seconds(p, 300.0, 4) for p in range(1, 10)]
    assert by_position == sorted(by_position) and by_position[0] < by_position[-1]
    by_capacity = [estimate_wait_seconds(3, 300.0, c) for c in range(1, 10)]
    assert by_capacity == sorted(by_capacity, reverse=True) and by_capacity[0] > by_capacity[-1]
