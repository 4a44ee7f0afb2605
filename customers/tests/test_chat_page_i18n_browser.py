"""The customer chat page in each language, in a real Chromium, against a real server.

A browser that prefers Chinese (context locale "zh-CN", so Accept-Language
zh-CN) gets the whole page in Chinese, one that prefers English gets it in
English; the language switcher changes it, the cookie keeps it, and the chat
carries on. What the page shows is compared with the catalogs
(`cs_project.testing.translations`), never with wording written here, and
Chinese must be Chinese (CJK characters), not the English msgid.
"""

import math

import pytest
from django.utils import translation
from playwright.async_api import expect

from chat import system_notes
from cs_project.testing.browser import screenshot_path
from cs_project.testing.clients import agent, customer
from cs_project.testing.pages import mine, new_context, open_chat, send, start, theirs
from cs_project.testing.translations import has_cjk, page_text, script_plural, script_text

pytestmark = pytest.mark.live

PHONE = {"width": 375, "height": 740}
# The browser's preferred language -> the page's <html lang> (Django's code).
LANGUAGES = {"zh-CN": "zh-hans", "en": "en"}
# Django's code -> the locale the page formats times and numbers with.
INTL = {"zh-hans": "zh-CN", "en": "en"}
# What the people write, in each language: Chinese with its own (full-width)
# punctuation, as it is typed.
WRITTEN = {
    "zh-hans": {
        "question": "你好，我想问一下订单的事。",  # noqa: RUF001
        "answer": "您好！请告诉我您的订单号。",  # noqa: RUF001
        "number": "订单号是 1042。",
        "phone": "我用手机发的消息，看看长句子能不能正常换行显示。",  # noqa: RUF001
        "long_answer": "您好 Paula！请问有什么可以帮您？如果是订单问题，请告诉我订单号，我马上为您查询。",  # noqa: RUF001
    },
    "en": {
        "question": "Hello, I have a question about my order.",
        "answer": "Hi Carla! What is your order number?",
        "number": "It is 1042.",
        "phone": "Hi from my phone",
        "long_answer": "Hello Paula! How can I help? If it is about an order, tell me its number.",
    },
}


def looks_like(lang, text):
    """Chinese text is Chinese; English text has none."""
    return has_cjk(text) == (lang == "zh-hans")


def queue_text(lang, position, seconds):
    """The queue banner's text for this place and estimate (as customer.js words it)."""
    if seconds is None:
        return script_text("Waiting for an agent — you are number %(position)s", lang, position=position)
    if seconds < 60:
        return script_text(
            "Waiting for an agent — you are number %(position)s (less than a minute)", lang, position=position
        )
    minutes = math.floor(seconds / 60 + 0.5)  # JavaScript's Math.round
    return script_plural(
        "Waiting for an agent — you are number %(position)s (about %(minutes)s minute)",
        "Waiting for an agent — you are number %(position)s (about %(minutes)s minutes)",
        minutes,
        lang,
        position=position,
        minutes=minutes,
    )


def joined_note(lang, name):
    """The system message the customer reads when `name` joins, in `lang`."""
    with translation.override(lang):
        return system_notes.wording(system_notes.JOINED, {"agent": name}, system_notes.CUSTOMER)


async def expect_text(locator, text, lang):
    assert looks_like(lang, text), f"{text!r} is not in {lang}: is the catalog missing this string?"
    await expect(locator).to_have_text(text)


