"""The satisfaction rating after a chat ends, on the customer page and in the
console, in real Chromium pages against a real server."""

import pytest
from playwright.async_api import expect

from cs_project.testing.browser import screenshot_path
from cs_project.testing.pages import open_console, send, started_chat

pytestmark = pytest.mark.live


async def end_from_console(console, conversation_id):
    await console.click(f'.conv-item[data-conversation-id="{conversation_id}"]')
    await expect(console.locator("#open-conversation")).to_be_visible()
    console.once("dialog", lambda dialog: dialog.accept())
    await console.click("#end-button")
    await expect(console.locator(".empty-state")).to_contain_text("Conversation ended.")


async def test_the_customer_rates_the_ended_chat_and_the_agent_sees_it(browser, chat_server):
    console = await open_console(browser, chat_server, "ann")
    context, page = await started_chat(browser, chat_server, "Carla")
    await expect(page.locator("#head-title")).to_have_text("You're chatting with Ann")
    await send(page, "Where is my parcel?")
    cid = chat_server.scalar("select id from chat_conversation")
    await end_from_console(console, cid)
    # The customer panel stays on the customer, with no rating yet.
    await expect(console.locator("#customer-panel h3")).to_have_text("Carla")
    await expect(console.locator("#customer-panel .history-rating")).to_have_count(0)

    # The ended screen asks; "Start a new chat" is still there.
    form = page.locator("#rating-form")
    await expect(page.locator("#ended-text")).to_have_text("The agent ended this chat.")
    await expect(form).to_be_visible()
    await expect(form.locator("legend")).to_have_text("How was your chat?")
    await expect(page.locator("#restart")).to_be_visible()
    # Each star is a labelled radio input.
    for n in range(1, 6):
        name = f"{n} star" if n == 1 else f"{n} stars"
        await expect(page.get_by_role("radio", name=name, exact=True)).to_have_attribute("value", str(n))
    # Send without a star says what is missing, and sends nothing.
    await page.click("#rating-send")
    await expect(page.locator("#rating-error")).to_have_text("Choose from one to five stars.")

    # The keyboard chooses too: arrows move between the stars.
    await page.focus("#rating-2")
    await page.keyboard.press("ArrowRight")
    await expect(page.locator("#rating-3")).to_be_checked()
    await expect(page.locator("#rating-stars label.on")).to_have_count(3)
    # Four stars, clicked, and a comment.
    await page.click('label[for="rating-4"]')
    await expect(page.locator("#rating-4")).to_be_checked()
    await expect(page.locator("#rating-stars label.on")).to_have_count(4)
    await expect(page.locator("#rating-error")).to_be_hidden()
    await page.fill("#rating-comment", "Found it, <b>thanks</b>!")
    assert await page.get_attribute("#rating-comment", "maxlength") == "1000"
    await page.screenshot(path=screenshot_path("customer-rating"))
    await page.click("#rating-send")
    thanks = page.locator("#rating-thanks")
    await expect(thanks).to_have_text("Thank you for your feedback! You rated this chat 4 out of 5.")
    await expect(form).to_be_hidden()
    assert chat_server.query("select rating, rating_comment from chat_conversation where id = ?", (cid,)) == [
        (4, "Found it, <b>thanks</b>!")
    ]

    # The agent's console: a toast, and the rating in the customer panel (as text).
    toast = console.locator(".toast.rated")
    await expect(toast).to_contain_text(f"Carla rated conversation #{cid} 4 out of 5.")
    await expect(toast.locator(".toast-comment")).to_have_text("Found it, <b>thanks</b>!")
    rating = console.locator("#customer-panel .history-rating")
    await expect(rating.locator(".stars")).to_have_text("★ 4/5")
    await expect(rating.locator(".rating-comment")).to_have_text("Found it, <b>thanks</b>!")
    assert await console.locator("#customer-panel b").count() == 0

    # A reload thanks again, and "Start a new chat" still starts one.
    await page.reload()
    await expect(thanks).to_have_text("Thank you for your feedback! You rated this chat 4 out of 5.")
    await expect(form).to_be_hidden()
    await page.click("#restart")
    await expect(page.locator("#start-form")).to_be_visible()
    await page.fill("#start-name", "Dan")
    await page.click("#start-button")
    await expect(page.locator("#head-title")).to_have_text("You're chatting with Ann")
    await expect(page.locator("#ended")).to_be_hidden()
    await expect(form).to_be_hidden()
    await expect(thanks).to_be_hidden()
    assert page.errors == [] and console.errors == []
    await context.close()


async def test_an_unrated_end_asks_again_after_a_reload_and_shows_refusals(browser, chat_server):
    console = await open_console(browser, chat_server, "ann", locale="zh-CN")
    context, page = await started_chat(browser, chat_server, "Li Lei", locale="zh-CN")
    await send(page, "你好")
    cid = chat_server.scalar("select id from chat_conversation")
    await console.click(f'.conv-item[data-conversation-id="{cid}"]')
    await expect(console.locator("#open-conversation")).to_be_visible()
    console.once("dialog", lambda dialog: dialog.accept())
    await console.click("#end-button")
    form = page.locator("#rating-form")
    await expect(form).to_be_visible()
    await page.reload()
    await expect(form).to_be_visible()
    await page.click('label[for="rating-5"]')
    await page.fill("#rating-comment", "很好")
    await page.screenshot(path=screenshot_path("customer-rating-zh"))

    # Rated meanwhile (another tab): the refusal's message shows, in the page's language.
    emit = "(resolve) => window.__chat.socket.emit('customer:rating', {score: 2}, resolve)"
    assert (await page.evaluate(f"() => new Promise({emit})"))["ok"]
    await page.click("#rating-send")
    error = page.locator("#rating-error")
    await expect(error).to_be_visible()
    assert (await error.text_content()).strip()
    await expect(form).to_be_visible()
    assert chat_server.query("select rating from chat_conversation where id = ?", (cid,)) == [(2,)]
    assert page.errors == [] and console.errors == []
    await context.close()
