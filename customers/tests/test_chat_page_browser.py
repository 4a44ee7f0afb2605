"""The customer chat page in a real Chromium, against a real server.

Agents are driven by python-socketio (or by a real console, where the test
is about both pages together).
"""

import pytest
from playwright.async_api import expect

from agents.tests.test_console_browser import open_console
from chat.tests.browser import screenshot_path
from chat.tests.live import agent

pytestmark = pytest.mark.live

XSS = "<img src=x onerror=alert(1)>"


async def open_chat(browser, server, viewport=None, context=None):
    context = context or await browser.new_context(viewport=viewport or {"width": 1200, "height": 860})
    page = await context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: page.dialogs.append(dialog.message))
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    await page.goto(server.url + "/")
    return page


async def start(page, name="Carla", email="", topic=""):
    await expect(page.locator("#start-form")).to_be_visible()
    await page.fill("#start-name", name)
    if email:
        await page.fill("#start-email", email)
    if topic:
        await page.select_option("#start-topic", topic)
    await page.click("#start-form button[type=submit]")
    await expect(page.locator("#conversation")).to_be_visible()


async def send(page, text):
    await page.fill("#composer-text", text)
    await page.press("#composer-text", "Enter")


def mine(page):
    return page.locator("#messages li.mine")


async def test_customer_and_console_chat_both_ways(browser, chat_server):
    console = await open_console(browser, chat_server, "ann")
    page = await open_chat(browser, chat_server)
    await page.screenshot(path=screenshot_path("customer-start"))
    await expect(page.locator("#start-topic option")).to_have_text(["General question", "Billing"])
    await start(page, "Carla", email="carla@example.com")
    await expect(page.locator("#head-title")).to_have_text("You're chatting with Ann")

    item = console.locator(".conv-item").first
    await expect(item).to_contain_text("Carla")
    await item.click()
    await expect(console.locator("#open-conversation")).to_be_visible()

    # Customer types: the console shows it; then the message arrives.
    await page.fill("#composer-text", "Hello there")
    await expect(console.locator("#customer-typing")).to_have_text("The customer is typing…")
    await page.press("#composer-text", "Enter")
    await expect(console.locator('#messages li[data-sender="customer"] .text')).to_have_text("Hello there")
    # The console has it open and visible: the customer's tick turns to read.
    await expect(mine(page).locator(".tick")).to_have_attribute("aria-label", "read")

    # Agent types and answers.
    await console.fill("#composer-text", "Hi Carla, how can I help?")
    await expect(page.locator("#typing")).to_have_text("Ann is typing…")
    await console.press("#composer-text", "Enter")
    await expect(page.locator("#messages li.theirs .text")).to_have_text("Hi Carla, how can I help?")
    await expect(page.locator("#typing")).to_have_text("")
    await expect(console.locator("#messages li.mine .tick")).to_have_attribute("aria-label", "read")

    # Markup shows as text in both pages and runs nothing.
    await send(page, XSS)
    await console.fill("#composer-text", XSS)
    await console.press("#composer-text", "Enter")
    await expect(page.locator("#messages li.theirs .text").last).to_have_text(XSS)
    await expect(console.locator('#messages li[data-sender="customer"] .text').last).to_have_text(XSS)
    await expect(page.locator("#messages li.mine .text").last).to_have_text(XSS)
    assert await page.locator("#messages img").count() == 0
    assert await console.locator("#messages img").count() == 0
    await page.screenshot(path=screenshot_path("customer-chat"))
    await console.screenshot(path=screenshot_path("console-with-customer"))
    assert page.dialogs == [] and console.dialogs == []
    assert page.errors == [] and console.errors == []


async def test_queue_position_then_assignment(browser, chat_server):
    page = await open_chat(browser, chat_server)
    await start(page, "Quinn")
    await expect(page.locator("#queue-banner")).to_contain_text("you are number 1")
    await expect(page.locator("#head-title")).to_have_text("Waiting for an agent")
    await send(page, "Anyone there?")
    await expect(mine(page).locator(".tick")).to_have_attribute("aria-label", "sent")
    await page.screenshot(path=screenshot_path("customer-queued"))

    ben, _ = await agent(chat_server, "ben")
    await expect(page.locator("#head-title")).to_have_text("You're chatting with Ben")
    await expect(page.locator("#queue-banner")).to_be_hidden()
    # Ben was given the conversation with what the customer wrote: delivered.
    await expect(mine(page).locator(".tick")).to_have_attribute("aria-label", "delivered")
    new = await ben.wait_for("customer:new")
    assert [m["text"] for m in new["messages"] if m["sender"] == "customer"] == ["Anyone there?"]
    await ben.disconnect()


