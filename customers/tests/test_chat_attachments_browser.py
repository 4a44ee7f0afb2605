"""Files and images in chats, in real Chromium pages against a real server:
the customer's chat page and the agent's console, both ways.

Images are made here with Pillow; files reach the pages as a person gives
them: the paperclip's file chooser, a drop on the conversation, a paste into
the composer.
"""

from __future__ import annotations

import base64
import json
import re

import pytest
from django.utils import translation
from django.utils.translation.trans_real import DjangoTranslation
from playwright.async_api import expect

from cs_project.testing.attachments import choose, drop, image_loaded, noise_png, paste, pdf, png
from cs_project.testing.browser import screenshot_path
from cs_project.testing.clients import agent
from cs_project.testing.pages import mine, open_console, send, started_chat, theirs
from cs_project.testing.waits import eventually

pytestmark = pytest.mark.live

# A file's size as the pages write it (no break before the unit, as Django's filesizeformat).
SIZE = re.compile(r"^\d+(\.\d)?\u00a0(bytes|KB|MB)$")


def stored(server, conversation_id: int) -> list[tuple[str, str, str | None]]:
    """(sender, text, attachment name) of the conversation's customer and agent messages, in order."""
    return server.query(
        "select m.sender, m.text, a.name from chat_message m"
        " left join chat_attachment a on a.message_id = m.id"
        " where m.conversation_id=? and m.sender != 'system' order by m.id",
        (conversation_id,),
    )


async def href(link) -> str:
    """A link's URL, absolute."""
    return await link.evaluate("a => a.href")


async def conversation_id(page) -> int:
    await page.wait_for_function("() => window.__chat.state.conversationId !== null")
    return await page.evaluate("window.__chat.state.conversationId")