async def open_in(browser, server, locale, viewport=None):
    context = await new_context(browser, viewport, locale=locale)
    page = await open_chat(context, server)
    await expect(page.locator("html")).to_have_attribute("lang", LANGUAGES[locale])
    return context, page


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_a_whole_chat_in_the_browsers_language(browser, chat_server, locale):
    lang = LANGUAGES[locale]
    zh = lang == "zh-hans"
    # Ann is online with both her places taken: the page queues, with an estimate.
    ann, _ = await agent(chat_server, "ann")
    first, first_ack = await customer(chat_server, "First")
    second, _ = await customer(chat_server, "Second")
    await ann.wait_for("customer:new", count=2)

    context, page = await open_in(browser, chat_server, locale)
    assert await page.title() == page_text("Chat with us", lang)
    await expect_text(page.locator("#head-title"), page_text("Chat with us", lang), lang)
    await expect_text(page.locator("#head-sub"), page_text("We usually answer within minutes.", lang), lang)
    intro = "Hi there! Tell us who you are and one of our team will be with you shortly."
    await expect_text(page.locator("#start-form .intro"), page_text(intro, lang), lang)
    await expect_text(page.locator("label[for=start-name]"), page_text("Your name", lang), lang)
    await expect(page.locator("label[for=start-email] .optional")).to_have_text(page_text("(optional)", lang))
    general = page_text("General", lang, context="chat topic")
    await expect(page.locator("#start-topic option").first).to_have_text(general)
    await expect_text(page.locator("#start-button"), page_text("Start chat", lang), lang)
    await expect(page.locator("#composer-text")).to_have_attribute(
        "placeholder", page_text("Write a message…", lang)
    )
    assert looks_like(lang, await page.locator(".page-foot").inner_text())
    await expect(page.locator(".page-foot a")).to_have_count(2)
    # The switcher shows the page's language.
    await expect(page.locator("#chat-language")).to_have_value(lang)

    # The script's own texts: the start form's check.
    await page.click("#start-button")
    await expect_text(page.locator("#start-error"), script_text("Please tell us your name.", lang), lang)
    if zh:
        await page.screenshot(path=screenshot_path("customer-start-zh"))

    # Queued, with the estimated wait in words of the language.
    await start(page, "Carla")
    assert (await page.evaluate("window.__chat.socket.auth"))["lang"] == lang
    banner = page.locator("#queue-banner")
    await expect(banner).to_be_visible()
    # Ann is online: the server estimates the wait.
    await page.wait_for_function("window.__chat.state.queue.estimate !== null")
    estimate = await page.evaluate("window.__chat.state.queue.estimate")
    await expect_text(banner, queue_text(lang, 1, estimate), lang)
    await expect_text(
        page.locator("#head-sub"), script_text("The next free agent will answer you here.", lang), lang
    )
    await expect_text(page.locator("#end-chat"), page_text("End chat", lang), lang)
    await send(page, WRITTEN[lang]["question"])
    tick = mine(page).locator(".tick")
    await expect(tick).to_have_attribute("data-status", "sent")
    await expect(tick).to_have_attribute("title", script_text("Sent", lang))
    if zh:
        await page.screenshot(path=screenshot_path("customer-queued-zh"))

    # Ann ends one of hers: the page is assigned to her.
    assert (await ann.call("session:end", {"conversation_id": first_ack["conversation"]["id"]}))["ok"]
    await expect_text(
        page.locator("#head-title"), script_text("You're chatting with %(name)s", lang, name="Ann"), lang
    )
    await expect_text(page.locator("#head-sub"), script_text("Online now", lang), lang)
    await expect(banner).to_be_hidden()
    # The server words the system message in the connection's language.
    await expect(page.locator("#messages li.system").last).to_have_text(joined_note(lang, "Ann"))
    assert looks_like(lang, joined_note(lang, "Ann"))
    await expect(tick).to_have_attribute("data-status", "delivered")
    await expect(tick).to_have_attribute("title", script_text("Delivered", lang))
    await expect(tick).to_have_attribute("aria-label", script_text("Delivered", lang))
    new = await ann.wait_for("customer:new", lambda d: d["conversation"]["customer"]["name"] == "Carla")
    conversation_id = new["conversation"]["id"]

    # Both ways, with the agent typing.
    await ann.call("agent:typing", {"conversation_id": conversation_id, "is_typing": True})
    await expect_text(page.locator("#typing"), script_text("%(name)s is typing…", lang, name="Ann"), lang)
    answer = WRITTEN[lang]["answer"]
    reply = await ann.call("agent:message", {"conversation_id": conversation_id, "text": answer})
    assert reply["ok"], reply
    await expect(theirs(page).locator(".text")).to_have_text(answer)
    await expect(page.locator("#typing")).to_have_text("")
    await send(page, WRITTEN[lang]["number"])
    got = await ann.wait_for("customer:message", lambda m: "1042" in m["text"])
    assert got["conversation_id"] == conversation_id
    await expect(mine(page)).to_have_count(2)
    # Times of day in the page's language.
    shown = await theirs(page).locator("time").text_content()
    expected = await page.evaluate(
        "([iso, locale]) => new Date(iso).toLocaleTimeString(locale, {hour: 'numeric', minute: '2-digit'})",
        [reply["message"]["created_at"], INTL[lang]],
    )
    assert shown == expected
    if zh:
        await page.screenshot(path=screenshot_path("customer-chat-zh"))

    # The end: asked first, then the ended screen.
    await page.click("#end-chat")
    await expect_text(page.locator("#end-confirm-text"), script_text("End this chat?", lang), lang)
    await expect_text(page.locator("#end-cancel"), page_text("Keep chatting", lang), lang)
    await expect_text(page.locator("#end-yes"), page_text("End chat", lang), lang)
    await page.click("#end-yes")
    await expect(page.locator("#ended")).to_be_visible()
    await expect_text(page.locator(".ended-title"), page_text("This chat has ended", lang), lang)
    await expect_text(page.locator("#ended-text"), script_text("You ended this chat.", lang), lang)
    await expect_text(page.locator("#restart"), page_text("Start a new chat", lang), lang)
    await expect_text(page.locator("#head-title"), script_text("Chat ended", lang), lang)
    await ann.wait_for("session:end", lambda d: d["conversation_id"] == conversation_id)
    if zh:
        await page.screenshot(path=screenshot_path("customer-ended-zh"))

    assert page.dialogs == [] and page.errors == []
    for client in (ann, first, second):
        await client.disconnect()
    await context.close()


