"""Customer tokens that expire, are renewed while in use, and can be taken back.

A token is refused once older than CUSTOMER_TOKEN_MAX_AGE or once its
customer's tokens were revoked (a new chat on the same device, or a
supervisor in admin); the sockets already open with it are disconnected.
"""

from __future__ import annotations

import sqlite3
import time

import aiohttp
import pytest
import socketio
from django.core import signing

from cs_project.testing.clients import Client, agent, customer
from cs_project.testing.server import LiveServer
from cs_project.testing.waits import eventually
from customers import tokens

pytestmark = pytest.mark.live

SECRET = "test-secret-key-for-customer-tokens-0123456789"
DAY = 24 * 3600


def token_issued_ago(server: LiveServer, customer_id: int, seconds: float) -> str:
    """A token for the customer's current key, signed as if `seconds` ago (the server's key)."""
    key = server.scalar("select token_key from customers_customer where id = ?", (customer_id,))

    class Then(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time() - seconds))

    return Then(key=SECRET, salt=tokens.SALT).sign_object([customer_id, key], compress=True)


def issued_within(token: str, seconds: int) -> bool:
    try:
        signing.TimestampSigner(key=SECRET, salt=tokens.SALT).unsign_object(token, max_age=seconds)
    except signing.BadSignature:
        return False
    return True


async def refused_at_connect(server: LiveServer, token: str) -> str:
    """The connect_error code the server answers a connection with `token`."""
    client = Client(server, "/customer")
    errors = []
    client.sio.on("connect_error", lambda data: errors.append(data), namespace="/customer")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(auth={"token": token})
    assert errors, "refused without a connect_error"
    return errors[-1]["data"]["code"]


@pytest.fixture
def server(start_chat_server):
    return start_chat_server(SECRET_KEY=SECRET)


async def test_an_expired_token_is_refused_and_a_join_renews_the_token(server):
    carla, join = await customer(server, "Carla")
    carla_id = join["customer"]["id"]
    await carla.disconnect()

    # Eight days unused, over the default week: refused at connect and at join.
    expired = token_issued_ago(server, carla_id, 8 * DAY)
    assert "invalid_token" == await refused_at_connect(server, expired)
    fresh = await Client(server, "/customer").connect()
    answer = await fresh.call("customer:join", {"token": expired})
    assert answer["ok"] is False and answer["error"]["code"] == "invalid_token", answer
    assert fresh.connected

    # Six days old still works, and the join answers with a token issued now,
    # which works in its turn; the older one of the same generation too.
    aging = token_issued_ago(server, carla_id, 6 * DAY)
    assert not issued_within(aging, 60)
    tab = await Client(server, "/customer").connect(auth={"token": aging})
    renewed = await tab.call("customer:join", {"token": aging})
    assert renewed["ok"] and renewed["customer"]["id"] == carla_id, renewed
    assert renewed["conversation"]["id"] == join["conversation"]["id"]
    assert issued_within(renewed["token"], 60)
    again = await Client(server, "/customer").connect(auth={"token": renewed["token"]})
    assert (await again.call("customer:join", {"token": renewed["token"]}))["ok"]
    older = await Client(server, "/customer").connect(auth={"token": aging})
    assert (await older.call("customer:message", {"text": "still me"}))["ok"]
    for client in (fresh, tab, again, older):
        await client.disconnect()


async def test_a_short_max_age_from_the_environment_is_applied(start_chat_server):
    server = start_chat_server(SECRET_KEY=SECRET, CUSTOMER_TOKEN_MAX_AGE=60)
    carla, join = await customer(server, "Carla")
    two_minutes = token_issued_ago(server, join["customer"]["id"], 120)
    assert "invalid_token" == await refused_at_connect(server, two_minutes)
    answer = await carla.call("customer:join", {"token": two_minutes})
    assert answer["error"]["code"] == "invalid_token", answer
    await carla.disconnect()


async def test_a_new_chat_revokes_the_previous_visitor(server):
    ann, _ = await agent(server, "ann")
    carla, join = await customer(server, "Carla")
    old_token, carla_id = join["token"], join["customer"]["id"]
    old_conversation = join["conversation"]["id"]
    assert join["conversation"]["agent"]["name"] == "Ann"
    other_tab = await Client(server, "/customer").connect(auth={"token": old_token})
    assert (await other_tab.call("customer:join", {"token": old_token}))["ok"]

    # The page's "Start a new chat": the old token, the flag, the new visitor.
    restart = await carla.call(
        "customer:join", {"token": old_token, "new_chat": True, "name": "Dora", "email": "dora@example.com"}
    )
    assert restart["ok"], restart
    assert restart["customer"]["id"] != carla_id and restart["customer"]["name"] == "Dora"
    assert restart["conversation"]["id"] != old_conversation
    assert restart["messages"] == [] or all(
        m["conversation_id"] == restart["conversation"]["id"] for m in restart["messages"]
    )

    # The old conversation ended as if the customer had left; Ann is told.
    end = await ann.wait_for("session:end", lambda e: e["conversation_id"] == old_conversation)
    assert end["reason"] == "customer_left"
    assert server.scalar("select end_reason from chat_conversation where id = ?", (old_conversation,)) == (
        "customer_left"
    )
    # The previous visitor's other tab is disconnected; the old token no longer works.
    await eventually(lambda: not other_tab.connected, what="the old customer's other tab disconnected")
    assert "invalid_token" == await refused_at_connect(server, old_token)
    fresh = await Client(server, "/customer").connect()
    answer = await fresh.call("customer:join", {"token": old_token})
    assert answer["error"]["code"] == "invalid_token", answer

    # The restarting socket is now Dora's: it writes to Dora's conversation.
    assert carla.connected
    sent = await carla.call("customer:message", {"text": "hello, I am Dora"})
    assert sent["ok"] and sent["message"]["conversation_id"] == restart["conversation"]["id"], sent
    resumed = await Client(server, "/customer").connect(auth={"token": restart["token"]})
    back = await resumed.call("customer:join", {"token": restart["token"]})
    assert back["customer"]["name"] == "Dora" and back["conversation"]["id"] == restart["conversation"]["id"]
    for client in (ann, carla, fresh, resumed):
        await client.disconnect()
    assert "Traceback" not in server.log()


