"""The customer chat page (/) in a real Chromium, against a real server.

Each test gets its own Daphne and database (the `chat_server` fixture).
Agents are driven from Python with python-socketio (`cs_project.testing.clients.agent`),
so what an agent receives is checked on the wire, exactly as sent.
"""

import re

import pytest
from playwright.async_api import expect

from cs_project.testing.browser import screenshot_path
from cs_project.testing.clients import agent, customer
from cs_project.testing.pages import XSS, mine, new_context, open_chat, send, start, started_chat, theirs

pytestmark = pytest.mark.live

PHONE = {"width": 375, "height": 740}


async def expect_ticks(bubbles, labels):
    """The bubbles' ticks show the statuses `labels` (waiting for each)."""
    await expect(bubbles).to_have_count(len(labels))
    for i, label in enumerate(labels):
        await expect(bubbles.nth(i).locator(".tick")).to_have_attribute("data-status", label)


async def shown_ids(page):
    return await page.eval_on_selector_all(
        "#messages li[data-id]", "nodes => nodes.map(n => Number(n.dataset.id))"
    )


async def test_customer_and_agent_chat_both_ways_with_typing_and_read_ticks(browser, chat_server):
    ann, _ = await agent(chat_server, "ann")
    context = await new_context(browser)
    page = await open_chat(context, chat_server)
    await expect(page.locator("#start-topic option")).to_have_text(["General", "Billing"])
    await expect(page.locator(".page-foot a")).to_have_text(["sign in", "Supervisors"])
    assert await page.locator(".page-foot a").evaluate_all("links => links.map(a => a.pathname)") == [
        "/console/",
        "/admin/",
    ]
    await page.screenshot(path=screenshot_path("customer-start"))

    await start(page, "Carla", email="carla@example.com")
    await expect(page.locator("#head-title")).to_have_text("You're chatting with Ann")
    new = await ann.wait_for("customer:new")
    conversation_id = new["conversation"]["id"]
    assert new["conversation"]["customer"]["name"] == "Carla"
    assert new["conversation"]["customer"]["email"] == "carla@example.com"
    await expect(page.locator("#messages li.system")).to_contain_text(["Ann"])

    # The customer types: the agent is told, then told it stopped on send.
    await page.locator("#composer-text").press_sequentially("Hello there", delay=15)
    typing = await ann.wait_for("customer:typing", lambda d: d["is_typing"])
    assert typing["conversation_id"] == conversation_id
    await page.press("#composer-text", "Enter")
    hello = await ann.wait_for("customer:message", lambda m: m["text"] == "Hello there")
    await ann.wait_for("customer:typing", lambda d: d["is_typing"] is False)
    tick = mine(page).locator(".tick")
    await expect(tick).to_have_attribute("data-status", "delivered")
    await expect(tick).to_have_text("✓✓")

    # The agent types: the page shows it, and stops showing it with the message.
    await ann.call("agent:typing", {"conversation_id": conversation_id, "is_typing": True})
    await expect(page.locator("#typing")).to_have_text("Ann is typing…")
    await ann.call("agent:typing", {"conversation_id": conversation_id, "is_typing": False})
    await expect(page.locator("#typing")).to_have_text("")
    await ann.call("agent:typing", {"conversation_id": conversation_id, "is_typing": True})
    await expect(page.locator("#typing")).to_have_text("Ann is typing…")
    reply = await ann.call(
        "agent:message", {"conversation_id": conversation_id, "text": "Hi Carla, how can I help?"}
    )
    assert reply["ok"], reply
    await expect(theirs(page).locator(".text")).to_have_text("Hi Carla, how can I help?")
    await expect(theirs(page).locator(".who")).to_have_text("Ann")
    await expect(page.locator("#typing")).to_have_text("")

    # The page is visible: the customer read it, and the agent is told.
    reply_id = reply["message"]["id"]
    read = await ann.wait_for("message:status", lambda d: d["status"] == "read" and d["up_to_id"] >= reply_id)
    assert read["conversation_id"] == conversation_id

    # Our tick stays "delivered" until the agent reads; then it turns "read".
    await expect(tick).to_have_attribute("data-status", "delivered")
    await expect(tick).not_to_have_class(re.compile(r"\bread\b"))
    assert (await ann.call("message:read", {"conversation_id": conversation_id, "up_to_id": hello["id"]}))[
        "ok"
    ]
    await expect(tick).to_have_attribute("data-status", "read")
    await expect(tick).to_have_class(re.compile(r"\bread\b"))

    await send(page, "I was charged twice for my order #1042.")
    await ann.wait_for("customer:message", lambda m: m["text"].startswith("I was charged"))
    await ann.call(
        "agent:message",
        {"conversation_id": conversation_id, "text": "Sorry about that! Let me look at it right away."},
    )
    await expect(theirs(page)).to_have_count(2)
    await ann.call("agent:typing", {"conversation_id": conversation_id, "is_typing": True})
    await expect(page.locator("#typing")).to_have_text("Ann is typing…")
    await expect(mine(page).last.locator(".tick")).to_have_attribute("data-status", "delivered")
    await page.screenshot(path=screenshot_path("customer-chat"))

    ids = await shown_ids(page)
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert page.dialogs == [] and page.errors == []
    await ann.disconnect()
    await context.close()


