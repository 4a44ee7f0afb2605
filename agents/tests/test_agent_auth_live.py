"""Who may open /agent: nobody without credentials, a Django session, an API
token (from `createagent`)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import aiohttp
import pytest
import socketio

from cs_project.testing.clients import Client
from cs_project.testing.server import ROOT, LiveServer, base_env

pytestmark = pytest.mark.live


def agent_sockets(server: LiveServer) -> int:
    return server.scalar("select coalesce(sum(sockets), 0) from agents_agentprofile")


@pytest.mark.parametrize(
    "auth",
    [None, {}, {"token": ""}, {"token": "wrong"}, {"token": "x" * 64}],
    ids=["none", "empty", "empty-token", "wrong-token", "long-wrong-token"],
)
async def test_agent_namespace_refuses_missing_or_wrong_credentials(chat_server, auth):
    with pytest.raises(socketio.exceptions.ConnectionError):
        await Client(chat_server, "/agent").connect(auth=auth)
    assert agent_sockets(chat_server) == 0


async def test_agent_namespace_refuses_bogus_session_cookies(chat_server):
    for cookie in ("sessionid=not-a-session", "sessionid=", "csrftoken=abc", "garbage;;=="):
        with pytest.raises(socketio.exceptions.ConnectionError):
            await Client(chat_server, "/agent").connect(headers={"Cookie": cookie})
    # A real token still works next to the refusals (the server is fine).
    ok = await Client(chat_server, "/agent").connect(auth={"token": chat_server.agents["ann"]["token"]})
    assert (await ok.call("agent:login", {}))["ok"]
    await ok.disconnect()


async def admin_login(server: LiveServer, username: str, password: str) -> tuple[int, str | None]:
    """The real form flow of /admin/login/: (status of the POST, sessionid or None)."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(f"{server.url}/admin/login/?next=/admin/") as page:
            assert page.status == 200, await page.text()
        csrf = next(c.value for c in jar if c.key == "csrftoken")
        async with http.post(
            f"{server.url}/admin/login/?next=/admin/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": csrf, "next": "/admin/"},
            headers={"Referer": f"{server.url}/admin/login/"},
            allow_redirects=False,
        ) as response:
            status = response.status
        return status, next((c.value for c in jar if c.key == "sessionid"), None)


async def test_django_session_cookie_opens_the_agent_namespace(chat_server):
    # The admin login form admits staff only; ann is not staff yet.
    status, sessionid = await admin_login(chat_server, "ann", "ann-pass")
    assert status == 200 and sessionid is None
    # Test set-up: make ann staff, straight in the server's database.
    with sqlite3.connect(chat_server.db_path, timeout=10) as db:
        db.execute("update auth_user set is_staff=1 where username='ann'")
    status, sessionid = await admin_login(chat_server, "ann", "wrong-pass")
    assert status == 200 and sessionid is None
    status, sessionid = await admin_login(chat_server, "ann", "ann-pass")
    assert status == 302 and sessionid, (status, sessionid)

    console = await Client(chat_server, "/agent").connect(headers={"Cookie": f"sessionid={sessionid}"})
    login = await console.call("agent:login", {})
    assert login["ok"], login
    assert login["agent"]["id"] == chat_server.agents["ann"]["id"]
    assert login["agent"]["name"] == "Ann" and login["agent"]["status"] == "online"
    assert agent_sockets(chat_server) == 1
    # The session socket is a full agent: it gets a customer and chats.
    carla = await Client(chat_server, "/customer").connect()
    join = await carla.call("customer:join", {"name": "Carla"})
    assert join["ok"] and join["conversation"]["agent"]["id"] == chat_server.agents["ann"]["id"]
    await console.wait_for("customer:new", lambda n: n["conversation"]["id"] == join["conversation"]["id"])
    reply = await console.call("agent:message", {"conversation_id": join["conversation"]["id"], "text": "hi"})
    assert reply["ok"] and reply["message"]["sender_name"] == "Ann"
    # The same cookie with other cookies around it (as a browser sends it) works too.
    tab2 = await Client(chat_server, "/agent").connect(
        headers={"Cookie": f"csrftoken=abc; sessionid={sessionid}; theme=dark"}
    )
    assert (await tab2.call("agent:login", {}))["ok"]
    for c in (console, tab2, carla):
        await c.disconnect()


