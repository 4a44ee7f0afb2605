"""An agent's open sockets end with the identity that opened them.

Logging out ends the sockets opened with that session; deactivating the
agent ends all of them; rotating the API token ends those opened with the
old token, which is refused from then on. Each disconnect is the server's
own (the client is told) and runs the usual disconnect handling.
"""

from __future__ import annotations

import sqlite3

import aiohttp
import pytest
import socketio

from cs_project.testing.clients import Client, customer
from cs_project.testing.server import LiveServer
from cs_project.testing.waits import eventually

pytestmark = pytest.mark.live


async def signed_in(server: LiveServer, path: str, username: str, password: str) -> aiohttp.ClientSession:
    """An HTTP session signed in through the login form at `path`, as a browser does."""
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{server.url}{path}") as page:
        assert page.status == 200
    async with http.post(
        f"{server.url}{path}",
        data={"username": username, "password": password, "csrfmiddlewaretoken": cookie(http, "csrftoken")},
        headers={"Referer": f"{server.url}{path}"},
        allow_redirects=False,
    ) as response:
        assert response.status == 302, await response.text()
    return http


def cookie(http: aiohttp.ClientSession, name: str) -> str:
    return next(c.value for c in http.cookie_jar if c.key == name)


async def console_socket(server: LiveServer, http: aiohttp.ClientSession) -> Client:
    client = await Client(server, "/agent").connect(
        headers={"Cookie": f"sessionid={cookie(http, 'sessionid')}"}
    )
    assert (await client.call("agent:login", {}))["ok"]
    return client


async def token_socket(server: LiveServer, token: str) -> Client:
    client = await Client(server, "/agent").connect(auth={"token": token})
    assert (await client.call("agent:login", {}))["ok"]
    return client


async def admin_action(server: LiveServer, http: aiohttp.ClientSession, path: str, action: str, ids) -> str:
    async with http.post(
        f"{server.url}{path}",
        data={
            "action": action,
            "_selected_action": [str(i) for i in ids],
            "csrfmiddlewaretoken": cookie(http, "csrftoken"),
        },
        headers={"Referer": f"{server.url}{path}"},
    ) as response:
        assert response.status == 200
        return await response.text()


def make_supervisor(server: LiveServer, username: str) -> None:
    """Test set-up, straight in the server's database."""
    with sqlite3.connect(server.db_path, timeout=10) as db:
        db.execute("update auth_user set is_staff=1, is_superuser=1 where username=?", (username,))


def sockets_of(server: LiveServer, username: str) -> int:
    return server.scalar(
        "select a.sockets from agents_agentprofile a join auth_user u on u.id = a.user_id where u.username=?",
        (username,),
    )


async def test_logout_ends_the_sockets_of_that_session_only(chat_server):
    laptop = await signed_in(chat_server, "/accounts/login/", "ann", "ann-pass")
    phone = await signed_in(chat_server, "/accounts/login/", "ann", "ann-pass")
    async with laptop, phone:
        laptop_tabs = [await console_socket(chat_server, laptop) for _ in range(2)]
        phone_tab = await console_socket(chat_server, phone)
        bot = await token_socket(chat_server, chat_server.agents["ann"]["token"])
        assert sockets_of(chat_server, "ann") == 4
        sessionid = cookie(laptop, "sessionid")

        async with laptop.post(
            f"{chat_server.url}/accounts/logout/",
            data={"csrfmiddlewaretoken": cookie(laptop, "csrftoken")},
            headers={"Referer": f"{chat_server.url}/console/"},
            allow_redirects=False,
        ) as response:
            assert response.status == 302

        for tab in laptop_tabs:
            await eventually(lambda tab=tab: not tab.connected, what="the logged-out session's socket closed")
        # The disconnect handler ran: presence counts the two sockets left.
        await eventually(lambda: sockets_of(chat_server, "ann") == 2, what="presence down to 2")
        assert phone_tab.connected and bot.connected
        assert (await phone_tab.call("agent:status", {"status": "online"}))["ok"]
        with pytest.raises(socketio.exceptions.ConnectionError):
            await Client(chat_server, "/agent").connect(headers={"Cookie": f"sessionid={sessionid}"})
        for client in (phone_tab, bot):
            await client.disconnect()
    assert "Traceback" not in chat_server.log()


async def test_deactivating_an_agent_in_admin_ends_every_socket(chat_server):
    make_supervisor(chat_server, "bill")
    console = await signed_in(chat_server, "/accounts/login/", "ben", "ben-pass")
    admin = await signed_in(chat_server, "/admin/login/?next=/admin/", "bill", "bill-pass")
    async with console, admin:
        ben_tab = await console_socket(chat_server, console)
        ben_bot = await token_socket(chat_server, chat_server.agents["ben"]["token"])
        # Connected but not logged in yet: still Ben's, still ended.
        ben_idle = await Client(chat_server, "/agent").connect(
            auth={"token": chat_server.agents["ben"]["token"]}
        )
        carla, join = await customer(chat_server, "Carla")
        assert join["conversation"]["agent"]["name"] == "Ben", join
        ann = await token_socket(chat_server, chat_server.agents["ann"]["token"])
        assert sockets_of(chat_server, "ben") == 2

        page = await admin_action(
            chat_server, admin, "/admin/agents/agentprofile/", "deactivate", [chat_server.agents["ben"]["id"]]
        )
        assert "deactivated" in page

        for client in (ben_tab, ben_bot, ben_idle):
            await eventually(lambda c=client: not c.connected, what="Ben's sockets closed")
        await eventually(lambda: sockets_of(chat_server, "ben") == 0, what="Ben's presence down to 0")
        assert chat_server.scalar("select is_active from auth_user where username='ben'") == 0
        # Neither the token nor the session opens a socket again.
        with pytest.raises(socketio.exceptions.ConnectionError):
            await Client(chat_server, "/agent").connect(auth={"token": chat_server.agents["ben"]["token"]})
        with pytest.raises(socketio.exceptions.ConnectionError):
            await Client(chat_server, "/agent").connect(
                headers={"Cookie": f"sessionid={cookie(console, 'sessionid')}"}
            )
        # Ben's customer goes to Ann now, not after Ben's grace period.
        await carla.wait_for("agent:assigned", lambda a: a["agent"]["name"] == "Ann")
        ben_status = "select status from agents_agentprofile where id=?"
        assert chat_server.scalar(ben_status, (chat_server.agents["ben"]["id"],)) == "offline"
        # Others keep theirs.
        assert ann.connected and (await ann.call("agent:status", {"status": "online"}))["ok"]
        for client in (ann, carla):
            await client.disconnect()
    assert "Traceback" not in chat_server.log()


