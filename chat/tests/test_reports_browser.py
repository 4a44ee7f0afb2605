"""The reports page in a real Chromium against a real server with a seeded
history (`manage.py seed_demo`): a supervisor reaches it from admin's header,
reads yesterday's figures, picks a preset, sees its charts, downloads its CSV
and is told what is wrong with a bad period; in English and in Chinese, with
no Content-Security-Policy violation. Screenshots: docs/screenshots/reports*.png.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import expect

from chat.tests.test_reports_page_live import _PEOPLE, command_output, run_python
from cs_project.testing.browser import record, screenshot_path, watch_csp
from cs_project.testing.server import PYTHON, ROOT, base_env
from cs_project.testing.translations import has_cjk, page_text

pytestmark = pytest.mark.live


@pytest.fixture
def seeded_server(chat_server):
    env = base_env(chat_server.db_path)
    subprocess.run(
        [PYTHON, "manage.py", "seed_demo", "--conversations", "1500", "--days", "8", "--seed", "11"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    run_python(env, _PEOPLE)
    chat_server.env = env
    return chat_server


async def supervisor_page(browser, server, locale: str):
    context = await browser.new_context(locale=locale, viewport={"width": 1440, "height": 900})
    page = record(await context.new_page())
    await watch_csp(page)
    await page.goto(server.url + "/admin/")
    await page.fill("#id_username", "sue")
    await page.fill("#id_password", "sue-pass")
    await page.click("input[type=submit]")
    await expect(page.locator("#user-tools")).to_be_visible()
    return context, page


def days_back(n: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=n)).isoformat()


async def test_a_supervisor_reads_the_reports_with_their_charts(browser, seeded_server):
    server = seeded_server
    context, page = await supervisor_page(browser, server, "en-US")
    await page.click("#user-tools a.reports-link")
    await expect(page.locator("#content h1")).to_have_text(page_text("Reports", "en"))

    # Yesterday by default: its figures are the command's.
    yesterday = json.loads(command_output(server.env, "--format", "json"))
    await expect(page.locator('.presets a[aria-current="true"]')).to_have_attribute(
        "data-preset", "yesterday"
    )
    await expect(page.locator("#id_since")).to_have_value(days_back(1))
    await expect(page.locator("#id_until")).to_have_value(days_back(1))
    cards = page.locator(".card")
    await expect(cards.first.locator(".card-label")).to_have_text(page_text("Conversations", "en"))
    assert 0 < yesterday["totals"]["conversations"] < 1000
    await expect(cards.first.locator(".card-value")).to_have_text(str(yesterday["totals"]["conversations"]))
    await expect(cards.nth(2).locator(".card-value")).to_have_text(str(yesterday["totals"]["abandoned"]))
    await expect(page.locator("#period-summary")).to_contain_text("UTC")

    # Last 7 days: the charts, as images with their titles, and a bar per hour with answered conversations.
    await page.click('.presets a[data-preset="last7"]')
    await expect(page.locator('.presets a[aria-current="true"]')).to_have_attribute("data-preset", "last7")
    await expect(page.locator("#id_since")).to_have_value(days_back(7))
    week = json.loads(
        command_output(server.env, "--since", days_back(7), "--until", days_back(0), "--format", "json")
    )
    charts = page.locator('svg.chart[role="img"]')
    await expect(charts).to_have_count(3)
    titles = [
        "Conversations per hour of the day",
        "First response per hour of the day",
        "Conversations and satisfaction per agent",
    ]
    for i, title in enumerate(titles):
        await expect(charts.nth(i).locator("title").first).to_have_text(page_text(title, "en"))
        await expect(page.locator("figure.chart-box figcaption").nth(i)).to_have_text(page_text(title, "en"))
        await expect(charts.nth(i).locator(".legend .legend-label").first).to_be_visible()
        await expect(charts.nth(i).locator(".axis .tick").first).to_be_visible()
    answered_hours = sum(1 for hour in week["hours"] if hour["answered"])
    await expect(page.locator("#chart-per-hour rect.bar.answered")).to_have_count(answered_hours)
    await expect(page.locator("#chart-first-response circle.dot.median")).to_have_count(
        sum(1 for hour in week["hours"] if hour["first_response_s"]["median"] is not None)
    )
    agents = [agent["name"] for agent in week["agents"]]
    await expect(page.locator("#chart-agents rect.bar.agent-conversations")).to_have_count(len(agents))
    await expect(page.locator("#table-agents tbody th")).to_have_text(agents)
    await expect(page.locator("#table-topics tbody tr")).to_have_count(len(week["topics"]))
    # No inline style anywhere in the page (the CSP would block it).
    assert await page.locator("[style]").count() == 0
    await page.screenshot(path=screenshot_path("reports"), full_page=True)

    # The CSV link downloads what the command prints for the same period.
    async with page.expect_download() as info:
        await page.click('.downloads a.download:has-text("CSV")')
    download = await info.value
    assert download.suggested_filename == f"report-{days_back(7)}_{days_back(1)}.csv"
    downloaded = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8")
    assert downloaded == command_output(
        server.env, "--since", days_back(7), "--until", days_back(0), "--format", "csv"
    )

    # A bad period from the form: said on the page, and no figures.
    await page.fill("#id_since", days_back(1))
    await page.fill("#id_until", days_back(3))
    await page.click("#period-form button[type=submit]")
    errors = page.locator("#period-errors")
    await expect(errors).to_contain_text(
        page_text(
            "The period is empty: its first day (%(since)s) is after its last (%(until)s).",
            "en",
            since=days_back(1),
            until=days_back(3),
        )
    )
    await expect(page.locator(".card")).to_have_count(0)
    await expect(page.locator("svg.chart")).to_have_count(0)
    await expect(page.locator("#id_since")).to_have_value(days_back(1))
    assert page.errors == []
    await context.close()


async def test_the_reports_page_in_chinese(browser, seeded_server):
    server = seeded_server
    context, page = await supervisor_page(browser, server, "zh-CN")
    await page.goto(server.url + "/admin/reports/?preset=last7")
    await expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    home = page_text("Home", "zh-hans")
    assert has_cjk(home)
    await expect(page.locator(".breadcrumbs a").first).to_have_text(home)
    await expect(page.locator("#content h1")).to_have_text(page_text("Reports", "zh-hans"))
    await expect(page.locator('svg.chart[role="img"]')).to_have_count(3)
    await expect(page.locator("#chart-per-hour rect.bar").first).to_be_visible()
    await page.screenshot(path=screenshot_path("reports-zh"), full_page=True)
    assert page.errors == []
    await context.close()
