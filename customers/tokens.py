"""The customer's signed token: the only proof of who a customer is.

A token carries the customer id, the customer's current token key (its
generation: a new key revokes every token issued before) and the time it
was issued (Django's TimestampSigner, inside `signing.dumps`). It is
refused once older than `CUSTOMER_TOKEN_MAX_AGE` seconds or once its key is
no longer the customer's. Every successful `customer:join` issues a fresh
one, so a token in use never expires.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing

SALT = "customers.token"


def issue(customer_id: int, key: str) -> str:
    return signing.dumps([customer_id, key], salt=SALT, compress=True)


def read(token: str) -> tuple[int, str] | None:
    """(customer id, key) from a token signed here and not expired, else None.

    The key still has to match the customer's current one (a query the
    caller makes).
    """
    try:
        value = signing.loads(token, salt=SALT, max_age=settings.CUSTOMER_TOKEN_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is one
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], int)
        or not isinstance(value[1], str)
    ):
        return None
    return value[0], value[1]
