"""The agent console in Chinese and in English, in a real Chromium against a real server.

Expected wording comes from the catalogs, never written out here: Django's
gettext of the msgid under translation.override("zh-hans") (templates and
Python: the `django` domain; console.js: `djangojs`), which must also hold
Chinese characters. Until a string is in the zh_Hans catalog its Chinese
assertion fails, saying which string.
"""

from __future__ import annotations

import contextlib
import json
import re

import pytest
from django.utils import translation
from django.utils.translation.trans_real import DjangoTranslation
from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import expect

from chat import system_notes
from cs_project.testing.browser import record, screenshot_path, watch_csp
from cs_project.testing.clients import Client, customer
from cs_project.testing.pages import CONSOLE, open_console, sign_in
from cs_project.testing.waits import eventually

pytestmark = pytest.mark.live

ZH = "zh-hans"
CJK = re.compile(r"[\u3400-\u9fff]")
PHONE = {"width": 375, "height": 812}
# What a customer in Chinese writes: shown as written, whatever the console's language.
CUSTOMER_TEXT = "你好，我的订单到哪里了？"  # noqa: RUF001


# --- the catalogs ------------------------------------------------------------------------


def zh(msgid: str, context: str | None = None, **params) -> str:
    """A template's or the server's string in Chinese (the `django` domain), filled with `params`."""
    with translation.override(ZH):
        text = translation.pgettext(context, msgid) if context else translation.gettext(msgid)
    return chinese(text % params if params else text, msgid)


def zh_plural(singular: str, plural: str, number: int, /, **params) -> str:
    with translation.override(ZH):
        text = translation.ngettext(singular, plural, number)
    return chinese(text % params, singular)


def js(msgid: str, /, cjk: bool = True, **params) -> str:
    """console.js's string in Chinese (the `djangojs` domain, as the page's catalog script has it).

    `cjk=False` for a string of placeholders and punctuation only."""
    text = DjangoTranslation(ZH, domain="djangojs").gettext(msgid)
    if cjk:
        chinese(text, msgid)
    return text % params if params else text


def js_plural(singular: str, plural: str, number: int, /, **params) -> str:
    text = DjangoTranslation(ZH, domain="djangojs").ngettext(singular, plural, number)
    return chinese(text, singular) % params


def chinese(text: str, msgid: str = "") -> str:
    assert CJK.search(text), f"not in Chinese (is {msgid!r} in the zh_Hans catalog?): {text!r}"
    return text


def pattern(text: str, **holes: str) -> re.Pattern:
    """A regex for `text` (a catalog string with %(name)s placeholders), each hole matching its regex."""
    out = re.escape(text)
    for name, regex in holes.items():
        out = out.replace(re.escape(f"%({name})s"), regex)
    return re.compile(f"^{out}$")


def system_rows(server, conversation_id: int) -> list[tuple[str, dict | None, str]]:
    rows = server.query(
        "select system_code, system_params, text from chat_message"
        " where conversation_id=? and sender='system' order by id",
        (conversation_id,),
    )
    return [(code, json.loads(params) if params else None, text) for code, params, text in rows]


def agent_wording(lang: str, code: str, params, text: str) -> str:
    """A stored system message as an agent reads it in `lang` (chat.system_notes)."""
    with translation.override(lang):
        return system_notes.wording(code, params, system_notes.AGENT, text)


async def set_status(page, server, name, status):
    """Choose `status` in the console's select; return once the server has it."""
    await page.select_option("#status", status)
    sql = "select status from agents_agentprofile where display_name=?"
    await eventually(lambda: server.scalar(sql, (name,)) == status, what=f"{name} {status}")


async def zh_console(browser, server, username, viewport=None):
    page = await open_console(browser, server, username, viewport=viewport, locale="zh-CN")
    await expect(page.locator("html")).to_have_attribute("lang", ZH)
    return page


# The console's own socket: the text of every system message it is sent, live.
LISTEN_SYSTEM = """() => {
  window.__systemTexts = [];
  const keep = (m) => { if (m.sender === "system") window.__systemTexts.push(m.text); };
  window.__console.socket.on("customer:message", keep);
  window.__console.socket.on("customer:new", (data) => data.messages.forEach(keep));
}"""