async def test_the_switcher_changes_the_language_the_cookie_keeps_it_and_the_chat_resumes(
    browser, chat_server
):
    ann, _ = await agent(chat_server, "ann")
    context, page = await open_in(browser, chat_server, "en")
    await start(page, "Lin")
    await expect(page.locator("#head-title")).to_have_text(
        script_text("You're chatting with %(name)s", "en", name="Ann")
    )
    conversation_id = (await ann.wait_for("customer:new"))["conversation"]["id"]
    await send(page, "before the switch")
    await ann.wait_for("customer:message", lambda m: m["text"] == "before the switch")
    await ann.call("agent:message", {"conversation_id": conversation_id, "text": "still here"})
    await expect(theirs(page)).to_have_count(1)
    before = await page.eval_on_selector_all("#messages li[data-id]", "nodes => nodes.map(n => n.dataset.id)")

    # Choosing Chinese sends the switcher's form: the page comes back in Chinese.
    await page.select_option("#chat-language", "zh-hans")
    await expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    cookies = {c["name"]: c["value"] for c in await context.cookies()}
    assert cookies["django_language"] == "zh-hans"
    title = script_text("You're chatting with %(name)s", "zh-hans", name="Ann")
    await expect_text(page.locator("#head-title"), title, "zh-hans")
    await expect_text(page.locator("#composer .primary"), page_text("Send", "zh-hans"), "zh-hans")
    # The same conversation, nothing lost or doubled, on a socket that asked for Chinese.
    await expect(page.locator("#messages li[data-id]")).to_have_count(len(before))
    after = await page.eval_on_selector_all("#messages li[data-id]", "nodes => nodes.map(n => n.dataset.id)")
    assert after == before
    assert (await page.evaluate("window.__chat.socket.auth"))["lang"] == "zh-hans"
    await expect(page.locator("#chat-language")).to_have_value("zh-hans")

    # The cookie outweighs the browser's English: a reload stays Chinese.
    await page.reload()
    await expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    await expect_text(page.locator("#head-title"), title, "zh-hans")
    await send(page, "切换之后")
    await ann.wait_for("customer:message", lambda m: m["text"] == "切换之后")
    await ann.call("agent:message", {"conversation_id": conversation_id, "text": "收到"})
    await expect(theirs(page).locator(".text")).to_have_text(["still here", "收到"])
    await expect(mine(page).locator(".text")).to_have_text(["before the switch", "切换之后"])
    assert chat_server.scalar("select count(*) from chat_conversation") == 1

    # And back to English.
    await page.select_option("#chat-language", "en")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("#head-title")).to_have_text(
        script_text("You're chatting with %(name)s", "en", name="Ann")
    )
    await expect(mine(page)).to_have_count(2)
    assert page.errors == []
    await ann.disconnect()
    await context.close()


async def test_an_unknown_token_is_explained_in_the_pages_language(browser, chat_server):
    context, page = await open_in(browser, chat_server, "zh-CN")
    await page.evaluate("localStorage.setItem('cs.customer.token', 'forged-token')")
    await page.reload()
    await expect(page.locator("#start-form")).to_be_visible()
    text = script_text("We couldn't find your previous chat. Please start a new one.", "zh-hans")
    await expect_text(page.locator("#start-error"), text, "zh-hans")
    await context.close()


