"""The pytest fixtures every app's tests use: a real server on a real database,
a real S3-compatible server, and a headless browser. The root `conftest.py`
registers this module.
"""

from __future__ import annotations

import pytest

from cs_project.testing.database import build_template
from cs_project.testing.server import start_server


@pytest.fixture(scope="session")
def server_template(tmp_path_factory):
    """The migrated template database with the agent pool, made once per session."""
    return build_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def start_chat_server(server_template, tmp_path_factory):
    """Start a fresh server: Daphne, or `server="uvicorn"`; extra environment variables as keywords."""
    servers = []

    def start(server="daphne", **env):
        template, agents = server_template
        started = start_server(
            template,
            agents,
            tmp_path_factory.mktemp("server"),
            {k: str(v) for k, v in env.items()},
            server=server,
        )
        servers.append(started)
        return started

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def chat_server(start_chat_server):
    return start_chat_server()


@pytest.fixture
def unlimited_chat_server(start_chat_server):
    """A server whose per-socket rate limits stay out of the way.

    For tests about the answer to each payload, sent many to a socket in
    quick succession; the limits have tests of their own
    (chat/tests/test_limits_live.py), which a refusal there would only blur.
    """
    return start_chat_server(
        LIMIT_CUSTOMER_EVENTS_BURST="100000", LIMIT_READS_BURST="100000", LIMIT_INTERNAL_BURST="100000"
    )


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real S3-compatible server (moto's) for the session, stopped at its end;
    the test skips, saying why, where it cannot start."""
    from cs_project.testing.s3 import S3Unavailable, start_s3_server

    try:
        server = start_s3_server(tmp_path_factory.mktemp("s3"))
    except S3Unavailable as error:
        pytest.skip(f"no S3-compatible server to test with: {error}")
    yield server
    server.stop()


@pytest.fixture
def media(settings, tmp_path):
    """Uploads stored in a folder of the test's own (returned), not the project's media/."""
    storage = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}}
    settings.STORAGES = {**settings.STORAGES, "default": storage}
    return tmp_path


@pytest.fixture
async def browser():
    """A headless Chromium (Playwright's async API), closed after the test."""
    from playwright.async_api import async_playwright

    from cs_project.testing.browser import ARGS, chromium_or_skip

    path = chromium_or_skip()
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=path, headless=True, args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()
