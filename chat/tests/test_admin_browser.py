"""Admin in a real Chromium against a real server, in both languages: a
browser that prefers Chinese gets admin in Chinese (a transcript's system
messages included), one that prefers English gets English, and the language
switcher in admin's header changes it (its script runs under the CSP).

Expected texts come from the catalog (gettext under translation.override),
as in test_admin_i18n.py; a Chinese one must contain CJK characters.
"""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
from django.contrib import admin
from django.utils import translation
from playwright.async_api import expect

from chat import system_notes
from chat.admin import ConversationAdmin
from chat.models import ConversationStatus, Sender
from cs_project.testing.browser import record, watch_csp
from cs_project.testing.clients import customer
from cs_project.testing.server import LiveServer

pytestmark = pytest.mark.live

CJK = re.compile(r"[\u3400-\u9fff]")
ZH = "zh-hans"


def text_in(language: str, make) -> str:
    with translation.override(language):
        text = str(make())
    assert bool(CJK.search(text)) == (language == ZH), f"not in the {language} catalog: {text!r}"
    return text


def make_supervisor(server: LiveServer, username: str) -> None:
    """Test set-up, straight in the server's database."""
    with sqlite3.connect(server.db_path, timeout=10) as db:
        db.execute("update auth_user set is_staff=1, is_superuser=1 where username=?", (username,))


def add_transfer_note(server: LiveServer, conversation_id: int) -> None:
    """Test set-up: a transfer note as the services store it (a code and its parameters)."""
    code, params, text = system_notes.note(system_notes.TRANSFERRED, from_agent="Ann", agent="Bob")
    with sqlite3.connect(server.db_path, timeout=10) as db:
        db.execute(
            "insert into chat_message (conversation_id, sender, sender_name, text, created_at, status,"
            " system_code, system_params) values (?, 'system', 'System', ?, datetime('now'), 0, ?, ?)",
            (conversation_id, text, code, json.dumps(params)),
        )


async def signed_in_admin(browser, server: LiveServer, locale: str, path: str):
    context = await browser.new_context(locale=locale, viewport={"width": 1280, "height": 800})
    page = record(await context.new_page())
    await watch_csp(page)
    await page.goto(server.url + path)
    await page.fill("#id_username", "bill")
    await page.fill("#id_password", "bill-pass")
    await page.click("input[type=submit]")
    await expect(page.locator("#user-tools")).to_be_visible()
    return context, page


@pytest.mark.parametrize("locale,language", [("zh-CN", ZH), ("en-US", "en")])
async def test_admin_follows_the_browsers_language(browser, chat_server, tmp_path, locale, language):
    make_supervisor(chat_server, "bill")
    carla, join = await customer(chat_server, "Carla")
    conversation_id = join["conversation"]["id"]
    add_transfer_note(chat_server, conversation_id)
    await carla.disconnect()

    context, page = await signed_in_admin(browser, chat_server, locale, "/admin/")
    await expect(page.locator("html")).to_have_attribute("lang", language)
    await expect(page.locator("#site-name")).to_have_text(text_in(language, lambda: admin.site.site_header))
    await expect(page.locator("#content h1")).to_have_text(text_in(language, lambda: admin.site.index_title))
    await page.screenshot(path=tmp_path / f"admin-index-{language}.png", full_page=True)

    await page.goto(chat_server.url + "/admin/chat/conversation/")
    row = page.locator(f'tr:has(input[name="_selected_action"][value="{conversation_id}"])')
    status = ConversationStatus(
        chat_server.scalar("select status from chat_conversation where id=?", (conversation_id,))
    )
    await expect(row.locator(".field-status")).to_have_text(text_in(language, lambda: status.label))
    options = page.locator('select[name="action"] option')
    await expect(
        options.filter(has_text=text_in(language, lambda: ConversationAdmin.close.short_description))
    ).to_have_count(1)
    await page.screenshot(path=tmp_path / f"admin-conversations-{language}.png", full_page=True)

    await page.goto(chat_server.url + f"/admin/chat/conversation/{conversation_id}/change/")
    transcript = page.locator(".inline-related tbody")
    agents_read = text_in(
        language,
        lambda: system_notes.wording(
            system_notes.TRANSFERRED, {"from_agent": "Ann", "agent": "Bob"}, system_notes.AGENT
        ),
    )
    await expect(transcript.locator(".field-shown_text", has_text=agents_read)).to_have_count(1)
    await expect(transcript.locator(".field-sender").last).to_have_text(
        text_in(language, lambda: Sender.SYSTEM.label)
    )
    await page.screenshot(path=tmp_path / f"admin-transcript-{language}.png", full_page=True)
    assert page.errors == []
    await context.close()


async def test_the_switcher_in_admin_changes_its_language(browser, chat_server, tmp_path):
    make_supervisor(chat_server, "bill")
    context, page = await signed_in_admin(browser, chat_server, "en-US", "/admin/chat/conversation/")
    await expect(page.locator("#site-name")).to_have_text(text_in("en", lambda: admin.site.site_header))
    # The script sends the form on change: its button is hidden.
    await expect(page.locator("#user-tools .language-go")).to_be_hidden()
    await page.select_option("#admin-language", ZH)
    await expect(page.locator("html")).to_have_attribute("lang", ZH)
    # Back on the same page, in Chinese, and it stays so.
    assert page.url.endswith("/admin/chat/conversation/")
    await expect(page.locator("#site-name")).to_have_text(text_in(ZH, lambda: admin.site.site_header))
    await page.screenshot(path=tmp_path / "admin-switched.png", full_page=True)
    await page.goto(chat_server.url + "/admin/")
    await expect(page.locator("html")).to_have_attribute("lang", ZH)
    await page.select_option("#admin-language", "en")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.errors == []
    await context.close()


async def test_the_login_page_has_the_switcher_too(browser, chat_server, tmp_path):
    context = await browser.new_context(locale="en-US")
    page = record(await context.new_page())
    await watch_csp(page)
    await page.goto(chat_server.url + "/admin/login/")
    await page.select_option("#admin-language", ZH)
    await expect(page.locator("html")).to_have_attribute("lang", ZH)
    await expect(page.locator("#site-name")).to_have_text(text_in(ZH, lambda: admin.site.site_header))
    await page.screenshot(path=tmp_path / "admin-login-zh-hans.png", full_page=True)
    assert page.errors == []
    await context.close()
