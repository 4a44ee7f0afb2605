"""Attachments in an S3-compatible bucket, by settings alone: a real S3 server
(moto's, over HTTP), and the chat server pointed at it with FILE_STORAGE and
FILE_STORAGE_OPTIONS only. Uploads land in the bucket and nowhere on disk,
downloads come through the chat server's signed links, and what the server
deletes leaves the bucket."""

from __future__ import annotations

import asyncio
import io
import os
import uuid

import pytest
from PIL import Image

from chat.tests.test_attachments_live import (
    attachments_kept,
    chat,
    download,
    files_kept,
    pdf_bytes,
    png_bytes,
    upload,
)
from cs_project.testing.clients import customer

pytestmark = pytest.mark.live


@pytest.fixture
def bucket(s3_server, monkeypatch):
    """A new, empty bucket; and no AWS_* variable in the chat server's environment,
    so that what it reaches the bucket with is FILE_STORAGE_OPTIONS alone."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    return s3_server.create_bucket(f"chat-files-{uuid.uuid4().hex[:12]}")


def s3_settings(s3_server, bucket: str, **extra) -> dict:
    return {
        "FILE_STORAGE": "storages.backends.s3.S3Storage",
        "FILE_STORAGE_OPTIONS": s3_server.storage_options(bucket),
        **extra,
    }


def stored(s3_server, bucket: str, key: str) -> bytes:
    return s3_server.client().get_object(Bucket=bucket, Key=key)["Body"].read()


async def test_an_image_and_a_file_go_to_the_bucket_and_come_back_through_signed_links(
    start_chat_server, s3_server, bucket
):
    server = start_chat_server(**s3_settings(s3_server, bucket))
    ann, carla, join = await chat(server)

    status, body = await upload(server, "screen.png", png_bytes((800, 600)), token=join["token"])
    assert status == 201, body
    a = body["attachment"]
    (row,) = attachments_kept(server)
    _id, _message_id, file_key, thumbnail_key = row
    assert file_key.startswith("attachments/") and file_key.endswith(".png")
    assert thumbnail_key.endswith("-thumb.webp")
    assert s3_server.keys(bucket) == sorted([file_key, thumbnail_key])

    sent = await carla.call("customer:message", {"text": "", "client_id": "s3-1", "attachment_id": a["id"]})
    assert sent["ok"], sent
    got = await ann.wait_for("customer:message", lambda m: m["id"] == sent["message"]["id"])

    status, headers, data = await download(server, got["attachment"]["url"])
    assert status == 200, data[:500]
    assert headers["Content-Type"] == "image/png"
    assert headers["Content-Disposition"].startswith("inline")
    assert data == stored(s3_server, bucket, file_key) and len(data) == a["size"]
    assert Image.open(io.BytesIO(data)).size == (800, 600)

    status, headers, data = await download(server, got["attachment"]["thumbnail_url"])
    assert status == 200, data[:500]
    assert headers["Content-Type"] == "image/webp"
    assert data == stored(s3_server, bucket, thumbnail_key)
    assert max(Image.open(io.BytesIO(data)).size) == 320

    # A file of many download chunks (chat.views.CHUNK), over what S3Storage reads
    # into memory (cs_project.settings), comes back whole, as a download.
    big_pdf = pdf_bytes() + b"%" + os.urandom(1_500_000).hex().encode() + b"\n%%EOF\n"
    status, body = await upload(server, "report.pdf", big_pdf, token=server.agents["ann"]["token"])
    assert status == 201, body
    status, headers, data = await download(server, body["attachment"]["url"])
    assert status == 200 and data == big_pdf
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"].startswith("attachment")
    assert len(s3_server.keys(bucket)) == 3

    # Nothing was written to the local media folder.
    assert files_kept(server) == []
    assert not (server.db_path.parent / "media").exists()


async def test_a_file_missing_from_the_bucket_is_not_found(start_chat_server, s3_server, bucket):
    server = start_chat_server(**s3_settings(s3_server, bucket))
    _carla, join = await customer(server, "Carla")
    status, body = await upload(server, "notes.txt", b"kept for a while", token=join["token"])
    assert status == 201, body
    (key,) = s3_server.keys(bucket)
    s3_server.client().delete_object(Bucket=bucket, Key=key)
    status, headers, data = await download(server, body["attachment"]["url"])
    assert status == 404, (status, data[:500])
    assert headers["Content-Type"] == "application/json"


async def test_an_unsent_upload_swept_by_the_server_leaves_the_bucket(start_chat_server, s3_server, bucket):
    server = start_chat_server(
        **s3_settings(s3_server, bucket), UPLOAD_UNSENT_MAX_AGE="1", RETENTION_INTERVAL_SECONDS="0.5"
    )
    # The first socket starts the server's sweeper.
    _carla, join = await customer(server, "Carla")
    status, body = await upload(server, "never-sent.png", png_bytes(), token=join["token"])
    assert status == 201, body
    assert len(s3_server.keys(bucket)) == 2

    for _ in range(75):  # 15 s at most
        if not attachments_kept(server) and not s3_server.keys(bucket):
            break
        await asyncio.sleep(0.2)
    assert attachments_kept(server) == []
    assert s3_server.keys(bucket) == [], server.log()[-3000:]
    assert (await download(server, body["attachment"]["url"]))[0] == 404
    assert files_kept(server) == []