async def test_earlier_messages_and_reconnecting_in_the_pages_language(browser, start_chat_server):
    chat_server = start_chat_server(MESSAGE_PAGE_LIMIT=3)
    ann, _ = await agent(chat_server, "ann")
    context, page = await open_in(browser, chat_server, "zh-CN")
    await start(page, "Mei")
    conversation_id = (await ann.wait_for("customer:new"))["conversation"]["id"]
    for i in range(5):
        assert (await ann.call("agent:message", {"conversation_id": conversation_id, "text": f"第 {i} 条"}))[
            "ok"
        ]
    await expect(theirs(page)).to_have_count(5)

    # A fresh load shows the latest page, and a way to the earlier ones.
    await page.reload()
    earlier = page.locator("#earlier")
    await expect_text(earlier, page_text("Show earlier messages", "zh-hans"), "zh-hans")
    await earlier.click()
    await expect(theirs(page)).to_have_count(5)

    # The link drops: the banner says so, in Chinese.
    await page.route("**/socket.io/**", lambda route: route.abort())
    await page.evaluate("window.__chat.socket.io.engine.close()")
    await expect_text(page.locator("#offline-banner"), page_text("Reconnecting…", "zh-hans"), "zh-hans")
    await page.unroute("**/socket.io/**")
    await expect(page.locator("#offline-banner")).to_be_hidden(timeout=20000)
    assert page.errors == []
    await ann.disconnect()
    await context.close()


# Every text of the header, the banners and the buttons fits at phone width:
# none runs out of its box, nothing scrolls sideways, and each button's words
# stay on one line (Chinese could otherwise wrap a button to one character a line).
OVERFLOWING = """
() => {
  const width = document.documentElement.clientWidth;
  const lines = (node) => {
    const range = document.createRange();
    range.selectNodeContents(node);
    return new Set(Array.from(range.getClientRects(), (rect) => Math.round(rect.top))).size;
  };
  const boxes = [".chat-head *", ".banner", ".queue-banner", ".end-confirm *", ".start-form *", ".ended *",
    ".composer *", ".page-foot"].join(", ");
  return Array.from(document.querySelectorAll(boxes))
    .filter((node) => node.offsetParent !== null && !node.closest(".visually-hidden"))
    .filter((node) => {
      const box = node.getBoundingClientRect();
      const block = getComputedStyle(node).display !== "inline";
      const spills = block
        && (node.scrollWidth > node.clientWidth + 1 || node.scrollHeight > node.clientHeight + 1);
      const wrapped = node.tagName === "BUTTON" && lines(node) > 1;
      return spills || wrapped || box.right > width + 0.5 || box.left < -0.5;
    })
    .map((node) => `${node.tagName}#${node.id}.${node.className}`);
}
"""


async def fits(page):
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert await page.evaluate(OVERFLOWING) == []
    # The header's title does not run under its controls.
    title = await page.locator("#head-title").bounding_box()
    actions = await page.locator(".head-actions").bounding_box()
    assert title["x"] + title["width"] <= actions["x"] + 0.5


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_phone_layout_in_each_language(browser, chat_server, locale):
    lang = LANGUAGES[locale]
    zh = lang == "zh-hans"
    context, page = await open_in(browser, chat_server, locale, PHONE)
    await expect(page.locator("#start-form")).to_be_visible()
    await expect(page.locator("#chat-language")).to_be_visible()
    await fits(page)
    if zh:
        await page.screenshot(path=screenshot_path("customer-mobile-start-zh"))

    # Queued: the banner wraps rather than clips.
    await start(page, "Paula")
    await expect(page.locator("#queue-banner")).to_be_visible()
    await fits(page)
    ann, _ = await agent(chat_server, "ann")
    await expect(page.locator("#head-title")).to_have_text(
        script_text("You're chatting with %(name)s", lang, name="Ann")
    )
    conversation_id = (await ann.wait_for("customer:new"))["conversation"]["id"]
    await send(page, WRITTEN[lang]["phone"])
    long_answer = WRITTEN[lang]["long_answer"]
    await ann.call("agent:message", {"conversation_id": conversation_id, "text": long_answer})
    await expect(theirs(page).locator(".text")).to_have_text(long_answer)
    await ann.call("agent:typing", {"conversation_id": conversation_id, "is_typing": True})
    await expect(page.locator("#typing")).to_have_text(script_text("%(name)s is typing…", lang, name="Ann"))
    await fits(page)
    composer = await page.locator("#composer").bounding_box()
    footer = await page.locator(".page-foot").bounding_box()
    assert composer["y"] + composer["height"] <= footer["y"] + 1
    assert footer["y"] + footer["height"] <= PHONE["height"] + 1
    if zh:
        await page.screenshot(path=screenshot_path("customer-mobile-zh"))

    # The end confirmation and the ended screen fit too.
    await page.click("#end-chat")
    await expect(page.locator("#end-confirm")).to_be_visible()
    await fits(page)
    await page.click("#end-yes")
    await expect(page.locator("#ended")).to_be_visible()
    await fits(page)
    assert page.errors == []
    await ann.disconnect()
    await context.close()
