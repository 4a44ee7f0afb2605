"""Supervisors for the live tests: made in the server's database by the real
service (`agent_create(..., supervisor=True)`), and signed in to admin over
HTTP as a browser would be (the login form, its CSRF token, the session cookie).
"""

from __future__ import annotations

import json
import re
import subprocess

import aiohttp

from cs_project.testing.server import PYTHON, ROOT, LiveServer, base_env

_CREATE_SUPERVISOR = """
import json, sys
import django
django.setup()
from agents.services import agent_create
spec = json.load(sys.stdin)
profile, _token = agent_create(**spec, capacity=2, skills=[], supervisor=True)
print(json.dumps({"id": profile.id, "user_id": profile.user_id}))
"""


def create_supervisor(server: LiveServer, username: str, display_name: str | None = None) -> dict:
    """A supervisor in `server`'s database, password `<username>-pass`; returns {"id", "user_id"}."""
    out = subprocess.run(
        [PYTHON, "-c", _CREATE_SUPERVISOR],
        cwd=ROOT,
        env=base_env(server.db_path),
        input=json.dumps(
            {
                "username": username,
                "password": f"{username}-pass",
                "display_name": display_name or username.title(),
            }
        ),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


class AdminSession:
    """An HTTP session signed in to admin; `post` sends a wallboard action as htmx does."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        # unsafe: keep cookies from an IP address (the test server is 127.0.0.1).
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def sign_in(self, username: str, password: str | None = None) -> AdminSession:
        async with self.http.get(self.server.url + "/admin/login/") as response:
            form = await response.text()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        data = {
            "username": username,
            "password": password or f"{username}-pass",
            "csrfmiddlewaretoken": token,
            "next": "/admin/",
        }
        async with self.http.post(self.server.url + "/admin/login/?next=/admin/", data=data) as response:
            assert response.status == 200 and response.url.path == "/admin/", response.url
        return self

    def _csrf(self) -> str:
        return next(c.value for c in self.http.cookie_jar if c.key == "csrftoken")

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.server.url + path, allow_redirects=False) as response:
            return response.status, await response.text()

    async def post(self, path: str, data: dict) -> tuple[int, str]:
        headers = {"X-CSRFToken": self._csrf(), "HX-Request": "true"}
        async with self.http.post(
            self.server.url + path, data=data, headers=headers, allow_redirects=False
        ) as response:
            return response.status, await response.text()

    async def close(self) -> None:
        await self.http.close()