async def test_queue_position_when_no_agent_is_logged_in_then_assignment(browser, chat_server):
    context, page = await started_chat(browser, chat_server, "Quinn")
    banner = page.locator("#queue-banner")
    # No agent online: no estimate either.
    await expect(banner).to_have_text("Waiting for an agent — you are number 1")
    await expect(page.locator("#head-title")).to_have_text("Chat with us")
    await expect(page.locator("#end-chat")).to_be_visible()
    await send(page, "Anyone there?")
    await expect(mine(page).locator(".tick")).to_have_attribute("data-status", "sent")
    await expect(mine(page).locator(".tick")).to_have_text("✓")

    ben, _ = await agent(chat_server, "ben")
    await expect(page.locator("#head-title")).to_have_text("You're chatting with Ben")
    await expect(banner).to_be_hidden()
    # Ben got the conversation with what the customer wrote: delivered.
    await expect(mine(page).locator(".tick")).to_have_attribute("data-status", "delivered")
    new = await ben.wait_for("customer:new")
    assert [m["text"] for m in new["messages"] if m["sender"] == "customer"] == ["Anyone there?"]
    assert page.dialogs == [] and page.errors == []
    await ben.disconnect()
    await context.close()


async def test_queue_position_when_all_agents_are_busy_then_assignment(browser, chat_server):
    ann, _ = await agent(chat_server, "ann")  # capacity 2, the only agent logged in
    first, first_ack = await customer(chat_server, "First")
    second, _ = await customer(chat_server, "Second")
    await ann.wait_for("customer:new", count=2)

    context, page = await started_chat(browser, chat_server, "Queued")
    banner = page.locator("#queue-banner")
    # Ann is online, so the server estimates the wait and the page shows it.
    waiting = re.compile(
        r"^Waiting for an agent — you are number 1 \((about \d+ minutes?|less than a minute)\)$"
    )
    await expect(banner).to_have_text(waiting)
    await send(page, "Hello, I have a question about my order.")
    await expect(mine(page).locator(".tick")).to_have_attribute("data-status", "sent")
    await page.screenshot(path=screenshot_path("customer-queued"))
    # A customer who comes later queues behind, and this page stays number 1.
    later, later_ack = await customer(chat_server, "Later")
    assert later_ack["queue_position"] == 2
    await later.wait_for("queue:position", lambda d: d["position"] == 2)
    await expect(banner).to_have_text(waiting)

    # Ann ends one chat: the head of the queue (this page) gets her.
    ended = await ann.call("session:end", {"conversation_id": first_ack["conversation"]["id"]})
    assert ended["ok"], ended
    await expect(page.locator("#head-title")).to_have_text("You're chatting with Ann")
    await expect(banner).to_be_hidden()
    await expect(mine(page).locator(".tick")).to_have_attribute("data-status", "delivered")
    # And the customer behind moves up.
    await later.wait_for("queue:position", lambda d: d["position"] == 1)
    assert page.errors == []
    for client in (ann, first, second, later):
        await client.disconnect()
    await context.close()