async def test_a_new_chat_with_a_token_already_invalid_just_starts(server):
    fresh = await Client(server, "/customer").connect()
    start = await fresh.call("customer:join", {"token": "no-longer-valid", "new_chat": True, "name": "Eve"})
    assert start["ok"] and start["customer"]["name"] == "Eve", start
    nameless = await fresh.call("customer:join", {"new_chat": True})
    assert nameless["ok"] is False and nameless["error"]["code"] == "invalid_payload", nameless
    flag = await fresh.call("customer:join", {"new_chat": "yes", "name": "Eve"})
    assert flag["ok"] is False and flag["error"]["code"] == "invalid_payload", flag
    assert server.scalar("select count(*) from customers_customer") == 1
    await fresh.disconnect()


async def admin_client(server: LiveServer, username: str, password: str) -> tuple[aiohttp.ClientSession, str]:
    """A signed-in admin session over HTTP (the real login form) and its CSRF token."""
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{server.url}/admin/login/") as page:
        assert page.status == 200
    csrf = next(c.value for c in http.cookie_jar if c.key == "csrftoken")
    async with http.post(
        f"{server.url}/admin/login/?next=/admin/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": csrf, "next": "/admin/"},
        headers={"Referer": f"{server.url}/admin/login/"},
        allow_redirects=False,
    ) as response:
        assert response.status == 302, await response.text()
    csrf = next(c.value for c in http.cookie_jar if c.key == "csrftoken")
    return http, csrf


async def test_a_supervisor_revokes_a_customers_tokens_from_admin(server):
    # Test set-up: bill is a supervisor, straight in the server's database.
    with sqlite3.connect(server.db_path, timeout=10) as db:
        db.execute("update auth_user set is_staff=1, is_superuser=1 where username='bill'")
    ann, _ = await agent(server, "ann")
    carla, join = await customer(server, "Carla")
    dora, dora_join = await customer(server, "Dora")
    conversation = join["conversation"]["id"]

    http, csrf = await admin_client(server, "bill", "bill-pass")
    async with http:
        async with http.get(f"{server.url}/admin/customers/customer/") as page:
            assert 'value="revoke_tokens"' in await page.text()
        async with http.post(
            f"{server.url}/admin/customers/customer/",
            data={
                "action": "revoke_tokens",
                "_selected_action": str(join["customer"]["id"]),
                "csrfmiddlewaretoken": csrf,
            },
            headers={"Referer": f"{server.url}/admin/customers/customer/"},
        ) as response:
            assert response.status == 200
            assert "signed out" in await response.text()

    await eventually(lambda: not carla.connected, what="Carla's socket disconnected")
    end = await ann.wait_for("session:end", lambda e: e["conversation_id"] == conversation)
    assert end["reason"] == "closed_by_supervisor"
    assert "invalid_token" == await refused_at_connect(server, join["token"])
    # Another customer is untouched.
    assert dora.connected and (await dora.call("customer:message", {"text": "still here"}))["ok"]
    assert (await Client(server, "/customer").connect(auth={"token": dora_join["token"]})).connected
    for client in (ann, dora):
        await client.disconnect()
    assert "Traceback" not in server.log()


async def test_a_view_only_staff_user_cannot_revoke_tokens_or_deactivate_agents(server):
    # Test set-up: bill is staff with the view permissions only.
    with sqlite3.connect(server.db_path, timeout=10) as db:
        db.execute("update auth_user set is_staff=1 where username='bill'")
        user_id = db.execute("select id from auth_user where username='bill'").fetchone()[0]
        for codename in ("view_customer", "view_agentprofile", "view_user"):
            permission = db.execute(
                "select id from auth_permission where codename=?", (codename,)
            ).fetchone()[0]
            db.execute(
                "insert into auth_user_user_permissions (user_id, permission_id) values (?, ?)",
                (user_id, permission),
            )
    ben, _ = await agent(server, "ben")
    carla, join = await customer(server, "Carla")
    http, csrf = await admin_client(server, "bill", "bill-pass")
    async with http:
        for path, action, target in (
            ("/admin/customers/customer/", "revoke_tokens", join["customer"]["id"]),
            ("/admin/agents/agentprofile/", "deactivate", server.agents["ben"]["id"]),
        ):
            async with http.get(f"{server.url}{path}") as page:
                assert page.status == 200 and f'value="{action}"' not in await page.text()
            async with http.post(
                f"{server.url}{path}",
                data={"action": action, "_selected_action": str(target), "csrfmiddlewaretoken": csrf},
                headers={"Referer": f"{server.url}{path}"},
            ) as response:
                assert response.status in (200, 302, 403)
    # Nothing happened: both still connected, the token still opens a socket.
    assert carla.connected and (await carla.call("customer:message", {"text": "still here"}))["ok"]
    assert ben.connected and (await ben.call("agent:status", {"status": "online"}))["ok"]
    assert server.scalar("select is_active from auth_user where username='ben'") == 1
    resumed = await Client(server, "/customer").connect(auth={"token": join["token"]})
    assert (await resumed.call("customer:join", {"token": join["token"]}))["ok"]
    for client in (ben, carla, resumed):
        await client.disconnect()
