"""Login throttling (django-axes) against a real server, through the real forms
over plain HTTP with CSRF: after LOGIN_FAILURE_LIMIT failures for one username
from one address, that pair is refused, the right password too; other users
and other addresses sign in as before; a supervisor unlocks it in admin.

Other addresses are other loopback addresses (127.0.0.0/8): the client binds
its local address, the server sees it as the peer.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import aiohttp
import pytest

from cs_project.testing.server import LiveServer

pytestmark = pytest.mark.live

LIMIT = 5  # the default LOGIN_FAILURE_LIMIT
LOCKED_TEXT = "Too many sign-in attempts"


@dataclass
class Attempt:
    status: int
    text: str
    signed_in: bool


def http_session(source: str = "127.0.0.1") -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(local_addr=(source, 0), force_close=True)
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def sign_in(
    server: LiveServer, username: str, password: str, *, source: str = "127.0.0.1", path="/accounts/login/"
) -> Attempt:
    """One attempt through the login form at `path` from the address `source`."""
    async with http_session(source) as http:
        async with http.get(f"{server.url}{path}") as page:
            assert page.status == 200, await page.text()
        csrf = next(c.value for c in http.cookie_jar if c.key == "csrftoken")
        nxt = "/admin/" if path.startswith("/admin/") else "/console/"
        async with http.post(
            f"{server.url}{path}",
            data={"username": username, "password": password, "csrfmiddlewaretoken": csrf, "next": nxt},
            headers={"Referer": f"{server.url}{path}"},
            allow_redirects=False,
        ) as response:
            text = await response.text()
            signed_in = response.status == 302 and any(c.key == "sessionid" for c in http.cookie_jar)
            return Attempt(response.status, text, signed_in)


def make_supervisor(server: LiveServer, username: str) -> None:
    with sqlite3.connect(server.db_path) as db:  # test set-up, not the path under test
        db.execute("update auth_user set is_staff=1, is_superuser=1 where username=?", (username,))


async def test_console_login_locks_one_username_and_address_after_the_limit(chat_server):
    for n in range(1, LIMIT):
        attempt = await sign_in(chat_server, "ann", f"wrong-{n}")
        assert attempt.status == 200 and not attempt.signed_in, (n, attempt.status)
        assert LOCKED_TEXT not in attempt.text
    last = await sign_in(chat_server, "ann", "wrong-last")
    assert last.status == 429 and LOCKED_TEXT in last.text, (last.status, last.text[:300])

    # Now the right password is refused too, with the lockout page.
    right = await sign_in(chat_server, "ann", "ann-pass")
    assert right.status == 429 and not right.signed_in
    assert LOCKED_TEXT in right.text and "15 minutes" in right.text, right.text[:500]
    failures = chat_server.scalar(
        "select failures_since_start from axes_accessattempt where username='ann' and ip_address=?",
        ("127.0.0.1",),
    )
    assert failures >= LIMIT

    # Another user from the same address, and the same user from another address, are unaffected.
    assert (await sign_in(chat_server, "ben", "ben-pass")).signed_in
    assert (await sign_in(chat_server, "ann", "ann-pass", source="127.0.0.2")).signed_in
    # ...and the pair stays locked.
    assert (await sign_in(chat_server, "ann", "ann-pass")).status == 429


async def test_admin_login_is_throttled_and_a_supervisor_unlocks_it(chat_server):
    make_supervisor(chat_server, "bill")
    make_supervisor(chat_server, "cat")
    for n in range(LIMIT):
        await sign_in(chat_server, "bill", f"wrong-{n}", path="/admin/login/")
    locked = await sign_in(chat_server, "bill", "bill-pass", path="/admin/login/")
    assert locked.status == 429 and LOCKED_TEXT in locked.text and not locked.signed_in
    # The lock is on the account, not on one form: the console refuses bill too.
    assert (await sign_in(chat_server, "bill", "bill-pass")).status == 429

    # Cat, a supervisor, deletes the access attempt in admin: that unlocks bill.
    [(attempt_id,)] = chat_server.query("select id from axes_accessattempt where username='bill'")
    async with http_session("127.0.0.3") as http:
        async with http.get(f"{chat_server.url}/admin/login/") as page:
            assert page.status == 200
        csrf = next(c.value for c in http.cookie_jar if c.key == "csrftoken")
        async with http.post(
            f"{chat_server.url}/admin/login/",
            data={"username": "cat", "password": "cat-pass", "csrfmiddlewaretoken": csrf, "next": "/admin/"},
            allow_redirects=False,
        ) as response:
            assert response.status == 302
        listing = f"{chat_server.url}/admin/axes/accessattempt/"
        async with http.get(listing) as page:
            assert page.status == 200 and "bill" in await page.text()
        csrf = next(c.value for c in http.cookie_jar if c.key == "csrftoken")
        async with http.post(
            listing,
            data={
                "action": "delete_selected",
                "_selected_action": str(attempt_id),
                "post": "yes",
                "csrfmiddlewaretoken": csrf,
            },
            allow_redirects=False,
        ) as response:
            assert response.status == 302, await response.text()
    assert chat_server.scalar("select count(*) from axes_accessattempt where username='bill'") == 0
    assert (await sign_in(chat_server, "bill", "bill-pass", path="/admin/login/")).signed_in


async def test_a_proxy_header_counts_only_from_a_trusted_proxy(start_chat_server):
    # 127.0.0.5 is the trusted proxy; every attempt below comes through it or around it.
    server = start_chat_server(TRUSTED_PROXIES="127.0.0.5")

    async def through_proxy(client_address: str, password: str, source="127.0.0.5") -> Attempt:
        async with http_session(source) as http:
            headers = {"X-Forwarded-For": f"203.0.113.99, {client_address}"}
            async with http.get(f"{server.url}/accounts/login/", headers=headers) as page:
                assert page.status == 200
            csrf = next(c.value for c in http.cookie_jar if c.key == "csrftoken")
            async with http.post(
                f"{server.url}/accounts/login/",
                data={"username": "ann", "password": password, "csrfmiddlewaretoken": csrf},
                headers=headers,
                allow_redirects=False,
            ) as response:
                return Attempt(response.status, await response.text(), response.status == 302)

    for n in range(LIMIT):
        await through_proxy("198.51.100.7", f"wrong-{n}")
    # The client the proxy saw (right-most entry) is locked, not the proxy, nor the forged entry.
    assert server.query("select ip_address from axes_accessattempt where username='ann'") == [
        ("198.51.100.7",)
    ]
    assert (await through_proxy("198.51.100.7", "ann-pass")).status == 429
    assert (await through_proxy("198.51.100.8", "ann-pass")).signed_in
    # From an untrusted peer the header is ignored: the peer is the client.
    for n in range(LIMIT):
        await through_proxy("198.51.100.9", f"wrong-{n}", source="127.0.0.6")
    assert ("127.0.0.6",) in server.query("select ip_address from axes_accessattempt where username='ann'")