async def test_an_image_to_the_console_and_a_pdf_back(browser, chat_server):
    console = await open_console(browser, chat_server, "ann")
    _, page = await started_chat(browser, chat_server, "Carla")
    await expect(page.locator("#head-title")).to_have_text("You're chatting with Ann")
    cid = await conversation_id(page)
    await send(page, "Hello! My parcel came damaged, here is a photo.")
    await expect(mine(page).locator(".tick")).to_have_attribute("data-status", "delivered")

    # The customer attaches an image with the paperclip: it goes at once, as
    # a message of its own with no text.
    await expect(page.locator("#attach-button")).to_have_attribute("aria-label", "Attach a file")
    await choose(page, "parcel.png", "image/png", png(640, 420))
    sent = mine(page).filter(has=page.locator(".att-thumb"))
    thumb = sent.locator("img.att-thumb")
    await expect(thumb).to_have_attribute("alt", "parcel.png")
    # 640 x 420 fitted to the 240 px box.
    await expect(thumb).to_have_attribute("width", "240")
    await expect(thumb).to_have_attribute("height", "158")
    await expect(thumb).to_have_attribute("loading", "lazy")
    assert await image_loaded(thumb) > 0
    await expect(sent.locator(".tick")).to_have_attribute("data-status", "delivered")
    await expect(sent.locator(".text")).to_have_count(0)
    await expect(page.locator("#uploads .upload-row")).to_have_count(0)
    await eventually(lambda: ("customer", "", "parcel.png") in stored(chat_server, cid), what="stored image")
    assert await page.evaluate("localStorage.getItem('cs.customer.outbox')") is None

    # The console: the list says what came, the thumbnail shows, and opens full size.
    item = console.locator(f'.conv-item[data-conversation-id="{cid}"]')
    await expect(item.locator(".conv-last")).to_have_text("Sent an image: parcel.png")
    await item.click()
    shown = console.locator("#messages li.theirs img.att-thumb")
    await expect(shown).to_have_attribute("alt", "parcel.png")
    await expect(shown).to_have_attribute("width", "240")
    await expect(shown).to_have_attribute("height", "158")
    assert await image_loaded(shown) > 0
    await shown.click()
    viewer = console.locator("dialog.att-viewer")
    await expect(viewer).to_be_visible()
    assert await image_loaded(viewer.locator("img.att-viewer-img")) == 640
    await expect(viewer.locator(".att-viewer-name")).to_have_text("parcel.png")
    await expect(viewer.locator(".att-viewer-download")).to_have_attribute("download", "parcel.png")
    original = await href(viewer.locator(".att-viewer-open"))
    response = await console.request.get(original)
    assert response.status == 200 and response.headers["content-type"] == "image/png"
    await console.keyboard.press("Escape")
    await expect(viewer).to_be_hidden()
    # A click beside the image closes it too.
    await shown.click()
    await expect(viewer).to_be_visible()
    await console.mouse.click(30, 400)
    await expect(viewer).to_be_hidden()

    # The agent sends a PDF back with the paperclip; the customer gets a file card.
    invoice = pdf()
    await choose(console, "invoice-1042.pdf", "application/pdf", invoice)
    ours = console.locator("#messages li.mine .att-file")
    await expect(ours.locator(".att-name")).to_have_text("invoice-1042.pdf")
    await expect(console.locator("#messages li.mine").last.locator(".tick")).to_have_attribute(
        "data-status", re.compile("delivered|read")
    )
    card = theirs(page).locator(".att-file")
    await expect(card.locator(".att-name")).to_have_text("invoice-1042.pdf")
    await expect(card.locator(".att-size")).to_have_text(SIZE)
    await expect(card).to_have_attribute("download", "invoice-1042.pdf")
    response = await page.request.get(await href(card))
    assert response.status == 200
    assert await response.body() == invoice
    async with page.expect_download() as download:
        await card.click()
    assert (await download.value).suggested_filename == "invoice-1042.pdf"
    await send(page, "Thank you, that's the one.")
    await expect(mine(page)).to_have_count(3)
    await page.screenshot(path=screenshot_path("chat-attachment"))

    # The console's fragment renders both from the server as the page does live.
    await expect(item.locator(".conv-last")).to_have_text("You sent a file: invoice-1042.pdf")
    await console.evaluate("() => { document.getElementById('open-conversation').dataset.live = 'yes'; }")
    await console.click(f'.conv-item[data-conversation-id="{cid}"]')
    await expect(console.locator("#open-conversation:not([data-live])")).to_be_visible()
    await expect(console.locator("#messages li.theirs img.att-thumb")).to_have_attribute("height", "158")
    await expect(console.locator("#messages li.mine .att-file .att-size")).to_have_text(SIZE)
    again = console.locator("#messages li.mine .att-file")
    response = await console.request.get(await href(again))
    assert response.status == 200 and await response.body() == invoice
    assert await image_loaded(console.locator("#messages li.theirs img.att-thumb")) > 0
    await console.locator("#messages li.theirs img.att-thumb").click()
    await expect(viewer).to_be_visible()
    assert await image_loaded(viewer.locator("img.att-viewer-img")) == 640
    await console.keyboard.press("Escape")
    await expect(viewer).to_be_hidden()
    await console.focus("#composer-text")
    await expect(console.locator(".toast")).to_have_count(0, timeout=10000)
    await console.screenshot(path=screenshot_path("console-attachment"))

    assert stored(chat_server, cid) == [
        ("customer", "Hello! My parcel came damaged, here is a photo.", None),
        ("customer", "", "parcel.png"),
        ("agent", "", "invoice-1042.pdf"),
        ("customer", "Thank you, that's the one.", None),
    ]
    assert page.dialogs == [] and page.errors == []
    assert console.dialogs == [] and console.errors == []


