"""A long conversation resumes with its latest page, and shows older messages on demand."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from cs_project.testing.checks import acked_in_order
from cs_project.testing.clients import agent, burst
from cs_project.testing.pages import started_chat, theirs

pytestmark = pytest.mark.live

PAGE = 5


async def shown_ids(page):
    return await page.eval_on_selector_all(
        "#messages li[data-id]", "nodes => nodes.map(n => Number(n.dataset.id))"
    )


async def test_a_reload_shows_the_latest_page_then_earlier_ones_on_demand(browser, start_chat_server):
    chat_server = start_chat_server(MESSAGE_PAGE_LIMIT=PAGE)
    ann, _ = await agent(chat_server, "ann")
    context, page = await started_chat(browser, chat_server)
    new = await ann.wait_for("customer:new")
    conversation_id = new["conversation"]["id"]
    sent = [
        {"conversation_id": conversation_id, "text": f"answer {i}", "client_id": f"a-{i}"} for i in range(12)
    ]
    acked_in_order(await burst(ann, "agent:message", sent))
    # The bubble's own text: the whole bubble of "answer 1" reads "answer 110:23 AM".
    await expect(theirs(page).locator(".text", has_text=re.compile(r"^answer 11$"))).to_have_count(1)
    every = [
        r[0]
        for r in chat_server.query(
            "select id from chat_message where conversation_id=? order by id", (conversation_id,)
        )
    ]

    await page.reload()
    await expect(page.locator("#messages li[data-id]")).to_have_count(PAGE)
    assert await shown_ids(page) == every[-PAGE:]
    earlier = page.locator("#earlier")
    while await earlier.is_visible():
        before = len(await shown_ids(page))
        await earlier.click()
        await expect(page.locator("#messages li[data-id]")).not_to_have_count(before)
    assert await shown_ids(page) == every
    await expect(earlier).to_be_hidden()
    await context.close()
    await ann.disconnect()
