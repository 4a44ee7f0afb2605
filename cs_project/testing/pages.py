"""The two pages people use, driven by Playwright: the customer chat page (/)
and the agent console (/console/). Each page opened here records its dialogs
and errors (`browser.record`).
"""

from __future__ import annotations

from playwright.async_api import expect

from cs_project.testing.browser import record, watch_csp

# Markup in a message: every page must show it as text and run nothing.
XSS = "<img src=x onerror=alert(1)>"

DESKTOP = {"width": 1200, "height": 860}
CONSOLE = {"width": 1366, "height": 820}


# --- the customer chat page ----------------------------------------------------------


async def new_context(browser, viewport=None, locale=None):
    """A browser context; with `locale` ("zh-CN", "en"), a browser that prefers
    that language (navigator.language and Accept-Language)."""
    options = {"locale": locale} if locale else {}
    return await browser.new_context(viewport=viewport or DESKTOP, **options)


async def open_chat(context, server):
    """A new tab on the chat page that records dialogs (dismissing them), page errors and requests."""
    page = record(await context.new_page(), dismiss_dialogs=True, requests=True)
    await watch_csp(page)
    await page.goto(server.url + "/")
    return page


async def start(page, name="Carla", email="", topic=""):
    """Fill in and send the start form; return once the conversation shows."""
    await expect(page.locator("#start-form")).to_be_visible()
    await page.fill("#start-name", name)
    if email:
        await page.fill("#start-email", email)
    if topic:
        await page.select_option("#start-topic", topic)
    await page.click("#start-button")
    await expect(page.locator("#conversation")).to_be_visible()
    await expect(page.locator("#start-form")).to_be_hidden()


async def started_chat(browser, server, name="Carla", locale=None, **fields):
    """A new browser context on the chat page, with the chat started."""
    context = await new_context(browser, locale=locale)
    page = await open_chat(context, server)
    await start(page, name, **fields)
    return context, page


async def send(page, text):
    await page.fill("#composer-text", text)
    await page.press("#composer-text", "Enter")


def mine(page):
    """The customer's own message bubbles."""
    return page.locator("#messages li.mine")


def theirs(page):
    """The agent's message bubbles."""
    return page.locator("#messages li.theirs")


# --- the agent console -----------------------------------------------------------------


async def open_console(browser, server, username, viewport=None, locale=None):
    """A fresh browser context signed in as `username`, on /console/, connected.

    `locale` is the browser's language (its Accept-Language; Playwright's
    default is en-US). Dialogs are recorded, not answered: a test that
    expects one answers it.
    """
    options = {"viewport": viewport or CONSOLE}
    if locale:
        options["locale"] = locale
    context = await browser.new_context(**options)
    page = record(await context.new_page())
    await watch_csp(page)
    await page.goto(server.url + "/console/")
    await sign_in(page, username)
    return page


async def sign_in(page, username):
    """Fill in the console's login form as `username`; return once the console is connected.

    Connected is the pill's state, not its wording: it holds in every language.
    """
    await page.fill("#id_username", username)
    await page.fill("#id_password", f"{username}-pass")
    await page.click(".login-card button.primary")
    await expect(page.locator("#connection.pill-ok")).to_be_visible(timeout=15000)