async def test_topic_routes_to_an_agent_with_that_skill(browser, chat_server):
    ann, _ = await agent(chat_server, "ann")
    bill, _ = await agent(chat_server, "bill")
    context, page = await started_chat(browser, chat_server, "Tom", topic="billing")
    await expect(page.locator("#head-title")).to_have_text("You're chatting with Bill")
    new = await bill.wait_for("customer:new")
    assert new["conversation"]["topic"] == "billing"
    assert ann.of("customer:new") == []
    await ann.disconnect()
    await bill.disconnect()
    await context.close()


async def test_reload_and_second_tab_lose_nothing_and_double_nothing(browser, chat_server):
    ann, _ = await agent(chat_server, "ann")
    context, page = await started_chat(browser, chat_server, "Rita")
    for i in range(3):
        await send(page, f"message {i}")
    await expect(mine(page)).to_have_count(3)
    new = await ann.wait_for("customer:new")
    conversation_id = new["conversation"]["id"]
    await ann.wait_for("customer:message", lambda m: m["text"] == "message 2")
    await ann.call("agent:message", {"conversation_id": conversation_id, "text": "reply"})
    await expect(theirs(page)).to_have_count(1)
    before = await shown_ids(page)

    await page.reload()
    await expect(page.locator("#conversation")).to_be_visible()
    await expect(page.locator("#head-title")).to_have_text("You're chatting with Ann")
    await expect(mine(page)).to_have_count(3)
    await expect(theirs(page)).to_have_count(1)
    assert await shown_ids(page) == before
    await expect(mine(page).locator(".text")).to_have_text(["message 0", "message 1", "message 2"])

    # A second tab in the same browser resumes the same conversation.
    tab2 = await open_chat(context, chat_server)
    await expect(tab2.locator("#head-title")).to_have_text("You're chatting with Ann")
    await expect(mine(tab2)).to_have_count(3)
    await expect(theirs(tab2)).to_have_count(1)
    assert await shown_ids(tab2) == before

    # What one tab writes shows in the other as the customer's own message.
    await send(tab2, "from the second tab")
    await expect(mine(page).last.locator(".text")).to_have_text("from the second tab")
    await expect(mine(page)).to_have_count(4)
    await expect(mine(tab2)).to_have_count(4)
    # And the agent's answer reaches both.
    await ann.call("agent:message", {"conversation_id": conversation_id, "text": "got it"})
    await expect(theirs(page)).to_have_count(2)
    await expect(theirs(tab2)).to_have_count(2)

    await page.reload()
    await expect(mine(page)).to_have_count(4)
    await expect(theirs(page)).to_have_count(2)
    ids = await shown_ids(page)
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert ids == await shown_ids(tab2)

    stored = chat_server.scalar(
        "select count(*) from chat_message where conversation_id=? and sender='customer'", (conversation_id,)
    )
    assert stored == 4
    assert chat_server.scalar("select count(*) from customers_customer") == 1
    assert chat_server.scalar("select count(*) from chat_conversation") == 1
    assert page.errors == [] and tab2.errors == []
    await ann.disconnect()
    await context.close()


