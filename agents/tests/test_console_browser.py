"""The agent console in a real Chromium against a real server.

Customers are driven with python-socketio (the official Python client); the
consoles are real pages signed in through the login form.
"""

import re
import sqlite3

import pytest
from playwright.async_api import expect

from cs_project.testing.browser import screenshot_path
from cs_project.testing.clients import Client, customer
from cs_project.testing.pages import XSS, mine, new_context, open_chat, open_console, send, start, theirs
from cs_project.testing.waits import eventually

pytestmark = pytest.mark.live


async def test_login_is_required_and_only_agents_get_in(browser, chat_server):
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(chat_server.url + "/console/")
    assert "/accounts/login/" in page.url
    await page.fill("#id_username", "ann")
    await page.fill("#id_password", "wrong")
    await page.click("button[type=submit]")
    await expect(page.locator(".form-error")).to_be_visible()
    # A fragment without a session is a redirect to the login page, not data.
    response = await page.request.get(chat_server.url + "/console/queue/", max_redirects=0)
    assert response.status == 302
    page = await open_console(browser, chat_server, "ann")
    await expect(page.locator(".who")).to_have_text("Ann")
    await page.click(".logout button")
    await page.wait_for_url(re.compile(r".*/accounts/login/.*"))


async def test_chat_with_typing_read_ticks_and_markup_shown_as_text(browser, chat_server):
    page = await open_console(browser, chat_server, "ann")
    carla, join = await customer(chat_server, "Carla <b>", email="carla@example.com")
    conversation_id = join["conversation"]["id"]
    item = page.locator(f'.conv-item[data-conversation-id="{conversation_id}"]')
    await expect(item).to_be_visible()
    await expect(page.locator(".toast").first).to_contain_text("New customer: Carla <b>")

    sent = await carla.call("customer:message", {"text": XSS, "client_id": "x1"})
    assert sent["ok"]
    await expect(item.locator(".unread")).to_have_text("1")
    await item.click()
    bubble = page.locator(f'#messages li[data-id="{sent["message"]["id"]}"] .text')
    await expect(bubble).to_have_text(XSS)
    assert await page.locator("#messages img").count() == 0
    # Opening it read the message: the customer is told.
    status = await carla.wait_for("message:status", lambda s: s["status"] == "read")
    assert status["up_to_id"] == sent["message"]["id"]
    await expect(page.locator("#customer-panel h3")).to_have_text("Carla <b>")

    await carla.call("customer:typing", {"is_typing": True})
    await expect(page.locator("#customer-typing")).to_have_text("The customer is typing…")

    await page.fill("#composer-text", f"Echo: {XSS}")
    typing = await carla.wait_for("agent:typing")
    assert typing["is_typing"] is True and typing["agent"]["name"] == "Ann"
    await page.keyboard.press("Enter")
    reply = await carla.wait_for("agent:message", lambda m: m["sender"] == "agent")
    assert reply["text"] == f"Echo: {XSS}"
    mine = page.locator(f'#messages li[data-id="{reply["id"]}"]')
    await expect(mine.locator(".tick")).to_have_attribute("data-status", "delivered")
    assert (await carla.call("message:read", {"up_to_id": reply["id"]}))["ok"]
    await expect(mine.locator(".tick")).to_have_attribute("data-status", "read")
    await page.screenshot(path=screenshot_path("console-chat"))

    # Earlier conversations' transcripts load on demand.
    await page.click(f'#customer-panel [hx-get="/console/transcripts/{conversation_id}/"]')
    await expect(page.locator(f"#transcript-{conversation_id} .msg .text").first).to_be_visible()
    assert await page.locator("#customer-panel img").count() == 0
    assert page.dialogs == [] and page.errors == []
    await carla.disconnect()


