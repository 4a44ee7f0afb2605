"""Checks and descriptions shared by the live tests, phrased for failure messages."""

from __future__ import annotations


def short(value, limit: int = 160) -> str:
    """repr(value), cut to about `limit` characters (saying how long it was)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 30]}...<{len(text)} chars>"


def acked_in_order(acks: list[dict]) -> list[int]:
    """The ids of the messages `acks` acknowledge, in the order they were sent.

    Asserts that every ack is a success and that the ids increase: the order
    a conversation's messages were sent in is the order of their ids.
    """
    assert all(a["ok"] for a in acks), [a for a in acks if not a["ok"]][:3]
    ids = [a["message"]["id"] for a in acks]
    bad = [i for i in range(1, len(ids)) if ids[i] <= ids[i - 1]]
    assert not bad, (
        f"ids must follow the order sent; first disorder at send index {bad[:5]}: ids {ids[:12]}..."
    )
    return ids