async def test_offline_period_keeps_typed_messages_and_sends_them_once_in_order(browser, chat_server):
    ann, _ = await agent(chat_server, "ann")
    context, page = await started_chat(browser, chat_server, "Olga")
    await send(page, "before")
    await ann.wait_for("customer:message", lambda m: m["text"] == "before")
    conversation_id = (await ann.wait_for("customer:new"))["conversation"]["id"]
    await expect(page.locator("#offline-banner")).to_be_hidden()

    await context.set_offline(True)
    # set_offline does not cut an open WebSocket in Chromium: drop the transport too.
    await page.evaluate("window.__chat.socket.io.engine.close()")
    await expect(page.locator("#offline-banner")).to_be_visible()
    await expect(page.locator("#offline-banner")).to_have_text("Reconnecting…")
    await send(page, "offline one")
    await send(page, "offline two")
    pending = page.locator("#messages li.pending")
    await expect(pending).to_have_count(2)
    await expect_ticks(pending, ["pending", "pending"])
    await expect(pending.locator(".text")).to_have_text(["offline one", "offline two"])
    # Meanwhile the agent writes; the page must get it after the re-join.
    await ann.call("agent:message", {"conversation_id": conversation_id, "text": "are you still there?"})
    assert await page.evaluate("JSON.parse(localStorage.getItem('cs.customer.outbox')).length") == 2
    await page.screenshot(path=screenshot_path("customer-offline"))

    await context.set_offline(False)
    await expect(page.locator("#offline-banner")).to_be_hidden(timeout=20000)
    await expect(pending).to_have_count(0, timeout=20000)
    await ann.wait_for("customer:message", lambda m: m["text"] == "offline two")
    texts = [m["text"] for m in ann.of("customer:message") if m["sender"] == "customer"]
    assert texts == ["before", "offline one", "offline two"]
    await expect(mine(page).locator(".text")).to_have_text(["before", "offline one", "offline two"])
    await expect_ticks(mine(page), [re.compile("delivered|read")] * 3)
    await expect(theirs(page).locator(".text")).to_have_text(["are you still there?"])
    assert await page.evaluate("localStorage.getItem('cs.customer.outbox')") is None

    # The ticks keep following what the agent does.
    last_id = max(m["id"] for m in ann.of("customer:message"))
    await ann.call("message:read", {"conversation_id": conversation_id, "up_to_id": last_id})
    await expect_ticks(mine(page), ["read", "read", "read"])

    rows = chat_server.query("select text from chat_message where sender='customer' order by id")
    assert rows == [("before",), ("offline one",), ("offline two",)]
    ids = await shown_ids(page)
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert page.errors == []
    await ann.disconnect()
    await context.close()


async def test_messages_typed_offline_survive_a_reload(browser, chat_server):
    ann, _ = await agent(chat_server, "ann")
    context, page = await started_chat(browser, chat_server, "Ursula")
    await send(page, "first")
    await ann.wait_for("customer:message", lambda m: m["text"] == "first")

    # Cut the socket only (the page itself still loads): every Socket.IO
    # handshake starts with HTTP long-polling, which is refused.
    await page.route("**/socket.io/**", lambda route: route.abort())
    await page.evaluate("window.__chat.socket.io.engine.close()")
    await expect(page.locator("#offline-banner")).to_be_visible()
    await send(page, "typed offline")
    await send(page, "also offline")
    await expect(page.locator("#messages li.pending")).to_have_count(2)

    await page.reload()
    await expect(page.locator("#offline-banner")).to_be_visible()
    await expect(page.locator("#messages li.pending .text")).to_have_text(["typed offline", "also offline"])

    await page.unroute("**/socket.io/**")
    await expect(page.locator("#messages li.pending")).to_have_count(0, timeout=20000)
    await expect(mine(page).locator(".text")).to_have_text(["first", "typed offline", "also offline"])
    await ann.wait_for("customer:message", lambda m: m["text"] == "also offline")
    texts = [m["text"] for m in ann.of("customer:message") if m["sender"] == "customer"]
    assert texts == ["first", "typed offline", "also offline"]
    assert chat_server.scalar("select count(*) from chat_message where sender='customer'") == 3
    await ann.disconnect()
    await context.close()


