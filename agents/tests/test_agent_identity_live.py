"""Who may open /agent: API tokens, session cookies, nobody else; createagent."""

import subprocess
import sys

import aiohttp
import pytest
import socketio

from chat.tests.live import ROOT, Client, base_env

pytestmark = pytest.mark.live


@pytest.mark.parametrize("auth", [None, {}, {"token": "wrong"}, {"token": 42}])
async def test_agent_namespace_refuses_without_credentials(chat_server, auth):
    client = Client(chat_server, "/agent")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(auth=auth)


async def test_customer_with_a_forged_token_is_refused(chat_server):
    with pytest.raises(socketio.exceptions.ConnectionError):
        await Client(chat_server, "/customer").connect(auth={"token": "forged.token"})


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


async def test_console_session_cookie_opens_the_agent_namespace(chat_server):
    sessionid = await session_cookie(chat_server, "ann", "ann-pass")
    client = await Client(chat_server, "/agent").connect(headers={"Cookie": f"sessionid={sessionid}"})
    login = await client.call("agent:login", {})
    assert login["ok"] and login["agent"]["name"] == "Ann"
    await client.disconnect()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await Client(chat_server, "/agent").connect(headers={"Cookie": "sessionid=not-a-session"})


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


def createagent(server, *args):
    return subprocess.run(
        [sys.executable, "manage.py", "createagent", *args],
        cwd=ROOT,
        env=base_env(server.db_path),
        capture_output=True,
        text=True,
    )


async def test_createagent_prints_a_working_token_last(chat_server):
    made = createagent(
        chat_server,
        "dora",
        "--password",
        "pw-12345",
        "--name",
        "Dora D",
        "--capacity",
        "3",
        "--skills",
        "a, b",
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    row = chat_server.query(
        "select display_name, capacity, skills from agents_agentprofile a"
        " join auth_user u on u.id = a.user_id where u.username = 'dora'"
    )
    assert row == [("Dora D", 3, '["a", "b"]')]
    client = await Client(chat_server, "/agent").connect(auth={"token": token})
    login = await client.call("agent:login", {})
    assert login["agent"]["name"] == "Dora D" and login["agent"]["skills"] == ["a", "b"]
    await client.disconnect()

    again = createagent(chat_server, "dora")
    assert again.returncode != 0 and "already exists" in again.stderr
    bad = createagent(chat_server, "eve", "--capacity", "-1")
    assert bad.returncode != 0 and "--capacity" in bad.stderr
    assert chat_server.scalar("select count(*) from auth_user where username in ('dora', 'eve')") == 1
