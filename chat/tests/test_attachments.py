"""Uploads without a server: kinds by content, names, images cleaned, links,
and files that go with their rows (and only when the deletion commits)."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image

from chat.attachments import images, kinds, links
from chat.errors import TOO_LARGE, UNSUPPORTED_TYPE, ChatError
from chat.models import Attachment, Conversation, ConversationStatus, Message
from chat.services import retention, uploads
from customers.models import Customer


def image_bytes(fmt: str, size=(64, 48), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(out, fmt, **save)
    return out.getvalue()


def stored_files(root) -> list:
    return sorted(p.name for p in root.rglob("*") if p.is_file())


# --- kinds ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("a.png", image_bytes("PNG"), "png"),
        ("a.jpg", image_bytes("JPEG"), "jpeg"),
        ("a.jpeg", image_bytes("JPEG"), "jpeg"),
        ("a.png", image_bytes("JPEG"), "jpeg"),  # an image under another image's name
        ("a.gif", image_bytes("GIF"), "gif"),
        ("a.webp", image_bytes("WEBP"), "webp"),
        ("a.pdf", b"%PDF-1.7\n...", "pdf"),
        ("a.zip", b"PK\x03\x04rest", "zip"),
        ("notes.txt", "héllo\twörld\r\n".encode(), "txt"),
        ("notes", b"no extension, plain text", "txt"),
        ("table.CSV", b"a,b\n1,2\n", "csv"),
        ("evil.png", b"#!/bin/sh\nrm -rf /\n", None),  # text that claims to be an image
        ("page.html", b"<html><script>alert(1)</script></html>", None),
        ("x.svg", b"<svg><script>alert(1)</script></svg>", None),
        ("report.pdf", image_bytes("PNG"), None),  # an image that claims to be a PDF
        ("bin.dat", b"\x00\x01\x02\x03", None),
        ("ctrl.txt", b"bell\x07", None),
        ("latin1.txt", "café".encode("latin-1"), None),
        ("empty.txt", b"", None),
    ],
)
def test_kinds_are_told_by_content_and_a_name_may_not_disagree(name, data, kind):
    found = kinds.detect(data, name)
    assert (found.name if found else None) == kind


def test_page_limits_name_every_accepted_kind(settings):
    settings.UPLOAD_TYPES = ["png", "pdf"]
    limits = kinds.page_limits()
    assert limits["max_bytes"] == settings.UPLOAD_MAX_BYTES
    assert set(limits["accept"].split(",")) == {"image/png", "application/pdf", ".png", ".pdf"}


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("photo.png", "photo.png"),
        ("C:\\Users\\me\\Desktop\\photo.png", "photo.png"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("bad\x00na\x1bme.txt", "badname.txt"),
        ("", "file.txt"),
        (".hidden.txt", "hidden.txt"),
        ("a" * 300 + ".txt", "a" * 196 + ".txt"),
    ],
)
def test_names_lose_their_paths_and_control_characters(raw, clean):
    assert uploads.clean_name(raw, ".txt") == clean


# --- images ------------------------------------------------------------------------------


def test_images_lose_their_metadata_and_stand_upright(settings):
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to show
    exif[0x8825] = {1: "N", 2: (1.0, 2.0, 3.0)}  # GPS
    raw = image_bytes("JPEG", size=(80, 40), exif=exif, comment=b"secret comment")
    done = images.process(raw, kinds.KINDS["jpeg"])
    out = Image.open(io.BytesIO(done.content))
    assert (done.width, done.height) == out.size == (40, 80)
    assert dict(out.getexif()) == {} and "comment" not in out.info
    thumb = Image.open(io.BytesIO(done.thumbnail))
    assert thumb.format == "WEBP" and thumb.size == (40, 80)  # never enlarged
    assert dict(thumb.getexif()) == {}


def test_animations_keep_their_frames():
    frames = [Image.new("RGB", (20, 20), (i * 60, 0, 0)) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=120, loop=0)
    done = images.process(out.getvalue(), kinds.KINDS["gif"])
    assert Image.open(io.BytesIO(done.content)).n_frames == 3


def test_an_image_over_the_pixel_limit_is_refused_before_decoding(settings):
    settings.UPLOAD_MAX_PIXELS = 1000
    with pytest.raises(images.TooManyPixels):
        images.process(image_bytes("PNG", size=(100, 100)), kinds.KINDS["png"])


def test_a_truncated_image_is_not_an_image():
    with pytest.raises(images.NotAnImage):
        images.process(image_bytes("PNG")[:60], kinds.KINDS["png"])


# --- links -------------------------------------------------------------------------------


def _parts(url: str) -> tuple[str, str]:
    query = dict(p.split("=") for p in url.split("?", 1)[1].split("&"))
    return query["e"], query["s"]


def test_links_are_signed_per_attachment_and_part_and_expire(settings):
    settings.ATTACHMENT_URL_MAX_AGE = 3600
    now = time.time()
    e, s = _parts(links.link(7, "file", now))
    assert links.valid(7, "file", e, s)
    assert not links.valid(8, "file", e, s)
    assert not links.valid(7, "thumbnail", e, s)
    assert not links.valid(7, "file", str(int(e) + 1), s)
    assert not links.valid(7, "file", e, None) and not links.valid(7, "file", None, s)
    assert not links.valid(7, "file", "-5", s) and not links.valid(7, "other", e, s)
    assert now + 3600 <= int(e) <= now + 3600 + 900
    old_e, old_s = _parts(links.link(7, "file", now - 10_000))
    assert not links.valid(7, "file", old_e, old_s)
    # Made within one step: the same URL (browsers cache it).
    assert links.link(7, "file", now) == links.link(7, "file", now + 0.5) or int(e) - now < 1


# --- files go with their rows ------------------------------------------------------------


def _upload(customer: Customer, name="a.png", data=None) -> dict:
    file = SimpleUploadedFile(name, data if data is not None else image_bytes("PNG"))
    return uploads.attachment_upload(upload=file, customer_id=customer.id, agent_id=None)


@pytest.mark.django_db(transaction=True)
def test_refused_uploads_store_no_file(media, settings):
    carla = Customer.objects.create(name="Carla")
    settings.UPLOAD_MAX_BYTES = 100
    with pytest.raises(ChatError) as refused:
        _upload(carla, "big.txt", b"a" * 101)
    assert refused.value.code == TOO_LARGE
    settings.UPLOAD_MAX_BYTES = 10_000
    with pytest.raises(ChatError) as refused:
        _upload(carla, "x.png", b"\x89PNG\r\n\x1a\nbroken")
    assert refused.value.code == UNSUPPORTED_TYPE
    settings.UPLOAD_TYPES = ["pdf"]
    with pytest.raises(ChatError) as refused:
        _upload(carla, "fine.png")
    assert refused.value.code == UNSUPPORTED_TYPE
    assert Attachment.objects.count() == 0 and stored_files(media) == []


@pytest.mark.django_db(transaction=True)
def test_unsent_uploads_go_after_their_age_with_their_files(media):
    carla = Customer.objects.create(name="Carla")
    old, recent = _upload(carla), _upload(carla)
    Attachment.objects.filter(id=old["id"]).update(created_at=timezone.now() - timedelta(days=2))
    assert len(stored_files(media)) == 4  # two images, two thumbnails
    gone = uploads.attachments_purge_unsent(older_than=timezone.now() - timedelta(days=1), batch=10)
    assert gone == 1
    assert list(Attachment.objects.values_list("id", flat=True)) == [recent["id"]]
    assert len(stored_files(media)) == 2


@pytest.mark.django_db(transaction=True)
def test_a_purged_conversation_takes_its_files_and_a_rollback_keeps_them(media):
    carla = Customer.objects.create(name="Carla")
    ended = Conversation.objects.create(
        customer=carla, status=ConversationStatus.ENDED, ended_at=timezone.now() - timedelta(days=400)
    )
    message = Message.objects.create(
        conversation=ended, sender="customer", sender_name="Carla", text="", created_at=timezone.now()
    )
    sent = _upload(carla)
    Attachment.objects.filter(id=sent["id"]).update(message=message)
    assert len(stored_files(media)) == 2

    with pytest.raises(RuntimeError), transaction.atomic():
        Message.objects.filter(id=message.id).delete()
        raise RuntimeError("rolled back")
    assert Attachment.objects.filter(id=sent["id"]).exists() and len(stored_files(media)) == 2

    retention.conversations_purge(older_than=retention.retention_cutoff(30), batch=100)
    assert not Attachment.objects.exists() and stored_files(media) == []