# What the page shows that is not the page's own wording: what people typed
# and the language switcher's own names (each language named in itself).
OWN_TEXT = """() => {
  const copy = document.getElementById("app").cloneNode(true);
  for (const node of copy.querySelectorAll(".msg.theirs, .conv-last, .language-switcher")) node.remove();
  return copy.textContent;
}"""


# --- Chinese -----------------------------------------------------------------------------------


async def test_chinese_console_serves_a_customer_both_ways(browser, chat_server):
    # The login page, in the browser's language.
    context = await browser.new_context(viewport=CONSOLE, locale="zh-CN")
    page = record(await watch_csp(await context.new_page()))
    await page.goto(chat_server.url + "/console/")
    await expect(page.locator("html")).to_have_attribute("lang", ZH)
    await expect(page.locator(".login-card h1")).to_have_text(zh("Agent console"))
    await expect(page.locator("label[for=id_username]")).to_have_text(zh("Username"))
    await expect(page.locator(".login-card button.primary")).to_have_text(zh("Sign in"))
    await expect(page.locator("#login-language")).to_have_value(ZH)
    await page.screenshot(path=screenshot_path("console-login-zh"))
    await sign_in(page, "ann")

    await expect(page).to_have_title(zh("Console · %(name)s", name="Ann"))
    await expect(page.locator("#connection")).to_have_text(js("Connected"))
    await expect(page.locator(".topbar .brand")).to_have_text(zh("Console"))
    await expect(page.locator("#status option[value=busy]")).to_have_text(zh("Busy", "agent status"))
    await expect(page.locator(".tab-button[data-tab=customer-tab]")).to_have_text(zh("Customer"))
    await expect(page.locator("#conversation-pane .empty-state p").first).to_have_text(
        zh("No conversation open.")
    )
    await expect(page.locator("#conversation-list")).to_have_text(zh("No open conversations."))
    await expect(page.locator("#queue .queue-list")).to_have_text(zh("Nobody is waiting."))

    carla, join = await customer(chat_server, "Carla", email="carla@example.com")
    conversation_id = join["conversation"]["id"]
    await expect(page.locator(".toast").first).to_have_text(
        js("New customer: %(customer)s", customer="Carla")
    )
    sent = await carla.call("customer:message", {"text": "Where is my parcel?", "client_id": "c1"})
    assert sent["ok"], sent
    item = page.locator(f'.conv-item[data-conversation-id="{conversation_id}"]')
    await expect(item.locator(".unread")).to_have_attribute(
        "title", zh_plural("%(n)s unread message", "%(n)s unread messages", 1, n=1)
    )
    await item.click()
    await expect(page.locator(f'#messages li[data-id="{sent["message"]["id"]}"] .text')).to_have_text(
        "Where is my parcel?"
    )
    await expect(page.locator("#transfer-button")).to_have_text(zh("Transfer"))
    await expect(page.locator("#end-button")).to_have_text(zh("End", "end a conversation"))
    await expect(page.locator("#composer button[type=submit]")).to_have_text(zh("Send"))
    placeholder = zh("Write a reply — Enter to send, Shift+Enter for a new line")
    await expect(page.locator("#composer-text")).to_have_attribute("placeholder", placeholder)
    assigned = chat_server.scalar("select assigned_at from chat_conversation where id=?", (conversation_id,))
    since = zh("since %(time)s", time=assigned[11:16])
    await expect(page.locator(".conv-header p")).to_contain_text(since)

    await carla.call("customer:typing", {"is_typing": True})
    await expect(page.locator("#customer-typing")).to_have_text(js("The customer is typing…"))
    await page.fill("#composer-text", "It left the depot this morning.")
    await page.keyboard.press("Enter")
    reply = await carla.wait_for("agent:message", lambda m: m["sender"] == "agent")
    assert reply["text"] == "It left the depot this morning."
    # The tick's label is read out: the page's language (lib/messages.js words it).
    await expect(page.locator(f'#messages li[data-id="{reply["id"]}"] .tick')).to_have_attribute(
        "title", js("Delivered")
    )
    await expect(item.locator(".conv-last")).to_have_text(zh("You: %(text)s", text=reply["text"]))

    # The customer panel: labels, counts, dates in the page's language.
    panel = page.locator("#customer-panel")
    await expect(panel.locator("dt").nth(0)).to_have_text(zh("Email"))
    await expect(panel.locator("dt").nth(1)).to_have_text(zh("Customer since"))
    await expect(panel.locator("dd").nth(1)).to_have_text(
        re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d$")
    )
    await expect(panel.locator("h4")).to_have_text(
        zh_plural("%(n)s conversation", "%(n)s conversations", 1, n=1)
    )
    await expect(panel.locator(".history-row > span")).to_contain_text(zh("Active", "conversation status"))
    await expect(panel.locator(".history-row > span")).to_contain_text(
        re.compile(r"\d{2}月\d{1,2}日 \d\d:\d\d")
    )
    await page.screenshot(path=screenshot_path("console-chat-zh"))

    # The transcript, loaded on demand.
    await panel.locator(".history-row button.link").click()
    transcript = page.locator(f"#transcript-{conversation_id}")
    await expect(transcript.locator("p").first).to_contain_text(
        zh("Conversation #%(id)s", id=conversation_id)
    )
    await expect(transcript.locator('.msg[data-sender="customer"] .text')).to_have_text("Where is my parcel?")
    await expect(transcript.locator(".msg.mine .tick")).to_have_attribute(
        "aria-label", zh("delivered", "delivery status")
    )
    assert page.dialogs == [] and page.errors == []
    await carla.disconnect()