async def test_rotating_the_api_token_ends_the_sockets_opened_with_it(chat_server):
    make_supervisor(chat_server, "bill")
    console = await signed_in(chat_server, "/accounts/login/", "cat", "cat-pass")
    admin = await signed_in(chat_server, "/admin/login/?next=/admin/", "bill", "bill-pass")
    old_token = chat_server.agents["cat"]["token"]
    async with console, admin:
        cat_tab = await console_socket(chat_server, console)
        cat_bots = [await token_socket(chat_server, old_token) for _ in range(2)]

        page = await admin_action(
            chat_server,
            admin,
            "/admin/agents/agentprofile/",
            "rotate_api_token",
            [chat_server.agents["cat"]["id"]],
        )
        assert "Cat:" in page

        for bot in cat_bots:
            await eventually(lambda b=bot: not b.connected, what="the old token's sockets closed")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await Client(chat_server, "/agent").connect(auth={"token": old_token})
        # The console, opened with a session, stays.
        assert cat_tab.connected and (await cat_tab.call("agent:status", {"status": "busy"}))["ok"]
        await eventually(lambda: sockets_of(chat_server, "cat") == 1, what="Cat's presence down to 1")
        await cat_tab.disconnect()
    assert "Traceback" not in chat_server.log()


async def test_an_agent_deactivated_behind_the_servers_back_reads_no_transcripts(chat_server):
    ann = await token_socket(chat_server, chat_server.agents["ann"]["token"])
    carla, join = await customer(chat_server, "Carla")
    history = await ann.call("conversation:history", {"customer_id": join["customer"]["id"]})
    assert history["ok"], history
    # A raw SQL change fires no signal, so the socket stays open; its reads stop anyway.
    with sqlite3.connect(chat_server.db_path, timeout=10) as db:
        db.execute("update auth_user set is_active=0 where username='ann'")
    refused = await ann.call("conversation:history", {"customer_id": join["customer"]["id"]})
    assert refused["ok"] is False and refused["error"]["code"] == "forbidden", refused
    for client in (ann, carla):
        await client.disconnect()


async def test_a_new_password_ends_the_sockets_of_every_session(chat_server):
    make_supervisor(chat_server, "ann")
    console = await signed_in(chat_server, "/accounts/login/", "ann", "ann-pass")
    admin = await signed_in(chat_server, "/admin/login/?next=/admin/", "ann", "ann-pass")
    async with console, admin:
        console_tab = await console_socket(chat_server, console)
        bot = await token_socket(chat_server, chat_server.agents["ann"]["token"])
        async with admin.post(
            f"{chat_server.url}/admin/password_change/",
            data={
                "old_password": "ann-pass",
                "new_password1": "a-much-longer-new-pass-42",
                "new_password2": "a-much-longer-new-pass-42",
                "csrfmiddlewaretoken": cookie(admin, "csrftoken"),
            },
            headers={"Referer": f"{chat_server.url}/admin/password_change/"},
            allow_redirects=False,
        ) as response:
            assert response.status == 302, await response.text()
        await eventually(lambda: not console_tab.connected, what="the other session's socket closed")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await Client(chat_server, "/agent").connect(
                headers={"Cookie": f"sessionid={cookie(console, 'sessionid')}"}
            )
        # The session that changed it stays signed in (Django keeps it), and the bot's token still works.
        again = await console_socket(chat_server, admin)
        assert bot.connected and (await bot.call("agent:status", {"status": "online"}))["ok"]
        for client in (again, bot):
            await client.disconnect()
    assert "Traceback" not in chat_server.log()


async def test_deleting_an_agents_user_in_admin_ends_every_socket(chat_server):
    make_supervisor(chat_server, "bill")
    admin = await signed_in(chat_server, "/admin/login/?next=/admin/", "bill", "bill-pass")
    user_id = chat_server.scalar("select id from auth_user where username='ben'")
    async with admin:
        ben = await token_socket(chat_server, chat_server.agents["ben"]["token"])
        async with admin.post(
            f"{chat_server.url}/admin/auth/user/{user_id}/delete/",
            data={"post": "yes", "csrfmiddlewaretoken": cookie(admin, "csrftoken")},
            headers={"Referer": f"{chat_server.url}/admin/auth/user/{user_id}/delete/"},
            allow_redirects=False,
        ) as response:
            assert response.status == 302, await response.text()
        await eventually(lambda: not ben.connected, what="the deleted agent's socket closed")
        assert (
            chat_server.scalar(
                "select count(*) from agents_agentprofile where id=?", (chat_server.agents["ben"]["id"],)
            )
            == 0
        )
    assert "Traceback" not in chat_server.log()
