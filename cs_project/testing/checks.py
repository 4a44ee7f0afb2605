"""Phrasing what went wrong: short descriptions of values for failure messages."""

from __future__ import annotations


def short(value, limit: int = 160) -> str:
    """repr(value), cut to about `limit` characters (saying how long it was)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 30]}...<{len(text)} chars>"


def out_of_order(ids: list[int]) -> str:
    """Where `ids`, in the order their messages were sent, stop increasing."""
    bad = [i for i in range(1, len(ids)) if ids[i] <= ids[i - 1]]
    return f"ids must follow the order sent; first disorder at send index {bad[:5]}: ids {ids[:12]}..."
