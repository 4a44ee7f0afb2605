"""The deployment, for real: nginx with deploy/nginx/chat.conf in front of two
deploy/serve processes on PostgreSQL and Redis, in production mode (DEBUG
off, HTTPS only, SERVE_STATIC=0).

The site file is rendered by deploy/nginx/render, as an operator does, with
this test's ports and paths; nginx runs as this user with its own prefix,
pid and logs in a temporary directory, behind a self-signed certificate the
clients trust. The servers run as the systemd units run them: one
`deploy/serve --prepare`, then `deploy/serve --skip-prepare` per port.

- a customer and an agent on different processes chat through
  wss://localhost over WebSocket (upgraded from polling, as browsers do)
  and over long-polling only: every request of a session reaches one
  process (the sticky cookie), which polling cannot work without;
- pages and static files come over HTTP/2 with one HSTS header, static
  files from STATIC_ROOT (not from the application), and the Socket.IO
  origin check passes for the site's own origin (Host and
  X-Forwarded-Proto reach the application);
- http:// redirects to https://, except certbot's challenge directory;
- uploads: a body at the application's limit reaches it, one byte more
  gets nginx's 413 from its Content-Length alone (never a 502).
"""

from __future__ import annotations

import http.client
import json
import secrets
import shutil
import subprocess

import aiohttp
import pytest
import socketio

from cs_project.testing.deployment import HOST, Deployment, Tab, deployed, open_tab
from cs_project.testing.waits import eventually

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    with deployed(tmp_path_factory.mktemp("deploy")) as running:
        yield running


async def _upstream(deployment: Deployment, tab: Tab) -> str:
    """The process nginx sent `tab`'s handshake to, read from the access log by its route."""
    route = tab.route()
    lines = await eventually(
        lambda: [line for line in deployment.log_lines() if line["route"] == route],
        what=f"an access log line for route {route}",
    )
    assert lines[0]["upstream"] in deployment.upstreams, lines
    return lines[0]["upstream"]


async def _open_on_another_process(deployment, namespace, transports, other: str) -> tuple[Tab, str]:
    """A tab whose session lives on a process other than `other`.

    Each new browser (no cookie) lands on a process at random; one in two
    does. Twenty tries all missing would be one in a million.
    """
    for _ in range(20):
        tab = await open_tab(deployment, namespace, transports)
        upstream = await _upstream(deployment, tab)
        if upstream != other:
            return tab, upstream
        await tab.close()
    raise AssertionError(f"every new session went to {other}: the upstream is not balanced")


@pytest.mark.parametrize(
    ("transports", "expected", "username"),
    [(None, "websocket", "ann"), (["polling"], "polling", "ben")],
    ids=["websocket-upgrade", "polling-only"],
)
async def test_customer_and_agent_on_two_processes_chat_through_nginx(
    deployment, transports, expected, username
):
    agent = await open_tab(
        deployment, "/agent", transports, auth={"token": deployment.agents[username]["token"]}
    )
    tabs = [agent]
    try:
        login = await agent.client.call("agent:login", {})
        assert login["ok"], login
        agent_upstream = await _upstream(deployment, agent)
        customer, customer_upstream = await _open_on_another_process(
            deployment, "/customer", transports, agent_upstream
        )
        tabs.append(customer)
        for tab in tabs:
            assert tab.client.sio.transport() == expected

        join = await customer.client.call("customer:join", {"name": "Carla"})
        assert join["ok"], join
        assert join["conversation"]["status"] == "active", join
        assert join["conversation"]["agent"]["name"] == username.title()
        conversation_id = join["conversation"]["id"]

        sent = await customer.client.call("customer:message", {"text": "through nginx", "client_id": "n-1"})
        assert sent["ok"], sent
        got = await agent.client.wait_for("customer:message", lambda m: m.get("client_id") == "n-1")
        assert got["id"] == sent["message"]["id"] and got["text"] == "through nginx"
        reply = await agent.client.call(
            "agent:message", {"conversation_id": conversation_id, "text": "and back", "client_id": "r-1"}
        )
        assert reply["ok"], reply
        back = await customer.client.wait_for("agent:message", lambda m: m["text"] == "and back")
        assert back["id"] == reply["message"]["id"]

        # Sticky: every request each session made went to its one process.
        for tab, upstream in ((agent, agent_upstream), (customer, customer_upstream)):
            route = tab.route()
            lines = [line for line in deployment.log_lines() if line["route"] == route]
            if expected == "polling":
                sid = tab.client.sio.eio.sid
                assert sum(f"sid={sid}" in line["request"] for line in lines) >= 2, lines
            assert {line["upstream"] for line in lines} == {upstream}, lines

        ended = await agent.client.call("session:end", {"conversation_id": conversation_id})
        assert ended["ok"], ended
        offline = await agent.client.call("agent:status", {"status": "offline"})
        assert offline["ok"], offline
    finally:
        for tab in tabs:
            await tab.close()

    if expected == "websocket":
        # The upgrade request (logged once the WebSocket closes) carried the
        # session's id and the cookie: it reached the same process too.
        route = customer.route()
        upgraded = await eventually(
            lambda: [
                line for line in deployment.log_lines() if line["route"] == route and line["status"] == "101"
            ],
            what="the customer's WebSocket in the access log",
        )
        assert [line["upstream"] for line in upgraded] == [customer_upstream], upgraded