async def test_an_image_dropped_on_the_chat_and_one_pasted_in_the_console(browser, chat_server):
    console = await open_console(browser, chat_server, "ann")
    _, page = await started_chat(browser, chat_server, "Dora")
    await expect(page.locator("#head-title")).to_have_text("You're chatting with Ann")
    cid = await conversation_id(page)

    # Dragged over the conversation, it is highlighted; dropped, it is sent.
    assert await drop(page, "#conversation", "dropped.png", "image/png", png(300, 500))
    sent = mine(page).locator("img.att-thumb")
    await expect(sent).to_have_attribute("alt", "dropped.png")
    await expect(sent).to_have_attribute("width", "144")  # 300 x 500 fitted to 240 px high
    await expect(sent).to_have_attribute("height", "240")
    assert await image_loaded(sent) > 0

    await console.click(f'.conv-item[data-conversation-id="{cid}"]')
    await expect(console.locator("#messages li.theirs img.att-thumb")).to_have_attribute("alt", "dropped.png")
    # A screenshot pasted into the reply box is sent; the typed text stays.
    await console.fill("#composer-text", "One moment")
    assert await paste(console, "#composer-text", "image.png", "image/png", png(200, 120, label="SCREEN"))
    await expect(console.locator("#messages li.mine img.att-thumb")).to_have_attribute("alt", "image.png")
    await expect(console.locator("#composer-text")).to_have_value("One moment")
    got = theirs(page).locator("img.att-thumb")
    await expect(got).to_have_attribute("alt", "image.png")
    await expect(got).to_have_attribute("width", "200")  # smaller than the box: as it is
    assert await image_loaded(got) > 0
    # Dropping on the console's conversation works the same.
    assert await drop(
        console, "#open-conversation", "notes.txt", "text/plain", b"Order 1042: refund issued.\n"
    )
    card = theirs(page).locator(".att-file")
    await expect(card.locator(".att-name")).to_have_text("notes.txt")
    await expect(card.locator(".att-size")).to_have_text("27\u00a0bytes")
    await expect(theirs(page)).to_have_count(2)

    assert stored(chat_server, cid) == [
        ("customer", "", "dropped.png"),
        ("agent", "", "image.png"),
        ("agent", "", "notes.txt"),
    ]
    assert page.errors == [] and console.errors == []


async def test_refused_files_and_a_cancelled_upload_leave_no_message(browser, chat_server):
    ann, _ = await agent(chat_server, "ann")
    context, page = await started_chat(browser, chat_server, "Erin")
    await expect(page.locator("#head-title")).to_have_text("You're chatting with Ann")
    cid = await conversation_id(page)
    tray = page.locator("#uploads")

    # Too large: refused by the page, before anything is sent, naming the limit.
    limit = int(await page.locator("#chat").get_attribute("data-upload-max-bytes"))
    shown_limit = await page.evaluate(
        "(n) => new Intl.NumberFormat('en', {minimumFractionDigits: 1, maximumFractionDigits: 1})"
        ".format(n / 1024 / 1024)",
        limit,
    )
    uploads_before = [url for url in page.requests if "/api/uploads/" in url]
    await choose(page, "huge.png", "image/png", png(8, 8) + b"\0" * limit)
    await expect(tray.locator(".upload-error")).to_have_text(
        f"huge.png is too large: files of up to {shown_limit}\u00a0MB can be sent."
    )
    assert [url for url in page.requests if "/api/uploads/" in url] == uploads_before
    # A type the page does not offer is refused by the page too.
    await choose(page, "tool.exe", "application/x-msdownload", b"MZ\x90\x00")
    await expect(tray.locator(".upload-error")).to_have_text(
        "tool.exe can't be sent: files of this type are not accepted."
    )
    await tray.locator(".upload-dismiss").click()
    await expect(tray.locator(".upload-row")).to_have_count(0)

    # Refused by the server (a "PNG" that is a script): the server's own words show.
    async with page.expect_response(lambda r: "/api/uploads/" in r.url) as answer:
        await choose(page, "photo.png", "image/png", b"<script>alert(1)</script>")
    response = await answer.value
    assert response.status == 415
    refusal = (await response.json())["error"]
    assert refusal["code"] == "unsupported_type"
    await expect(tray.locator(".upload-error")).to_have_text(f"photo.png was not sent: {refusal['message']}")

    # Cancelled while it uploads (the network slowed down): nothing is sent.
    cdp = await context.new_cdp_session(page)
    await cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 64 * 1024},
    )
    await choose(page, "slow.png", "image/png", noise_png(600))
    row = tray.locator(".upload-row:not(.upload-error)")
    await expect(row.locator(".upload-name")).to_have_text("slow.png")
    cancel = row.locator(".upload-cancel")
    await expect(cancel).to_have_attribute("aria-label", "Cancel the upload of slow.png")
    await page.wait_for_function("() => document.querySelector('#uploads progress').value > 0")
    await cancel.click()
    await expect(row).to_have_count(0)
    await cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    await expect(tray.locator(".upload-error")).to_have_count(0)
    await send(page, "Never mind.")
    await ann.wait_for("customer:message", lambda m: m["text"] == "Never mind.")
    assert [m for m in ann.of("customer:message") if m.get("attachment")] == []
    await expect(mine(page)).to_have_count(1)
    assert stored(chat_server, cid) == [("customer", "Never mind.", None)]
    assert chat_server.scalar("select count(*) from chat_attachment") == 0
    assert page.errors == []
    await ann.disconnect()