async def test_chinese_console_queue_transfer_and_end(browser, chat_server):
    ann = await zh_console(browser, chat_server, "ann")
    ben = await zh_console(browser, chat_server, "ben")
    for name, page in (("Ann", ann), ("Ben", ben)):
        await set_status(page, chat_server, name, "busy")
        await expect(page.locator("#status option:checked")).to_have_text(zh("Busy", "agent status"))

    # Nobody online: the customer waits in the queue.
    dora, join = await customer(chat_server, "Dora", topic="returns")
    conversation_id = join["conversation"]["id"]
    assert join["conversation"]["status"] == "queued"
    queue_item = ann.locator(f'.queue-item[data-conversation-id="{conversation_id}"]')
    await expect(queue_item).to_be_visible()
    await expect(ann.locator("#queue-length")).to_have_text("1")
    await expect(ann.locator("#queue-length")).to_have_attribute(
        "aria-label", js_plural("%(count)s customer waiting", "%(count)s customers waiting", 1, count=1)
    )
    await expect(ann.locator(".claim-next")).to_have_text(zh("Claim next"))
    await expect(queue_item.locator(".claim")).to_have_text(zh("Claim"))
    # The waiting time ticks in the page's language (Intl's units, the catalog's sentence).
    waited = pattern(js("waiting %(time)s"), time=r"\d+\s?秒")
    await expect(queue_item.locator(".waited")).to_have_text(waited)
    await ann.screenshot(path=screenshot_path("console-queue-zh"))

    await queue_item.locator(".claim").click()
    await expect(ann.locator("#open-conversation")).to_be_visible()
    await dora.wait_for("agent:assigned")
    await expect(ann.locator("#queue .queue-list")).to_have_text(zh("Nobody is waiting."))

    # The transfer: ben takes customers again, ann hands Dora over.
    await set_status(ben, chat_server, "Ben", "online")
    ben_id = chat_server.agents["ben"]["id"]
    option = ann.locator(f'#transfer-to option[value="{ben_id}"]')
    await expect(option).to_have_text(
        js("%(name)s (%(active)s/%(capacity)s)", cjk=False, name="Ben", active=0, capacity=2)
    )
    await expect(ann.locator("#transfer-to option").first).to_have_text(js("Transfer to…"))
    await ann.click("#transfer-button")  # nobody chosen yet
    await expect(ann.locator(".toast.warning")).to_have_text(js("Pick an agent to transfer to."))
    await ann.select_option("#transfer-to", str(ben_id))
    await ann.click("#transfer-button")
    await expect(ann.locator("#conversation-pane .empty-state")).to_have_text(
        js("Transferred to %(agent)s.", agent="Ben")
    )
    toast = js("%(agent)s transferred %(customer)s to you.", agent="Ann", customer="Dora")
    await expect(ben.locator(".toast", has_text=toast)).to_have_count(1)
    item = ben.locator(f'.conv-item[data-conversation-id="{conversation_id}"]')
    await item.click()
    await expect(ben.locator("#open-conversation")).to_be_visible()
    await ben.fill("#composer-text", "Ben here, I can help with the return.")
    await ben.keyboard.press("Enter")
    await dora.wait_for("agent:message", lambda m: m["sender"] == "agent" and m["sender_name"] == "Ben")
    await ben.screenshot(path=screenshot_path("console-transfer-zh"))

    # The end: the confirm dialog and the closed pane, in Chinese.
    dialogs = []

    async def accept(dialog):
        dialogs.append(dialog.message)
        await dialog.accept()

    ben.once("dialog", accept)
    await ben.click("#end-button")
    await expect(ben.locator("#conversation-pane .empty-state")).to_have_text(js("Conversation ended."))
    assert dialogs == [js("End this conversation?")]
    assert (await dora.wait_for("session:end"))["reason"] == "agent_ended"
    await expect(ben.locator("#conversation-list")).to_have_text(zh("No open conversations."))
    assert ann.errors == [] and ben.errors == []
    await dora.disconnect()