def _curl(deployment: Deployment, path: str, *extra: str) -> tuple[str, dict[str, list[str]], bytes]:
    """GET https://localhost:port/path over HTTP/2 with curl: (http version, headers, body)."""
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed (it checks HTTP/2)")
    out = subprocess.run(
        [curl, "--silent", "--show-error", "--http2", "--cacert", str(deployment.cert), "--include",
         "--write-out", "\n%{http_version}", *extra, f"{deployment.origin}{path}"],
        capture_output=True, check=True, timeout=30,
    )  # fmt: skip
    raw, _, version = out.stdout.rpartition(b"\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    headers: dict[str, list[str]] = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        key, _, value = line.partition(":")
        headers.setdefault(key.strip().lower(), []).append(value.strip())
    status = head.split(b" ", 2)[1].decode()
    headers[":status"] = [status]
    return version.decode(), headers, body


def test_pages_and_static_files_come_over_https_and_http2(deployment):
    version, headers, body = _curl(deployment, "/")
    assert (version, headers[":status"]) == ("2", ["200"]), headers
    # Django saw https (else SECURE_SSL_REDIRECT would answer 301) and sent
    # its HSTS; nginx added none of its own.
    assert headers["strict-transport-security"] == ["max-age=31536000; includeSubDomains; preload"]
    assert b"<html" in body.lower()
    assert "cs_route" not in " ".join(headers.get("set-cookie", []))  # pages are not sticky

    # Socket.IO's handshake: nginx's HSTS (engineio sends none) and the route cookie.
    version, headers, body = _curl(deployment, "/socket.io/?EIO=4&transport=polling")
    assert (version, headers[":status"]) == ("2", ["200"]), headers
    assert headers["strict-transport-security"] == ["max-age=31536000; includeSubDomains; preload"]
    (cookie,) = [c for c in headers["set-cookie"] if c.startswith("cs_route=")]
    assert cookie.endswith("; Path=/socket.io/; Secure; HttpOnly; SameSite=Lax"), cookie
    assert body.startswith(b"0{"), body

    collected = deployment.static_root / "js" / "customer.js"
    version, headers, body = _curl(deployment, "/static/js/customer.js")
    assert (version, headers[":status"]) == ("2", ["200"]), headers
    assert body == collected.read_bytes()
    assert headers["strict-transport-security"] == ["max-age=31536000; includeSubDomains; preload"]
    assert "content-security-policy" not in headers  # nginx's answer, not the application's
    # The processes themselves do not serve it (SERVE_STATIC=0): nginx read STATIC_ROOT.
    direct = http.client.HTTPConnection(*deployment.upstreams[0].split(":"), timeout=10)
    direct.request("GET", "/static/js/customer.js", headers={"Host": HOST, "X-Forwarded-Proto": "https"})
    assert direct.getresponse().status == 404
    direct.close()

    version, headers, _ = _curl(deployment, "/static/js/no-such-file.js")
    assert headers[":status"] == ["404"]


def test_http_redirects_to_https_except_certbots_challenges(deployment):
    plain = http.client.HTTPConnection("127.0.0.1", deployment.http, timeout=10)
    plain.request("GET", "/console/?x=1", headers={"Host": HOST})
    response = plain.getresponse()
    assert response.status == 301
    assert response.getheader("Location") == f"https://{HOST}:{deployment.https}/console/?x=1"
    response.read()

    token = secrets.token_urlsafe(16)
    (deployment.acme_root / ".well-known" / "acme-challenge" / token).write_text("proof")
    plain.request("GET", f"/.well-known/acme-challenge/{token}", headers={"Host": HOST})
    response = plain.getresponse()
    assert (response.status, response.read()) == (200, b"proof")
    plain.close()


def _post_length(deployment: Deployment, length: int, body: bytes = b"") -> tuple[int, bytes]:
    """POST /api/uploads/ announcing `length` bytes, sending `body`; nginx's or the app's answer."""
    conn = http.client.HTTPSConnection(HOST, deployment.https, context=deployment.ssl, timeout=30)
    try:
        conn.putrequest("POST", "/api/uploads/")
        conn.putheader("Content-Type", "multipart/form-data; boundary=x")
        conn.putheader("Content-Length", str(length))
        conn.endheaders()
        if body:
            conn.send(body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_nginx_refuses_exactly_the_uploads_the_application_would_refuse_unread(deployment):
    from django.conf import settings

    from cs_project.upload_limit import FRAMING_BYTES

    threshold = settings.UPLOAD_MAX_BYTES + FRAMING_BYTES  # the servers run with the default
    # At the threshold the body reaches the application (which answers, in
    # JSON: here, that the request carries no file it can read).
    status, body = _post_length(deployment, threshold, b"\0" * threshold)
    assert status != 413 and status < 500, (status, body)
    assert json.loads(body)["ok"] is False, body
    # One byte over: nginx refuses from the header, before any body is sent.
    status, body = _post_length(deployment, threshold + 1)
    assert status == 413 and b"nginx" in body, body


async def test_an_unknown_origin_is_refused_through_nginx(deployment):
    """The origin check still works behind the proxy: the site's own origin passes above, another not."""
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=deployment.ssl))
    sio = socketio.AsyncClient(reconnection=False, http_session=http)
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sio.connect(
                deployment.origin,
                namespaces=["/customer"],
                headers={"Origin": "https://evil.example"},
                transports=["websocket"],
                wait_timeout=10,
            )
    finally:
        await sio.disconnect()
        await http.close()