async def test_two_tabs_through_a_dropped_network_show_each_message_once(browser, chat_server):
    ann, _ = await agent(chat_server, "ann")
    context, page = await started_chat(browser, chat_server, "Tina")
    await expect(page.locator("#head-title")).to_have_text("You're chatting with Ann")
    tab2 = await open_chat(context, chat_server)
    await expect(tab2.locator("#head-title")).to_have_text("You're chatting with Ann")

    # The whole browser loses the link; the first tab writes meanwhile.
    await context.route("**/socket.io/**", lambda route: route.abort())
    for tab in (page, tab2):
        await tab.evaluate("window.__chat.socket.io.engine.close()")
        await expect(tab.locator("#offline-banner")).to_be_visible()
    await send(page, "one")
    await send(page, "two")
    await expect(page.locator("#messages li.pending")).to_have_count(2)

    # Back online, both tabs rejoin and both may send the shared outbox: the
    # server stores each client_id once, and each tab shows each message once.
    await context.unroute("**/socket.io/**")
    for tab in (page, tab2):
        await expect(tab.locator("#offline-banner")).to_be_hidden(timeout=20000)
        await expect(tab.locator("#messages li.pending")).to_have_count(0, timeout=20000)
        await expect(mine(tab).locator(".text")).to_have_text(["one", "two"])
        ids = await shown_ids(tab)
        assert ids == sorted(ids) and len(ids) == len(set(ids))
    await ann.wait_for("customer:message", lambda m: m["text"] == "two")
    assert [m["text"] for m in ann.of("customer:message") if m["sender"] == "customer"] == ["one", "two"]
    assert chat_server.scalar("select count(*) from chat_message where sender='customer'") == 2
    await ann.disconnect()
    await context.close()


async def test_a_resend_after_a_lost_ack_is_stored_and_shown_once(browser, chat_server):
    ann, _ = await agent(chat_server, "ann")
    context, page = await started_chat(browser, chat_server, "Lea")
    await send(page, "did this arrive?")
    stored = await ann.wait_for("customer:message", lambda m: m["text"] == "did this arrive?")
    await expect(mine(page)).to_have_count(1)
    client_id = await mine(page).get_attribute("data-client-id")
    assert client_id == stored["client_id"] and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", client_id)

    # The page went away after the server stored the message but before the
    # ack came back: the message is still in the outbox when it returns.
    outbox = [{"client_id": client_id, "text": "did this arrive?", "created_at": stored["created_at"]}]
    await page.evaluate("items => localStorage.setItem('cs.customer.outbox', JSON.stringify(items))", outbox)
    await page.reload()
    await expect(page.locator("#head-title")).to_have_text("You're chatting with Ann")
    await page.wait_for_function("localStorage.getItem('cs.customer.outbox') === null")
    await expect(mine(page)).to_have_count(1)
    await expect(page.locator("#messages li.pending")).to_have_count(0)
    assert chat_server.scalar("select count(*) from chat_message where sender='customer'") == 1
    assert len(ann.of("customer:message")) == 1
    await ann.disconnect()
    await context.close()


async def test_markup_in_messages_shows_as_text_and_runs_nothing(browser, chat_server):
    ann, _ = await agent(chat_server, "ann")
    context, page = await started_chat(browser, chat_server, "Xavier")
    conversation_id = (await ann.wait_for("customer:new"))["conversation"]["id"]

    await send(page, XSS)
    got = await ann.wait_for("customer:message", lambda m: m["sender"] == "customer")
    assert got["text"] == XSS
    assert (await ann.call("agent:message", {"conversation_id": conversation_id, "text": XSS}))["ok"]
    await expect(mine(page).locator(".text")).to_have_text(XSS)
    await expect(theirs(page).locator(".text")).to_have_text(XSS)

    # The same after a reload (the history path renders too).
    await page.reload()
    await expect(mine(page).locator(".text")).to_have_text(XSS)
    await expect(theirs(page).locator(".text")).to_have_text(XSS)
    assert await page.locator("#messages img").count() == 0
    assert await page.locator("img").count() == 0
    # An <img src=x> would have fetched /x at once; give it a moment to try.
    await page.wait_for_timeout(300)
    assert not [url for url in page.requests if url.rstrip("/").endswith("/x")]
    assert page.dialogs == []
    assert page.errors == []
    await ann.disconnect()
    await context.close()


