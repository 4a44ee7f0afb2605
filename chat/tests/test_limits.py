"""The limits' pure parts, without a server: client addresses, windows, typing coalesced."""

from __future__ import annotations

import asyncio

import pytest

from chat.realtime.limits import addresses, windows
from chat.realtime.limits.coalesce import Coalescer


@pytest.fixture
def proxies(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.1"]


def test_the_peer_is_the_client_unless_it_is_a_trusted_proxy(proxies):
    assert addresses.client_address("198.51.100.4", "203.0.113.9") == "198.51.100.4"
    assert addresses.client_address("10.1.2.3", "203.0.113.9") == "203.0.113.9"
    assert addresses.client_address("192.0.2.1", None) == "192.0.2.1"


def test_the_client_is_the_rightmost_hop_that_is_not_a_trusted_proxy(proxies):
    # Whatever the client wrote itself is to the left of what the proxies appended.
    assert addresses.client_address("10.0.0.5", "1.1.1.1, 203.0.113.9, 10.0.0.7") == "203.0.113.9"
    assert addresses.client_address("10.0.0.5", "10.0.0.6, 10.0.0.7") == "10.0.0.6"
    assert addresses.client_address("10.0.0.5", "nonsense, 203.0.113.9") == "203.0.113.9"
    assert addresses.client_address("10.0.0.5", "203.0.113.9, nonsense") == "10.0.0.5"


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert addresses.client_address("127.0.0.1", "203.0.113.9") == "127.0.0.1"


def test_ipv6_clients_count_by_their_64(settings):
    settings.TRUSTED_PROXIES = []
    assert addresses.client_address("2001:db8:1:2:aaaa::1", None) == "2001:db8:1:2::/64"
    assert addresses.client_address("::ffff:198.51.100.4", None) == "198.51.100.4"
    assert addresses.client_address(None, None) == addresses.UNKNOWN


def test_a_window_admits_its_limit_then_refuses():
    counters = windows.MemoryCounters()
    results = [counters.hit_sync("customers", "a", 3, 600) for _ in range(5)]
    assert results == [True, True, True, False, False]
    assert counters.hit_sync("customers", "b", 3, 600)  # another address


async def test_sockets_are_counted_in_and_out_and_a_hold_refuses():
    counters = windows.MemoryCounters()
    assert [await counters.open_socket("a", 2) for _ in range(3)] == [True, True, False]
    await counters.close_socket("a")
    assert await counters.open_socket("a", 2)
    await counters.ban("b", 60)
    assert not await counters.open_socket("b", 2)


async def test_typing_is_forwarded_once_per_interval_and_the_latest_state_wins():
    sent = []

    async def forward(value):
        sent.append(value)

    coalescer = Coalescer(lambda: 0.2, lambda: 60)
    for value in [True, True, False, True, False, True, True]:
        await coalescer.offer("k", value, forward)
    assert sent == [True]  # the rest waits for the interval
    await asyncio.sleep(0.35)
    assert sent == [True]  # ended as it started: nothing to say
    await coalescer.offer("k", False, forward)
    assert sent == [True, False]
    await coalescer.offer("k", False, forward)
    assert sent == [True, False]  # the same state again: never


async def test_concurrent_offers_forward_once():
    sent = []

    async def forward(value):
        await asyncio.sleep(0.05)
        sent.append(value)

    coalescer = Coalescer(lambda: 1.0, lambda: 60)
    await asyncio.gather(*(coalescer.offer("k", True, forward) for _ in range(20)))
    assert sent == [True]


async def test_the_same_state_is_refreshed_after_a_while_and_a_message_starts_afresh():
    sent = []

    async def forward(value):
        sent.append(value)

    coalescer = Coalescer(lambda: 0.0, lambda: 0.1)
    await coalescer.offer("k", True, forward)
    await coalescer.offer("k", True, forward)
    assert sent == [True]
    await asyncio.sleep(0.15)
    await coalescer.offer("k", True, forward)
    assert sent == [True, True]
    coalescer.forget("k")  # a message went: the other side shows no typing now
    await coalescer.offer("k", True, forward)
    assert sent == [True, True, True]
