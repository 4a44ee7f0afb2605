"""Every page under the Content-Security-Policy, in a real Chromium against a
real server: the header on each page, and no violation reported while the
chat page, the console and admin do their work (the Socket.IO WebSocket
included). The other browser tests watch for violations too
(`cs_project.testing.browser.record`); these walk every page on purpose.
"""

from __future__ import annotations

import sqlite3

import aiohttp
import pytest
from playwright.async_api import expect

from cs_project.testing.browser import record, watch_csp
from cs_project.testing.clients import customer
from cs_project.testing.pages import send, start, theirs
from cs_project.testing.server import LiveServer
from cs_project.testing.waits import eventually

pytestmark = pytest.mark.live

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def directives(header: str) -> dict[str, str]:
    parts = (part.strip().split(None, 1) for part in header.split(";") if part.strip())
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


def assert_policy(url: str, header: str | None) -> None:
    assert header, f"{url}: no Content-Security-Policy header"
    found = directives(header)
    for name, value in POLICY.items():
        assert found.get(name) == value, f"{url}: {name} is {found.get(name)!r}, want {value!r}"
    assert "unsafe" not in header, f"{url}: {header}"


def make_supervisor(server: LiveServer, username: str) -> None:
    with sqlite3.connect(server.db_path, timeout=10) as db:  # test set-up, straight in the database
        db.execute("update auth_user set is_staff=1, is_superuser=1 where username=?", (username,))


async def signed_in_http(server: LiveServer, username: str, path: str) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(server.url + path) as page:
        assert page.status == 200
    csrf = next(c.value for c in http.cookie_jar if c.key == "csrftoken")
    async with http.post(
        server.url + path,
        data={"username": username, "password": f"{username}-pass", "csrfmiddlewaretoken": csrf},
        allow_redirects=False,
    ) as response:
        assert response.status == 302, await response.text()
    return http


# Production settings, on plain HTTP: DEBUG off (so error pages carry the policy too).
PRODUCTION_ON_HTTP = {
    "DEBUG": "0",
    "SECRET_KEY": "test-only-" + "k" * 60,
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
}


@pytest.mark.parametrize("debug", ["production", "debug"])
async def test_every_page_carries_the_policy(start_chat_server, debug):
    server = start_chat_server(**(PRODUCTION_ON_HTTP if debug == "production" else {}))
    make_supervisor(server, "bill")
    async with aiohttp.ClientSession() as anonymous:
        for path, status in [
            ("/", 200),
            ("/accounts/login/", 200),
            ("/admin/login/", 200),
            ("/console/", 302),
            *([("/no-such-page/", 404)] if debug == "production" else []),  # not DEBUG's own 404 page
        ]:
            async with anonymous.get(server.url + path, allow_redirects=False) as response:
                assert response.status == status, (path, response.status)
                assert_policy(path, response.headers.get("Content-Security-Policy"))
    async with await signed_in_http(server, "ann", "/accounts/login/") as ann:
        for path in ("/console/", "/console/queue/", "/console/conversations/"):
            async with ann.get(server.url + path) as response:
                assert response.status == 200, path
                assert_policy(path, response.headers.get("Content-Security-Policy"))
    async with await signed_in_http(server, "bill", "/admin/login/") as bill:
        for path in ("/admin/", "/admin/agents/agentprofile/", "/admin/axes/accessattempt/"):
            async with bill.get(server.url + path) as response:
                assert response.status == 200, path
                assert_policy(path, response.headers.get("Content-Security-Policy"))


async def watched_page(context):
    """A new tab that records errors and CSP violations, and the WebSockets it opens."""
    page = record(await context.new_page())
    await watch_csp(page)
    page.sockets = []
    page.frames_in = []

    def opened(ws):
        page.sockets.append(ws.url)
        ws.on("framereceived", lambda payload: page.frames_in.append(payload))

    page.on("websocket", opened)
    return page