async def test_chinese_console_shows_system_messages_in_chinese(browser, chat_server):
    """Stored (the conversation fragment, the list's preview, transcripts) and
    live (over the socket, in the connection's language) system messages."""
    ann = await zh_console(browser, chat_server, "ann")
    ben = await zh_console(browser, chat_server, "ben")
    for page in (ann, ben):
        await page.evaluate(LISTEN_SYSTEM)
    await set_status(ben, chat_server, "Ben", "busy")
    eve, join = await customer(chat_server, "Eve")
    conversation_id = join["conversation"]["id"]
    item = ann.locator(f'.conv-item[data-conversation-id="{conversation_id}"]')
    # Nothing but the join's note yet: the list's preview is that note.
    [(code, params, text)] = system_rows(chat_server, conversation_id)
    joined = chinese(agent_wording(ZH, code, params, text), "the joined note (needs its system code)")
    await expect(item.locator(".conv-last")).to_have_text(joined)
    await item.click()
    await expect(ann.locator("#messages .msg.system .text")).to_have_text([joined])
    assert await ann.evaluate("window.__systemTexts") == [joined]  # live, in customer:new

    await set_status(ben, chat_server, "Ben", "online")
    ben_id = chat_server.agents["ben"]["id"]
    await expect(ann.locator(f'#transfer-to option[value="{ben_id}"]')).to_be_attached()
    await ann.select_option("#transfer-to", str(ben_id))
    await ann.click("#transfer-button")
    await ben.locator(f'.conv-item[data-conversation-id="{conversation_id}"]').click()
    await expect(ben.locator("#open-conversation")).to_be_visible()
    rows = system_rows(chat_server, conversation_id)
    assert len(rows) == 2, rows
    expected = [chinese(agent_wording(ZH, *row), "a system note (needs its code)") for row in rows]
    await expect(ben.locator("#messages .msg.system .text")).to_have_text(expected)
    await ben.locator("#customer-panel .history-row button.link").click()
    transcript = ben.locator(f"#transcript-{conversation_id} .msg.system .text")
    await expect(transcript).to_have_text(expected)

    # A live one: the customer leaves while ben has the conversation open.
    assert (await eve.call("customer:disconnect", {}))["ok"]
    await expect(ben.locator("#conversation-pane .empty-state")).to_have_text(
        js("The customer ended this conversation.")
    )
    rows = system_rows(chat_server, conversation_id)
    assert len(rows) == 3, rows
    ended = chinese(agent_wording(ZH, *rows[-1]), "the ended note (needs its code)")
    with contextlib.suppress(PlaywrightTimeout):  # the assertion below says what came instead
        await ben.wait_for_function("(text) => window.__systemTexts.includes(text)", arg=ended, timeout=5000)
    seen = await ben.evaluate("window.__systemTexts")
    assert ended in seen, seen
    assert ann.errors == [] and ben.errors == []
    await eve.disconnect()


# --- English, for a customer in Chinese ------------------------------------------------------------