async def test_transfer_between_two_consoles(browser, chat_server):
    ann = await open_console(browser, chat_server, "ann")
    ben = await open_console(browser, chat_server, "ben")
    # ben is busy so the customer goes to ann.
    await ben.select_option("#status", "busy")
    ben_busy = f'.roster-item[data-agent-id="{chat_server.agents["ben"]["id"]}"] .dot.busy'
    await expect(ann.locator(ben_busy)).to_have_count(1)  # ann's roster heard it
    dora, join = await customer(chat_server, "Dora")
    conversation_id = join["conversation"]["id"]
    assert join["conversation"]["agent"]["name"] == "Ann"
    await ann.click(f'.conv-item[data-conversation-id="{conversation_id}"]')
    await expect(ann.locator("#open-conversation")).to_be_visible()
    ben_id = chat_server.agents["ben"]["id"]
    await ann.select_option("#transfer-to", str(ben_id))
    await ann.click("#transfer-button")
    await expect(ann.locator(".empty-state")).to_contain_text("Transferred to Ben")
    await expect(ann.locator(f'.conv-item[data-conversation-id="{conversation_id}"]')).to_have_count(0)
    item = ben.locator(f'.conv-item[data-conversation-id="{conversation_id}"]')
    await expect(item).to_be_visible()
    await expect(ben.locator(".toast").first).to_contain_text("Ann transferred Dora to you")
    assigned = await dora.wait_for("agent:assigned", lambda a: a["transferred"])
    assert assigned["agent"]["name"] == "Ben"
    await item.click()
    await ben.fill("#composer-text", "Hi Dora, Ben here.")
    await ben.click("#composer button[type=submit]")
    got = await dora.wait_for("agent:message", lambda m: m["sender"] == "agent")
    assert got["sender_name"] == "Ben"
    await ben.screenshot(path=screenshot_path("console-transfer"))
    await dora.disconnect()


async def test_internal_messages_between_consoles_team_and_direct(browser, chat_server):
    ann = await open_console(browser, chat_server, "ann")
    ben = await open_console(browser, chat_server, "ben")
    watcher, _ = await customer(chat_server, "Watcher")
    for page in (ann, ben):
        await page.click('.tab-button[data-tab="team-tab"]')
        await expect(page.locator("#internal-current h3")).to_have_text("Team channel")

    await ann.fill("#internal-text", f"Team: {XSS}")
    await ann.click("#internal-form button")
    await expect(ben.locator("#internal-messages .msg .text")).to_have_text(f"Team: {XSS}")
    await expect(ann.locator("#internal-messages .msg .text")).to_have_text(f"Team: {XSS}")

    # A direct message from ben to ann: ann is on the team thread, so it shows as unread.
    ann_id = chat_server.agents["ann"]["id"]
    await ben.click(f'.roster-item[data-agent-id="{ann_id}"]')
    await expect(ben.locator("#internal-current h3")).to_have_text("Direct · Ann")
    await ben.fill("#internal-text", "Can you take the billing ones?")
    await ben.click("#internal-form button")
    ben_id = chat_server.agents["ben"]["id"]
    badge = ann.locator(f'[data-unread-for="{ben_id}"]')
    await expect(badge).to_have_text("1")
    await ann.click(f'.roster-item[data-agent-id="{ben_id}"]')
    await expect(ann.locator("#internal-messages .msg .text")).to_have_text("Can you take the billing ones?")
    await expect(badge).to_be_hidden()
    await ann.screenshot(path=screenshot_path("console-team"))

    assert chat_server.scalar("select count(*) from chat_internalmessage") == 2
    assert watcher.of("agent:internal") == []
    assert ann.dialogs == [] and ben.dialogs == []
    await watcher.disconnect()


