"""Admin transcripts show attachments: a thumbnail that opens the image, a file
as its name and size; both links work for the supervisor reading them."""

from __future__ import annotations

import io
import re
from html import unescape

import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from agents.services import agent_create
from chat.models import Attachment, Conversation, ConversationStatus, Message, Sender
from chat.services import uploads
from customers.models import Customer

pytestmark = pytest.mark.django_db(transaction=True)


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 200), (0, 90, 200)).save(out, "PNG")
    return out.getvalue()


def sent(conversation, customer, name: str, data: bytes) -> Message:
    shape = uploads.attachment_upload(
        upload=SimpleUploadedFile(name, data), customer_id=customer.id, agent_id=None
    )
    message = Message.objects.create(
        conversation=conversation,
        sender=Sender.CUSTOMER,
        sender_name=customer.name,
        text="",
        created_at=timezone.now(),
    )
    Attachment.objects.filter(id=shape["id"]).update(message=message)
    return message


async def body(response) -> bytes:
    return b"".join([chunk async for chunk in response.streaming_content])


def test_a_transcript_shows_thumbnails_and_files_whose_links_work(client, media):
    sue, _ = agent_create(
        username="sue", password="pw-sue-1", display_name="Sue", capacity=2, skills=[], supervisor=True
    )
    client.force_login(sue.user)
    carla = Customer.objects.create(name="Carla")
    conversation = Conversation.objects.create(
        customer=carla, status=ConversationStatus.ENDED, ended_at=timezone.now()
    )
    sent(conversation, carla, "screen.png", png())
    sent(conversation, carla, "order.csv", b"item,count\nmug,2\n")

    html = client.get(f"/admin/chat/conversation/{conversation.id}/change/").content.decode()
    thumb = re.search(r'<img src="([^"]+)" alt="screen.png"', html)
    image_link = re.search(r'<a href="([^"]+)" target="_blank" rel="noopener"><img', html)
    file_link = re.search(r'<a href="([^"]+)">order.csv</a> \(([^)]+)\)', html)
    assert thumb and image_link and file_link, html
    assert file_link.group(2) == "17\xa0bytes"

    got = client.get(unescape(thumb.group(1)))
    assert got.status_code == 200 and got["Content-Type"] == "image/webp"
    got = client.get(unescape(image_link.group(1)))
    assert got.status_code == 200 and got["Content-Type"] == "image/png"
    got = client.get(unescape(file_link.group(1)))
    assert got.status_code == 200 and got["Content-Type"] == "text/csv; charset=utf-8"
    assert got["Content-Disposition"].startswith("attachment")
    assert async_to_sync(body)(got) == b"item,count\nmug,2\n"

    listing = client.get("/admin/chat/attachment/").content.decode()
    assert "screen.png" in listing and "order.csv" in listing