async def test_customer_ends_the_chat_and_starts_a_new_one(browser, chat_server):
    ann, _ = await agent(chat_server, "ann")
    context, page = await started_chat(browser, chat_server, "Erin")
    await expect(page.locator("#head-title")).to_have_text("You're chatting with Ann")
    first = (await ann.wait_for("customer:new"))["conversation"]["id"]
    await send(page, "Thanks, that's all")
    await ann.wait_for("customer:message", lambda m: m["text"] == "Thanks, that's all")
    tab2 = await open_chat(context, chat_server)
    await expect(mine(tab2)).to_have_count(1)

    # Ending asks first, in the page; "Keep chatting" changes nothing.
    await page.click("#end-chat")
    await expect(page.locator("#end-confirm")).to_be_visible()
    await page.click("#end-cancel")
    await expect(page.locator("#end-confirm")).to_be_hidden()
    await page.click("#end-chat")
    await page.click("#end-yes")
    await expect(page.locator("#ended")).to_be_visible()
    await expect(page.locator("#ended-text")).to_have_text("You ended this chat.")
    await expect(page.locator("#composer")).to_be_hidden()
    await expect(page.locator("#end-chat")).to_be_hidden()
    end = await ann.wait_for("session:end")
    assert end == {"conversation_id": first, "reason": "customer_left"}
    # The other tab is told too.
    await expect(tab2.locator("#ended-text")).to_have_text("You ended this chat.")
    await page.screenshot(path=screenshot_path("customer-ended"))

    # "Start a new chat" starts over as a new visitor (a shared computer):
    # the start form again, empty, also after a reload.
    erin_id = chat_server.scalar("select customer_id from chat_conversation where id = ?", (first,))
    erin_key = chat_server.scalar("select token_key from customers_customer where id = ?", (erin_id,))
    await page.click("#restart")
    await expect(page.locator("#start-form")).to_be_visible()
    await expect(page.locator("#start-name")).to_have_value("")
    await expect(page.locator("#conversation")).to_be_hidden()
    await page.reload()
    await expect(page.locator("#start-form")).to_be_visible()
    await expect(page.locator("#messages li")).to_have_count(0)
    assert chat_server.scalar("select count(*) from chat_conversation") == 1

    # Starting revokes the previous visitor's token and opens a new customer's chat.
    await start(page, "Fay")
    new = await ann.wait_for("customer:new", count=2)
    second = new["conversation"]["id"]
    assert second != first and new["conversation"]["status"] == "active"
    assert new["conversation"]["customer"]["name"] == "Fay"
    assert new["conversation"]["customer"]["id"] != erin_id
    await expect(page.locator("#head-title")).to_have_text("You're chatting with Ann")
    await expect(page.locator("#messages li.mine")).to_have_count(0)
    assert chat_server.scalar("select token_key from customers_customer where id = ?", (erin_id,)) != erin_key
    await send(page, "A new question")
    await ann.wait_for("customer:message", lambda m: m["text"] == "A new question")
    await expect(mine(page).locator(".text")).to_have_text(["A new question"])
    assert chat_server.scalar("select count(*) from chat_conversation") == 2

    # The second tab (the previous visitor's, disconnected by the server)
    # follows to the new chat, and works in it.
    await expect(tab2.locator("#head-title")).to_have_text("You're chatting with Ann")
    await expect(mine(tab2).locator(".text")).to_have_text(["A new question"])
    await expect(tab2.locator("#composer")).to_be_visible()
    await tab2.locator("#composer-text").press_sequentially("typing here", delay=15)
    await ann.wait_for("customer:typing", lambda d: d["is_typing"] and d["conversation_id"] == second)
    assert page.errors == [] and tab2.errors == []
    await ann.disconnect()
    await context.close()


