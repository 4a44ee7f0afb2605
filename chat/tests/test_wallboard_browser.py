"""The wallboard in a real Chromium against a real server: it follows customers
joining and being assigned without a reload, and a reassignment made on the
page reaches the customer. Screenshots: docs/screenshots/wallboard.png and
wallboard-zh.png (a browser that prefers Chinese)."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from cs_project.testing.browser import record, screenshot_path, watch_csp
from cs_project.testing.clients import agent, customer
from cs_project.testing.supervisors import create_supervisor

pytestmark = pytest.mark.live

LIVE = 10_000  # ms: a few of the board's 3-second refreshes


async def open_wallboard(browser, server, username: str, locale: str = "en-US"):
    context = await browser.new_context(locale=locale, viewport={"width": 1400, "height": 900})
    page = record(await context.new_page())
    await watch_csp(page)
    await page.goto(server.url + "/admin/wallboard/")
    assert "/admin/login/" in page.url
    await page.fill("#id_username", username)
    await page.fill("#id_password", f"{username}-pass")
    await page.click("input[type=submit]")
    await expect(page.locator("#wallboard")).to_be_visible()
    assert page.url.endswith("/admin/wallboard/")
    return context, page


async def test_the_wallboard_follows_the_queue_live_and_reassigns(browser, chat_server):
    create_supervisor(chat_server, "sue")
    ann_id, ben_id = chat_server.agents["ann"]["id"], chat_server.agents["ben"]["id"]
    context, page = await open_wallboard(browser, chat_server, "sue")
    await expect(page.locator("#wallboard-link")).to_be_visible()
    # Set on this document: a reload would lose it.
    await page.evaluate("window.stillTheSamePage = true")
    board = page.locator("#wallboard")
    clients = []
    try:
        # Nobody connected: the customer waits, with no estimate to give.
        carla, join = await customer(chat_server, "Carla", topic="returns")
        clients.append(carla)
        conversation_id = join["conversation"]["id"]
        waiting = board.locator(f'.wallboard-queue tr[data-conversation-id="{conversation_id}"]')
        await expect(waiting.locator(".wb-customer")).to_have_text("Carla", timeout=LIVE)
        await expect(waiting.locator(".queue-position")).to_have_text("1")
        await expect(waiting.locator(".queue-estimate")).to_have_text("No agent online")
        await expect(board.locator('[data-counter="started"] dd')).to_have_text("1", timeout=LIVE)

        # Ann connects: the queue serves Carla to her, and the board shows it.
        ann, _ = await agent(chat_server, "ann")
        clients.append(ann)
        ann_row = board.locator(f'tr[data-agent-id="{ann_id}"]')
        held = ann_row.locator(f'li[data-conversation-id="{conversation_id}"]')
        await expect(held.locator(".wb-customer")).to_have_text("Carla", timeout=LIVE)
        await expect(held.locator(".wb-topic")).to_have_text("returns")
        await expect(ann_row.locator(".agent-load")).to_have_text("1 of 2")
        await expect(ann_row.locator(".agent-connected")).to_have_text("Connected")
        await expect(board.locator(".wallboard-queue")).to_contain_text("Nobody is waiting.")
        await expect(board.locator('[data-counter="answered"] dd')).to_have_text("1")

        # Ben connects; the supervisor gives Carla to him from the page.
        ben, _ = await agent(chat_server, "ben")
        clients.append(ben)
        ben_row = board.locator(f'tr[data-agent-id="{ben_id}"]')
        await expect(ben_row).to_have_attribute("data-connected", "true", timeout=LIVE)
        await held.locator("select[name=agent_id]").select_option(str(ben_id))
        await held.locator("form.wb-reassign button").click()
        await expect(page.locator("#wallboard-messages .success")).to_have_text(
            f"Conversation #{conversation_id} (Carla) is now with Ben."
        )
        await expect(ben_row.locator(f'li[data-conversation-id="{conversation_id}"]')).to_be_visible()
        await expect(ann_row.locator(f'li[data-conversation-id="{conversation_id}"]')).to_have_count(0)
        assigned = await carla.wait_for("agent:assigned", lambda e: e["transferred"])
        assert assigned["agent"] == {"id": ben_id, "name": "Ben"}
        await ben.wait_for("customer:new", lambda e: e["conversation"]["id"] == conversation_id)
        assert chat_server.query(
            "select action, conversation_id, agent_id, previous_agent_id from agents_supervisoraction"
        ) == [("reassign", conversation_id, ben_id, ann_id)]

        # A fuller board for the screenshot: both agents at capacity, two waiting.
        for name in ("Dora", "Eve", "Finn", "Gus", "Hana"):
            client, join = await customer(chat_server, name)
            clients.append(client)
            if name == "Dora":
                dora_conversation = join["conversation"]["id"]
        sent = await ann.call("agent:message", {"conversation_id": dora_conversation, "text": "Hello Dora!"})
        assert sent["ok"], sent
        await expect(board.locator(".wallboard-queue tbody tr")).to_have_count(2, timeout=LIVE)
        await expect(board.locator(".wallboard-queue .queue-estimate").first).not_to_have_text(
            "No agent online"
        )
        await expect(board.locator('[data-counter="started"] dd')).to_have_text("6", timeout=LIVE)
        await expect(board.locator('[data-counter="median_first_response"] dd')).not_to_have_text(
            "—", timeout=LIVE
        )
        assert await page.evaluate("window.stillTheSamePage") is True
        await page.screenshot(path=screenshot_path("wallboard"), full_page=True)
        assert page.errors == []
        await context.close()

        # The same board for a browser that prefers Chinese.
        context, page = await open_wallboard(browser, chat_server, "sue", locale="zh-CN")
        await expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        await expect(page.locator(".wallboard-queue tbody tr")).to_have_count(2)
        await page.screenshot(path=screenshot_path("wallboard-zh"), full_page=True)
        assert page.errors == []
    finally:
        await context.close()
        for client in clients:
            await client.disconnect()


async def test_setting_an_agent_offline_on_its_admin_page_is_the_same_action(browser, chat_server):
    """The Agent profile page's status goes through the same service: the
    agent's conversation goes back to the queue and on to the other agent, logged."""
    sue = create_supervisor(chat_server, "sue")
    ann_id, ben_id = chat_server.agents["ann"]["id"], chat_server.agents["ben"]["id"]
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    conversation_id = join["conversation"]["id"]
    assert join["conversation"]["agent"]["id"] == ann_id
    ben, _ = await agent(chat_server, "ben")
    context, page = await open_wallboard(browser, chat_server, "sue")
    try:
        await page.goto(chat_server.url + f"/admin/agents/agentprofile/{ann_id}/change/")
        await page.select_option("#id_status", "offline")
        await page.click("input[name=_save]")
        await expect(page.locator(".messagelist .success")).to_be_visible()
        await ann.wait_for("agent:status", lambda s: s["id"] == ann_id and s["status"] == "offline")
        await carla.wait_for("agent:message", lambda m: (m["system"] or {}).get("code") == "requeued")
        moved = await carla.wait_for("agent:assigned", lambda e: e["agent"]["id"] == ben_id)
        assert moved["conversation_id"] == conversation_id
        assert chat_server.query(
            "select actor_id, action, agent_id, detail from agents_supervisoraction"
        ) == [(sue["user_id"], "set_offline", ann_id, "Ann (1)")]
        # The board says so too.
        await page.goto(chat_server.url + "/admin/wallboard/")
        await expect(page.locator(f'tr[data-agent-id="{ann_id}"]')).to_have_attribute(
            "data-status", "offline"
        )
        await expect(
            page.locator(f'tr[data-agent-id="{ben_id}"] li[data-conversation-id="{conversation_id}"]')
        ).to_be_visible()
        assert page.errors == []
    finally:
        await context.close()
        for client in (carla, ann, ben):
            await client.disconnect()