async def test_reload_and_second_tab_lose_nothing_and_double_nothing(browser, chat_server):
    ann, _ = await agent(chat_server, "ann")
    page = await open_chat(browser, chat_server)
    await start(page, "Rita")
    for i in range(3):
        await send(page, f"message {i}")
    await expect(mine(page)).to_have_count(3)
    new = await ann.wait_for("customer:new")
    conversation_id = new["conversation"]["id"]
    await ann.wait_for("customer:message", lambda m: m["text"] == "message 2")
    await ann.call("agent:message", {"conversation_id": conversation_id, "text": "reply"})
    await expect(page.locator("#messages li.theirs")).to_have_count(1)

    await page.reload()
    await expect(page.locator("#conversation")).to_be_visible()
    await expect(mine(page)).to_have_count(3)
    await expect(page.locator("#messages li.theirs")).to_have_count(1)
    await expect(page.locator("#head-title")).to_have_text("You're chatting with Ann")

    tab2 = await open_chat(browser, chat_server, context=page.context)
    await expect(tab2.locator("#messages li.mine")).to_have_count(3)
    await send(tab2, "from the second tab")
    await expect(page.locator("#messages li.mine .text").last).to_have_text("from the second tab")
    await expect(mine(page)).to_have_count(4)
    await expect(tab2.locator("#messages li.mine")).to_have_count(4)
    ids = await page.eval_on_selector_all(
        "#messages li[data-id]", "nodes => nodes.map(n => Number(n.dataset.id))"
    )
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    stored = chat_server.scalar(
        "select count(*) from chat_message where conversation_id=? and sender='customer'", (conversation_id,)
    )
    assert stored == 4
    assert chat_server.scalar("select count(*) from customers_customer") == 1
    await ann.disconnect()


async def test_offline_period_keeps_typed_messages_and_sends_them_once_in_order(browser, chat_server):
    ann, _ = await agent(chat_server, "ann")
    page = await open_chat(browser, chat_server)
    await start(page, "Olga")
    await send(page, "before")
    await ann.wait_for("customer:message", lambda m: m["text"] == "before")

    await page.context.set_offline(True)
    # set_offline does not cut an open WebSocket: drop the transport too.
    await page.evaluate("window.__chat.socket.io.engine.close()")
    await expect(page.locator("#offline-banner")).to_be_visible()
    await send(page, "offline one")
    await send(page, "offline two")
    await expect(page.locator("#messages li.pending")).to_have_count(2)
    await page.screenshot(path=screenshot_path("customer-offline"))
    # A reload while offline keeps them too (they live in localStorage).
    assert await page.evaluate("JSON.parse(localStorage.getItem('cs.customer.outbox')).length") == 2

    await page.context.set_offline(False)
    await expect(page.locator("#offline-banner")).to_be_hidden(timeout=20000)
    await expect(page.locator("#messages li.pending")).to_have_count(0, timeout=20000)
    await ann.wait_for("customer:message", lambda m: m["text"] == "offline two")
    texts = [m["text"] for m in ann.of("customer:message") if m["sender"] == "customer"]
    assert texts == ["before", "offline one", "offline two"]
    await expect(mine(page).locator(".tick").last).to_have_attribute("aria-label", "delivered")
    rows = chat_server.query("select text from chat_message where sender='customer' order by id")
    assert rows == [("before",), ("offline one",), ("offline two",)]
    await ann.disconnect()


async def test_customer_ends_the_chat_and_starts_again(browser, chat_server):
    ann, _ = await agent(chat_server, "ann")
    page = await open_chat(browser, chat_server)
    await start(page, "Erin")
    await expect(page.locator("#head-title")).to_have_text("You're chatting with Ann")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.click("#end-chat")
    await expect(page.locator("#ended")).to_contain_text("You ended this chat.")
    assert (await ann.wait_for("session:end"))["reason"] == "customer_left"
    await expect(page.locator("#composer")).to_be_hidden()

    await page.click("#restart")
    await expect(page.locator("#composer")).to_be_visible()
    await send(page, "A new question")
    new = await ann.wait_for("customer:new", count=2)
    assert new["conversation"]["status"] == "active"
    await expect(page.locator("#head-title")).to_have_text("You're chatting with Ann")
    await expect(mine(page)).to_have_count(1)
    assert chat_server.scalar("select count(*) from chat_conversation") == 2
    await ann.disconnect()


async def test_agent_ending_shows_a_clear_note(browser, chat_server):
    ann, _ = await agent(chat_server, "ann")
    page = await open_chat(browser, chat_server)
    await start(page, "Nina")
    new = await ann.wait_for("customer:new")
    await ann.call("session:end", {"conversation_id": new["conversation"]["id"]})
    await expect(page.locator("#ended-text")).to_have_text("The agent ended this chat.")
    await expect(page.locator("#restart")).to_be_visible()
    # After a reload the ended chat is still shown as ended, with a way to start again.
    await page.reload()
    await expect(page.locator("#ended-text")).to_be_visible()
    await expect(page.locator("#messages li.system").last).to_contain_text("ended the conversation")
    await ann.disconnect()


async def test_phone_layout(browser, chat_server):
    ann, _ = await agent(chat_server, "ann")
    page = await open_chat(browser, chat_server, viewport={"width": 375, "height": 740})
    await start(page, "Paula")
    await send(page, "Hi from my phone")
    new = await ann.wait_for("customer:new")
    await ann.call("agent:message", {"conversation_id": new["conversation"]["id"], "text": "Hello Paula!"})
    await expect(page.locator("#messages li.theirs .text")).to_have_text("Hello Paula!")
    box = await page.locator(".chat-card").bounding_box()
    assert box["width"] == 375
    composer = await page.locator("#composer").bounding_box()
    assert composer["y"] + composer["height"] <= 740
    await page.screenshot(path=screenshot_path("customer-mobile"))
    await ann.disconnect()


async def test_forgotten_token_shows_the_start_form(browser, chat_server):
    page = await open_chat(browser, chat_server)
    await page.evaluate("localStorage.setItem('cs.customer.token', 'forged-token')")
    await page.reload()
    await expect(page.locator("#start-form")).to_be_visible()
    await expect(page.locator("#start-error")).to_contain_text("could not be found")
    await start(page, "Fresh")
    await expect(page.locator("#head-title")).to_have_text("Waiting for an agent")
