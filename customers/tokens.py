"""The customer's signed token: the only proof of who a customer is."""

from __future__ import annotations

from django.core import signing

SALT = "customers.token"


def issue(customer_id: int, key: str) -> str:
    return signing.dumps([customer_id, key], salt=SALT, compress=True)


def read(token: str) -> tuple[int, str] | None:
    """(customer id, key) from a token, or None if it was not signed here."""
    try:
        value = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], int)
        or not isinstance(value[1], str)
    ):
        return None
    return value[0], value[1]