def createagent(server: LiveServer, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "createagent", *args],
        cwd=ROOT,
        env=base_env(server.db_path),
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_createagent_prints_a_token_that_connects(chat_server):
    made = createagent(
        chat_server,
        "dora",
        "--password",
        "P-dora-123",
        "--name",
        "Dora D",
        "--capacity",
        "3",
        "--skills",
        "a,b",
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1].strip()
    assert token and " " not in token, made.stdout

    row = chat_server.query(
        "select u.username, a.display_name, a.capacity, a.skills, u.is_active from agents_agentprofile a"
        " join auth_user u on u.id = a.user_id where u.username = 'dora'"
    )
    assert row == [("dora", "Dora D", 3, '["a", "b"]', 1)]

    dora = await Client(chat_server, "/agent").connect(auth={"token": token})
    login = await dora.call("agent:login", {})
    assert login["ok"], login
    assert login["agent"]["name"] == "Dora D"
    assert login["agent"]["capacity"] == 3 and sorted(login["agent"]["skills"]) == ["a", "b"]
    assert {a["name"] for a in login["agents"]} >= {"Ann", "Ben", "Cat", "Bill", "Dora D"}
    # Only the printed token is the key: a near miss is refused.
    with pytest.raises(socketio.exceptions.ConnectionError):
        await Client(chat_server, "/agent").connect(auth={"token": token[:-1]})
    await dora.disconnect()


async def test_createagent_for_an_existing_username_fails_clearly(chat_server):
    before = chat_server.query("select id, username, password from auth_user order by id")
    profiles = chat_server.query("select id, api_token_hash from agents_agentprofile order by id")
    for username in ("ben", "ann"):
        again = createagent(chat_server, username, "--password", "other-pass", "--name", "Imposter")
        assert again.returncode != 0, again.stdout
        assert "already exists" in again.stderr.lower(), again.stderr
        assert username in again.stderr, again.stderr
        assert "Traceback" not in again.stderr, again.stderr
    # Nothing changed: ben keeps his password and token.
    assert chat_server.query("select id, username, password from auth_user order by id") == before
    assert chat_server.query("select id, api_token_hash from agents_agentprofile order by id") == profiles
    ben = await Client(chat_server, "/agent").connect(auth={"token": chat_server.agents["ben"]["token"]})
    login = await ben.call("agent:login", {})
    assert login["ok"] and login["agent"]["name"] == "Ben"
    await ben.disconnect()


async def session_cookie(server, username: str, password: str) -> str:
    """Sign in through the console's login form, as a browser would."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(f"{server.url}/accounts/login/") as page:
            assert page.status == 200
        csrf = next(c.value for c in jar if c.key == "csrftoken")
        async with http.post(
            f"{server.url}/accounts/login/",
            data={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": csrf,
                "next": "/console/",
            },
            headers={"Referer": f"{server.url}/accounts/login/"},
            allow_redirects=False,
        ) as response:
            assert response.status == 302, await response.text()
        return next(c.value for c in jar if c.key == "sessionid")


async def test_cross_site_browser_origins_are_refused(chat_server):
    sessionid = await session_cookie(chat_server, "ann", "ann-pass")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await Client(chat_server, "/agent").connect(
            headers={"Cookie": f"sessionid={sessionid}", "Origin": "https://evil.example"}
        )
    same = await Client(chat_server, "/agent").connect(
        headers={"Cookie": f"sessionid={sessionid}", "Origin": chat_server.url}
    )
    await same.disconnect()