async def test_raising_a_capacity_on_the_admin_page_serves_the_queue_live(browser, chat_server):
    """Admin saves inside a transaction: the capacity service runs after it
    commits, so what it assigns is announced (it once was not)."""
    create_supervisor(chat_server, "sue")
    ann_id = chat_server.agents["ann"]["id"]
    ann, _ = await agent(chat_server, "ann")
    clients = [ann]
    context, page = await open_wallboard(browser, chat_server, "sue")
    try:
        for name in ("Carla", "Dora", "Eve"):
            client, join = await customer(chat_server, name)
            clients.append(client)
        eve, eve_conversation = client, join["conversation"]
        assert eve_conversation["status"] == "queued"
        await page.goto(chat_server.url + f"/admin/agents/agentprofile/{ann_id}/change/")
        await page.fill("#id_capacity", "3")
        await page.click("input[name=_save]")
        await expect(page.locator(".messagelist .success")).to_be_visible()
        given = await eve.wait_for("agent:assigned")
        assert given == {
            "conversation_id": eve_conversation["id"],
            "agent": {"id": ann_id, "name": "Ann"},
            "transferred": False,
        }
        await ann.wait_for("customer:new", lambda e: e["conversation"]["id"] == eve_conversation["id"])
        await ann.wait_for("agent:status", lambda s: s["id"] == ann_id and s["capacity"] == 3)
        assert page.errors == []
    finally:
        await context.close()
        for client in clients:
            await client.disconnect()