async def test_english_console_stays_english_for_a_chinese_customer(browser, chat_server):
    ann = await open_console(browser, chat_server, "ann", locale="en-US")
    ben = await open_console(browser, chat_server, "ben", locale="en-US")
    await set_status(ben, chat_server, "Ben", "busy")
    for page in (ann, ben):
        await expect(page.locator("html")).to_have_attribute("lang", "en")

    # The customer's connection is in Chinese (its handshake and its browser say so).
    li = await Client(chat_server, "/customer").connect(
        auth={"lang": "zh-CN"}, headers={"Accept-Language": "zh-CN"}
    )
    join = await li.call("customer:join", {"name": "Li Lei"})
    assert join["ok"], join
    conversation_id = join["conversation"]["id"]
    await expect(ann.locator(".toast").first).to_have_text("New customer: Li Lei")
    assert (await li.call("customer:message", {"text": CUSTOMER_TEXT}))["ok"]
    await ann.locator(f'.conv-item[data-conversation-id="{conversation_id}"]').click()
    await expect(ann.locator('#messages li[data-sender="customer"] .text')).to_have_text(CUSTOMER_TEXT)
    await li.call("customer:typing", {"is_typing": True})
    await expect(ann.locator("#customer-typing")).to_have_text("The customer is typing…")

    await set_status(ben, chat_server, "Ben", "online")
    ben_id = chat_server.agents["ben"]["id"]
    await expect(ann.locator(f'#transfer-to option[value="{ben_id}"]')).to_be_attached()
    await ann.select_option("#transfer-to", str(ben_id))
    await ann.click("#transfer-button")
    await expect(ann.locator("#conversation-pane .empty-state")).to_have_text("Transferred to Ben.")
    await expect(ben.locator(".toast", has_text="Ann transferred Li Lei to you.")).to_have_count(1)
    await ben.locator(f'.conv-item[data-conversation-id="{conversation_id}"]').click()
    await expect(ben.locator("#open-conversation")).to_be_visible()

    # Every system message reads as an agent reads it in English, whatever the customer's language.
    rows = system_rows(chat_server, conversation_id)
    assert len(rows) == 2, rows
    english = [agent_wording("en", *row) for row in rows]
    assert not any(CJK.search(text) for text in english), english
    await expect(ben.locator("#messages .msg.system .text")).to_have_text(english)

    ben.once("dialog", lambda dialog: dialog.accept())
    await ben.click("#end-button")
    await expect(ben.locator("#conversation-pane .empty-state")).to_have_text("Conversation ended.")
    await li.wait_for("session:end")
    await ben.locator(f'.conv-item[data-conversation-id="{conversation_id}"]').wait_for(state="detached")
    for page in (ann, ben):
        text = await page.evaluate(OWN_TEXT)
        assert not CJK.search(text), text
        assert page.errors == []
    await li.disconnect()


# --- the switcher -------------------------------------------------------------------------------------


async def test_switching_language_in_the_console_persists_on_the_profile(browser, chat_server):
    page = await open_console(browser, chat_server, "cat", locale="en-US")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    assert chat_server.scalar("select language from agents_agentprofile where display_name='Cat'") == ""
    await expect(page.locator("#console-language")).to_have_value("en")

    await page.select_option("#console-language", ZH)
    await expect(page.locator("html")).to_have_attribute("lang", ZH)
    await expect(page.locator("#connection.pill-ok")).to_have_text(js("Connected"))
    assert page.url.endswith("/console/")
    await expect(page.locator(".topbar .logout button")).to_have_text(zh("Log out"))
    assert chat_server.scalar("select language from agents_agentprofile where display_name='Cat'") == ZH

    # Another browser, in English, signing in as cat: Chinese from the profile.
    fresh = await browser.new_context(viewport=CONSOLE, locale="en-US")
    other = record(await watch_csp(await fresh.new_page()))
    await other.goto(chat_server.url + "/console/")
    await expect(other.locator("html")).to_have_attribute("lang", "en")
    await sign_in(other, "cat")
    await expect(other.locator("html")).to_have_attribute("lang", ZH)
    await expect(other.locator(".topbar .brand")).to_have_text(zh("Console"))

    # And back: English is kept too.
    await other.select_option("#console-language", "en")
    await expect(other.locator("html")).to_have_attribute("lang", "en")
    await expect(other.locator("#connection.pill-ok")).to_have_text("Connected")
    assert chat_server.scalar("select language from agents_agentprofile where display_name='Cat'") == "en"
    assert page.errors == [] and other.errors == []