async def test_attachments_in_chinese(browser, chat_server):
    def js(msgid: str) -> str:  # the page script's wording in the catalog (as written until translated)
        return DjangoTranslation("zh-hans", domain="djangojs").gettext(msgid)

    def page_text(msgid: str) -> str:
        with translation.override("zh-hans"):
            return translation.gettext(msgid)

    console = await open_console(browser, chat_server, "ann", locale="zh-CN")
    await expect(console.locator("html")).to_have_attribute("lang", "zh-hans")
    _, page = await started_chat(browser, chat_server, "王芳", locale="zh-CN")
    await expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    cid = await conversation_id(page)
    await expect(page.locator("#attach-button")).to_have_attribute("aria-label", page_text("Attach a file"))
    await send(page, "您好，包裹到了但是坏了，请看照片。")  # noqa: RUF001
    await choose(page, "包裹.png", "image/png", png(640, 420))
    await expect(mine(page).locator("img.att-thumb")).to_have_attribute("alt", "包裹.png")
    assert await image_loaded(mine(page).locator("img.att-thumb")) > 0

    await console.click(f'.conv-item[data-conversation-id="{cid}"]')
    shown = console.locator("#messages li.theirs img.att-thumb")
    assert await image_loaded(shown) > 0
    await shown.click()
    viewer = console.locator("dialog.att-viewer")
    await expect(viewer.locator(".att-viewer-open")).to_have_text(js("Open original"))
    await expect(viewer.locator(".att-viewer-download")).to_have_text(js("Download"))
    await console.keyboard.press("Escape")
    await choose(console, "发票-1042.pdf", "application/pdf", pdf())
    await console.fill("#composer-text", "很抱歉！发票在这里，我们会马上补发。")  # noqa: RUF001
    await console.keyboard.press("Enter")
    card = theirs(page).locator(".att-file")
    await expect(card.locator(".att-name")).to_have_text("发票-1042.pdf")
    await expect(theirs(page)).to_have_count(2)
    await page.screenshot(path=screenshot_path("chat-attachment-zh"))
    await expect(console.locator("#messages li.mine")).to_have_count(2)
    await expect(console.locator(".toast")).to_have_count(0, timeout=10000)
    await console.screenshot(path=screenshot_path("console-attachment-zh"))
    assert page.errors == [] and console.errors == []


# An upload the page made itself, with the customer's token, as lib/attachments.js does.
UPLOAD = """async ([b64, name, type]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const form = new FormData();
  form.append("file", new File([bytes], name, { type }));
  const token = localStorage.getItem("cs.customer.token");
  const headers = { Authorization: `Bearer ${token}` };
  const response = await fetch("/api/uploads/", { method: "POST", body: form, headers });
  return (await response.json()).attachment;
}"""


async def test_an_unacknowledged_attachment_goes_again_after_a_reload_once(browser, chat_server):
    ann, _ = await agent(chat_server, "ann")
    _, page = await started_chat(browser, chat_server, "Fay")
    cid = await conversation_id(page)
    attachment = await page.evaluate(
        UPLOAD, [base64.b64encode(png(320, 200)).decode(), "left.png", "image/png"]
    )
    # The message was queued but its ack never came (the tab closed): it is in the outbox.
    item = {
        "client_id": "resend-1",
        "text": "",
        "created_at": "2026-01-01T00:00:00Z",
        "attachment": attachment,
    }
    for _ in range(2):  # reloaded twice with the item still there: stored once
        await page.evaluate("(item) => localStorage.setItem('cs.customer.outbox', item)", json.dumps([item]))
        await page.reload()
        bubble = mine(page).locator("img.att-thumb")
        await expect(bubble).to_have_count(1)
        await expect(bubble).to_have_attribute("alt", "left.png")
        await expect(mine(page)).not_to_have_class(re.compile("pending"))
        await page.wait_for_function("() => localStorage.getItem('cs.customer.outbox') === null")
    got = await ann.wait_for("customer:message", lambda m: m.get("attachment") is not None)
    assert got["attachment"]["id"] == attachment["id"] and got["client_id"] == "resend-1"
    assert stored(chat_server, cid) == [("customer", "", "left.png")]
    assert page.errors == []
    await ann.disconnect()