async def test_chat_page_and_console_work_with_no_violation_over_the_websocket(browser, chat_server):
    console_context = await browser.new_context()
    console = await watched_page(console_context)
    await console.goto(chat_server.url + "/console/")
    await console.fill("#id_username", "ann")
    await console.fill("#id_password", "ann-pass")
    await console.click("button[type=submit]")
    await expect(console.locator("#connection")).to_have_text("Connected", timeout=15000)

    chat_context = await browser.new_context()
    page = await watched_page(chat_context)
    await page.goto(chat_server.url + "/")
    await start(page, "Carla")
    await send(page, "Hello under the policy")

    # The console shows the customer, opens the conversation (htmx) and answers.
    item = console.locator(".conv-item").first
    await expect(item).to_be_visible(timeout=15000)
    await item.click()
    await expect(console.locator("#messages")).to_contain_text("Hello under the policy")
    await console.fill("#composer-text", "Hi Carla")
    await console.press("#composer-text", "Enter")
    await expect(theirs(page)).to_contain_text(["Hi Carla"])

    # Both talked over a WebSocket of their own origin, allowed by connect-src 'self'.
    for tab in (page, console):
        ws_url = "ws" + chat_server.url.removeprefix("http")
        upgraded = [u for u in tab.sockets if u.startswith(f"{ws_url}/socket.io/") and "websocket" in u]
        assert upgraded, tab.sockets
        await eventually(lambda tab=tab: len(tab.frames_in) > 2, what="frames over the WebSocket")
    assert page.errors == [] and console.errors == []
    assert page.dialogs == [] and console.dialogs == []
    await chat_context.close()
    await console_context.close()


async def test_a_violation_is_reported_by_the_watch(browser, chat_server):
    # The check above cannot pass by seeing nothing: an inline script and an
    # inline style, added on purpose, are refused and reported.
    context = await browser.new_context()
    page = await watched_page(context)
    await page.goto(chat_server.url + "/")
    inline_script = "Object.assign(document.createElement('script'), {textContent: 'window.ran = 1'})"
    await page.evaluate(f"document.head.append({inline_script})")
    await page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
    await eventually(lambda: len(page.errors) >= 2, what="both violations reported")
    assert await page.evaluate("window.ran") is None
    reported = " ".join(page.errors)
    assert "script-src" in reported and "style-src" in reported, page.errors
    await context.close()


async def test_admin_pages_work_with_no_violation(browser, chat_server):
    make_supervisor(chat_server, "bill")
    carla, join = await customer(chat_server, "Carla")
    conversation_id = join["conversation"]["id"]
    await carla.disconnect()
    context = await browser.new_context()
    page = await watched_page(context)
    await page.goto(chat_server.url + "/admin/")
    await page.fill("#id_username", "bill")
    await page.fill("#id_password", "bill-pass")
    await page.click("input[type=submit]")
    await expect(page.locator("#site-name")).to_be_visible()
    ann_profile = chat_server.agents["ann"]["id"]
    [(ann_user,)] = chat_server.query("select id from auth_user where username='ann'")
    for path in (
        "/admin/",
        "/admin/agents/agentprofile/",
        f"/admin/agents/agentprofile/{ann_profile}/change/",
        "/admin/chat/conversation/",
        "/admin/chat/livequeue/",
        f"/admin/chat/conversation/{conversation_id}/change/",
        "/admin/customers/customer/",
        "/admin/auth/user/",
        f"/admin/auth/user/{ann_user}/change/",
        "/admin/auth/user/add/",
        "/admin/auth/group/add/",
        "/admin/axes/accessattempt/",
    ):
        response = await page.goto(chat_server.url + path)
        assert response.status == 200, path
        await page.wait_for_load_state("load")
        assert page.errors == [], (path, page.errors)
    # The admin's own scripts still run: the user form's permission filter is built by JS.
    await page.goto(chat_server.url + "/admin/auth/group/add/")
    await expect(page.locator("#id_permissions_filter")).to_be_visible()
    assert page.errors == []
    await context.close()