async def test_the_login_page_switches_language(browser, chat_server):
    context = await browser.new_context(viewport=CONSOLE, locale="en-US")
    page = record(await watch_csp(await context.new_page()))
    await page.goto(chat_server.url + "/accounts/login/?next=/console/")
    await expect(page.locator(".login-card h1")).to_have_text("Agent console")
    await page.select_option("#login-language", ZH)
    await expect(page.locator("html")).to_have_attribute("lang", ZH)
    await expect(page.locator(".login-card h1")).to_have_text(zh("Agent console"))
    assert "next=/console/" in page.url
    await sign_in(page, "ann")
    await expect(page.locator(".topbar .brand")).to_have_text(zh("Console"))
    assert page.errors == []


# --- layout -------------------------------------------------------------------------------------------

# Elements whose text is cut, or that reach past the window's right edge.
# Names, previews and the agent's own name are cut with an ellipsis on purpose.
CLIPPED = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  const seen = document.querySelectorAll(
    ".topbar > *, .topbar button, .topbar select, .topbar label, button, h2, h3, h4, .pill, .count, .tag,"
    + " .conv-meta time, .q-main, dt, .language-switcher select");
  for (const node of seen) {
    if (node.closest(".hidden") || node.hidden || node.classList.contains("visually-hidden")) continue;
    const box = node.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    const text = node.textContent.trim().slice(0, 30);
    const name = `${node.tagName.toLowerCase()}#${node.id}.${node.className}: ${text}`;
    const style = getComputedStyle(node);
    if (box.right > width + 1 || box.left < -1) out.push(`outside: ${name}`);
    // Text that runs past its box: cut where the box hides it, spilling out where it does not.
    if (style.textOverflow === "ellipsis") continue;
    if (node.scrollWidth > node.clientWidth + 1) out.push(`too wide: ${name}`);
    if (node.scrollHeight > node.clientHeight + 1 && style.overflowY === "hidden") out.push(`cut: ${name}`);
  }
  // A control's label on one line: a Chinese label may otherwise break between any two characters.
  const oneLine = document.querySelectorAll(
    ".topbar button, .topbar label, .conv-actions button, .composer button, .claim, .claim-next,"
    + " button.link, .tab-button, .brand, .pill, .count, .tag");
  for (const node of oneLine) {
    if (node.closest(".hidden") || node.hidden) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const height = range.getBoundingClientRect().height;
    const line = parseFloat(getComputedStyle(node).lineHeight) || 20;
    const name = `${node.tagName.toLowerCase()}.${node.className}: ${node.textContent.trim()}`;
    if (height > 1.6 * line) out.push(`wraps: ${name}`);
  }
  const page = document.documentElement.scrollWidth;
  if (page > width + 1) out.push(`page scrolls sideways: ${page}`);
  return out;
}"""


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
@pytest.mark.parametrize("viewport", [CONSOLE, PHONE], ids=["laptop", "phone"])
async def test_layout_holds_in_both_languages(browser, chat_server, locale, viewport):
    page = await open_console(browser, chat_server, "ann", viewport=viewport, locale=locale)
    margaret, _ = await customer(chat_server, "Margaret Montgomery-Fitzgerald", topic="returns")
    await page.locator(".conv-item").first.click()
    await expect(page.locator("#customer-panel .customer-card")).to_be_visible()
    await set_status(page, chat_server, "Ann", "busy")
    quentin, _ = await customer(chat_server, "Queued Quentin", topic="returns")
    await expect(page.locator(".queue-item")).to_have_count(1)
    assert await page.evaluate(CLIPPED) == []
    await page.click('.tab-button[data-tab="team-tab"]')
    await expect(page.locator("#internal-current")).to_be_visible()
    assert await page.evaluate(CLIPPED) == []
    if viewport is PHONE and locale == "zh-CN":
        await page.click('.tab-button[data-tab="customer-tab"]')
        await page.screenshot(path=screenshot_path("console-phone-zh"), full_page=True)
    assert page.errors == []
    for client in (margaret, quentin):
        await client.disconnect()