async def test_queue_claim_status_persistence_and_tabs_in_step(browser, chat_server):
    tab1 = await open_console(browser, chat_server, "cat")
    await tab1.select_option("#status", "busy")
    await expect(tab1.locator("#status")).to_have_value("busy")
    eve, join = await customer(chat_server, "Eve", topic="returns")
    assert join["conversation"]["status"] == "queued"
    await expect(tab1.locator("#queue-length")).to_have_text("1")
    await expect(tab1.locator(".queue-item")).to_contain_text("Eve")
    await tab1.screenshot(path=screenshot_path("console-queue"))

    # A second tab of the same agent: same status, and it follows the first.
    tab2 = await tab1.context.new_page()
    await tab2.goto(chat_server.url + "/console/")
    await expect(tab2.locator("#connection")).to_have_text("Connected")
    await expect(tab2.locator("#status")).to_have_value("busy")
    await tab1.click(".queue-item .claim")
    await expect(tab1.locator("#open-conversation")).to_be_visible()
    assigned = await eve.wait_for("agent:assigned")
    assert assigned["agent"]["name"] == "Cat"
    conversation_id = join["conversation"]["id"]
    await expect(tab2.locator(f'.conv-item[data-conversation-id="{conversation_id}"]')).to_be_visible()
    await expect(tab2.locator("#queue-length")).to_have_text("0")
    await tab2.click(f'.conv-item[data-conversation-id="{conversation_id}"]')
    await tab1.fill("#composer-text", "Sent from tab one")
    await tab1.keyboard.press("Enter")
    await expect(tab2.locator("#messages .msg.mine .text")).to_have_text("Sent from tab one")

    await tab2.select_option("#status", "online")
    await expect(tab1.locator("#status")).to_have_value("online")
    await tab1.reload()
    await expect(tab1.locator("#connection")).to_have_text("Connected")
    await expect(tab1.locator("#status")).to_have_value("online")

    # Tab title counts new messages while the page is hidden.
    await tab1.evaluate(
        "Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    await eve.call("customer:message", {"text": "Are you there?"})
    await expect(tab1).to_have_title(re.compile(r"^\(1\) "))
    await eve.disconnect()


async def test_fragments_need_an_agent_and_show_only_own_open_conversations(browser, chat_server):
    page = await open_console(browser, chat_server, "ann")
    other, join = await customer(chat_server, "Fay")  # goes to ann
    mine = join["conversation"]["id"]
    ok = await page.request.get(f"{chat_server.url}/console/conversations/{mine}/")
    assert ok.status == 200 and "Fay" in await ok.text()
    ben = await Client(chat_server, "/agent").connect(auth={"token": chat_server.agents["ben"]["token"]})
    await ben.call("agent:login", {})
    # Transfer it away: it is no longer ann's to open.
    ann_socket = await Client(chat_server, "/agent").connect(
        auth={"token": chat_server.agents["ann"]["token"]}
    )
    await ann_socket.call("agent:login", {})
    moved = await ann_socket.call(
        "session:transfer", {"conversation_id": mine, "to_agent_id": chat_server.agents["ben"]["id"]}
    )
    assert moved["ok"], moved
    gone = await page.request.get(f"{chat_server.url}/console/conversations/{mine}/")
    assert gone.status == 404
    for client in (other, ben, ann_socket):
        await client.disconnect()


async def test_ending_a_conversation_from_the_console(browser, chat_server):
    page = await open_console(browser, chat_server, "ann")
    gus, join = await customer(chat_server, "Gus")
    conversation_id = join["conversation"]["id"]
    await page.click(f'.conv-item[data-conversation-id="{conversation_id}"]')
    await expect(page.locator("#open-conversation")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    await page.click("#end-button")
    await expect(page.locator(".empty-state")).to_contain_text("Conversation ended.")
    assert (await gus.wait_for("session:end"))["reason"] == "agent_ended"
    await expect(page.locator(f'.conv-item[data-conversation-id="{conversation_id}"]')).to_have_count(0)
    assert (
        chat_server.scalar("select status from chat_conversation where id=?", (conversation_id,)) == "ended"
    )
    await gus.disconnect()


async def test_a_conversation_closed_by_a_supervisor_says_so_in_the_console(browser, chat_server):
    page = await open_console(browser, chat_server, "ann")
    hal, join = await customer(chat_server, "Hal")
    conversation_id = join["conversation"]["id"]
    await page.click(f'.conv-item[data-conversation-id="{conversation_id}"]')
    await expect(page.locator("#open-conversation")).to_be_visible()

    # Test set-up: ben is a supervisor, straight in the server's database.
    with sqlite3.connect(chat_server.db_path, timeout=10) as db:
        db.execute("update auth_user set is_staff=1, is_superuser=1 where username='ben'")
    # Ben closes the conversation with the admin's action, in a browser of his own.
    admin = await (await browser.new_context()).new_page()
    await admin.goto(chat_server.url + "/admin/chat/conversation/")
    await admin.fill("#id_username", "ben")
    await admin.fill("#id_password", "ben-pass")
    await admin.click("input[type=submit]")
    await admin.check(f'input[name="_selected_action"][value="{conversation_id}"]')
    await admin.select_option('select[name="action"]', "close")
    await admin.click('button[name="index"]')
    await expect(admin.locator(".messagelist")).to_contain_text("1 conversation closed.")

    assert (await hal.wait_for("session:end"))["reason"] == "closed_by_supervisor"
    await expect(page.locator("#conversation-pane .empty-state")).to_have_text(
        "A supervisor closed this conversation."
    )
    await expect(page.locator(f'.conv-item[data-conversation-id="{conversation_id}"]')).to_have_count(0)
    assert page.dialogs == [] and page.errors == []
    await hal.disconnect()


async def test_customer_page_and_console_chat_in_two_browser_contexts(browser, chat_server):
    """Both pages people use, side by side: typing, messages, read ticks, markup."""
    console = await open_console(browser, chat_server, "ann")
    page = await open_chat(await new_context(browser), chat_server)
    await start(page, "Carla", email="carla@example.com")
    await expect(page.locator("#head-title")).to_contain_text("Ann")
    item = console.locator(".conv-item").first
    await expect(item).to_contain_text("Carla")
    await item.click()
    await expect(console.locator("#open-conversation")).to_be_visible()

    await page.fill("#composer-text", "Hello there")
    await expect(console.locator("#customer-typing")).to_have_text("The customer is typing…")
    await page.press("#composer-text", "Enter")
    await expect(console.locator('#messages li[data-sender="customer"] .text')).to_have_text("Hello there")
    # The console has the conversation open and visible: the customer sees it read.
    await expect(mine(page).locator(".tick")).to_have_attribute("data-status", "read")

    await console.fill("#composer-text", f"Hi Carla! {XSS}")
    await expect(page.locator("#typing")).to_contain_text("Ann")
    await console.press("#composer-text", "Enter")
    await expect(theirs(page).locator(".text")).to_have_text(f"Hi Carla! {XSS}")
    await expect(console.locator("#messages li.mine .tick")).to_have_attribute("data-status", "read")

    await send(page, XSS)
    await expect(console.locator('#messages li[data-sender="customer"] .text').last).to_have_text(XSS)
    assert await page.locator("#messages img").count() == 0
    assert await console.locator("#messages img").count() == 0
    await console.screenshot(path=screenshot_path("console-with-customer"))
    assert page.dialogs == [] and console.dialogs == []
    assert page.errors == [] and console.errors == []


async def test_logging_out_in_one_tab_signs_the_other_consoles_out(browser, chat_server):
    page = await open_console(browser, chat_server, "ann")
    other = await page.context.new_page()
    await other.goto(chat_server.url + "/console/")
    await expect(other.locator("#connection")).to_have_text("Connected", timeout=15000)
    ann_sockets = "select sockets from agents_agentprofile where display_name='Ann'"
    await eventually(lambda: chat_server.scalar(ann_sockets) == 2, what="both consoles logged in")
    await page.click(".logout button")
    await page.wait_for_url(re.compile(r".*/accounts/login/.*"))
    # The server ended the other tab's socket; reconnecting is refused, so it signs in again.
    await other.wait_for_url(re.compile(r".*/accounts/login/.*"), timeout=15000)
    await eventually(lambda: chat_server.scalar(ann_sockets) == 0, what="no console socket left")
    await page.context.close()
