"""Headless Chromium for page tests: Debian's build, driven by Playwright.

The browser is the system's (`CHROMIUM`, default /usr/bin/chromium); nothing
is downloaded at test time. Tests skip, saying why, only where it is absent.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cs_project.testing.server import ROOT

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "screenshots"

# Without the background-networking flags Chromium keeps calling home, which
# this kind of closed network refuses.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_or_skip() -> str:
    """The Chromium executable's path; skips the calling test where there is none."""
    path = CHROMIUM if os.path.isabs(CHROMIUM) else shutil.which(CHROMIUM)
    if not path or not os.path.exists(path):
        pytest.skip(f"No Chromium at {CHROMIUM} (set CHROMIUM, or run .ci/run, which installs it)")
    return path


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


# Run in every document of a watched page before its own scripts: each
# Content-Security-Policy violation is written to the console with this prefix.
CSP_PREFIX = "CSP violation:"
CSP_WATCH = f"""
document.addEventListener("securitypolicyviolation", (event) => {{
  console.error(`{CSP_PREFIX} ${{event.violatedDirective}} blocked ${{event.blockedURI || "inline"}}`
    + ` at ${{event.sourceFile}}:${{event.lineNumber}}`);
}});
"""


def is_csp_violation(text: str) -> bool:
    """A console message that reports a CSP violation: the watcher's, or Chromium's own."""
    return text.startswith(CSP_PREFIX) or "Content Security Policy" in text


async def watch_csp(page):
    """Report every CSP violation on `page` from now on (`record` keeps them in `page.errors`)."""
    await page.add_init_script(CSP_WATCH)
    return page


def record(page, *, dismiss_dialogs: bool = False, requests: bool = False):
    """Keep what `page` shows or does on it: `page.dialogs`, `page.errors`, and
    with `requests`, `page.requests` (every URL it asks for). Returns the page.

    `page.errors` holds uncaught exceptions and every Content-Security-Policy
    violation the console reports (with `watch_csp`, each is reported), so a
    test that expects no errors expects no violation either.

    With `dismiss_dialogs` each dialog is dismissed once recorded, so that a
    failing page does not hang the test; without it the test answers them.
    """
    page.dialogs = []
    page.errors = []

    async def record_and_dismiss(dialog):
        page.dialogs.append(dialog.message)
        await dialog.dismiss()

    if dismiss_dialogs:
        page.on("dialog", record_and_dismiss)
    else:
        page.on("dialog", lambda dialog: page.dialogs.append(dialog.message))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda message: _keep_csp_violation(page, message))
    if requests:
        page.requests = []
        page.on("request", lambda request: page.requests.append(request.url))
    return page


def _keep_csp_violation(page, message) -> None:
    if message.type == "error" and is_csp_violation(message.text):
        page.errors.append(message.text)