async def test_agent_ending_shows_a_clear_note_that_survives_a_reload(browser, chat_server):
    ann, _ = await agent(chat_server, "ann")
    context, page = await started_chat(browser, chat_server, "Nina")
    new = await ann.wait_for("customer:new")
    await ann.call("agent:typing", {"conversation_id": new["conversation"]["id"], "is_typing": True})
    await expect(page.locator("#typing")).to_have_text("Ann is typing…")
    await ann.call("session:end", {"conversation_id": new["conversation"]["id"]})
    await expect(page.locator("#ended-text")).to_have_text("The agent ended this chat.")
    await expect(page.locator("#typing")).to_have_text("")
    await expect(page.locator("#restart")).to_be_visible()
    await expect(page.locator("#head-title")).to_have_text("Chat ended")
    await page.reload()
    await expect(page.locator("#ended-text")).to_have_text("The agent ended this chat.")
    await expect(page.locator("#messages li.system").last).to_be_visible()
    await expect(page.locator("#restart")).to_be_visible()
    await ann.disconnect()
    await context.close()


async def test_phone_layout(browser, chat_server):
    ann, _ = await agent(chat_server, "ann")
    context = await new_context(browser, PHONE)
    page = await open_chat(context, chat_server)
    await expect(page.locator("#start-form")).to_be_visible()
    await page.screenshot(path=screenshot_path("customer-mobile-start"))
    await start(page, "Paula")
    await send(page, "Hi from my phone")
    new = await ann.wait_for("customer:new")
    conversation_id = new["conversation"]["id"]
    await ann.call(
        "agent:message", {"conversation_id": conversation_id, "text": "Hello Paula! How can I help?"}
    )
    await expect(theirs(page).locator(".text")).to_have_text("Hello Paula! How can I help?")
    await ann.call("agent:typing", {"conversation_id": conversation_id, "is_typing": True})
    await expect(page.locator("#typing")).to_have_text("Ann is typing…")

    card = await page.locator(".chat-card").bounding_box()
    assert card["x"] == 0 and card["width"] == PHONE["width"]
    # Everything fits the screen: no sideways scrolling, composer and footer visible.
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    composer = await page.locator("#composer").bounding_box()
    footer = await page.locator(".page-foot").bounding_box()
    assert composer["y"] + composer["height"] <= footer["y"] + 1
    assert footer["y"] + footer["height"] <= PHONE["height"] + 1
    # The header's title does not run under the "End chat" button.
    title = await page.locator("#head-title").bounding_box()
    button = await page.locator("#end-chat").bounding_box()
    assert title["x"] + title["width"] <= button["x"]
    await page.screenshot(path=screenshot_path("customer-mobile"))
    await ann.disconnect()
    await context.close()


async def test_unknown_token_shows_the_start_form(browser, chat_server):
    context = await new_context(browser)
    page = await open_chat(context, chat_server)
    await page.evaluate("localStorage.setItem('cs.customer.token', 'forged-token')")
    await page.reload()
    await expect(page.locator("#start-form")).to_be_visible()
    await expect(page.locator("#start-error")).to_contain_text("couldn't find your previous chat")
    assert await page.evaluate("localStorage.getItem('cs.customer.token')") is None
    await start(page, "Fresh")
    await expect(page.locator("#queue-banner")).to_contain_text("you are number 1")
    assert await page.evaluate("localStorage.getItem('cs.customer.token')")
    assert chat_server.scalar("select count(*) from customers_customer") == 1
    await context.close()


async def test_start_form_requires_a_name(browser, chat_server):
    context = await new_context(browser)
    page = await open_chat(context, chat_server)
    await page.click("#start-button")
    await expect(page.locator("#start-error")).to_have_text("Please tell us your name.")
    await page.fill("#start-name", "Val")
    await page.fill("#start-email", "not-an-email")
    await page.click("#start-button")
    await expect(page.locator("#start-error")).to_contain_text("email")
    await expect(page.locator("#start-form")).to_be_visible()
    assert chat_server.scalar("select count(*) from customers_customer") == 0
    await context.close()
