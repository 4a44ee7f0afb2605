"""The console uploads with its session: the CSRF header is required, and only agents may."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from agents.services import agent_create
from chat.models import Attachment

pytestmark = pytest.mark.django_db(transaction=True)


def post(client: Client, **headers):
    return client.post("/api/uploads/", {"file": SimpleUploadedFile("notes.txt", b"hello")}, headers=headers)


def test_a_signed_in_agent_uploads_with_the_csrf_header_only(media):
    ann, _ = agent_create(
        username="ann", password="pw-ann-1", display_name="Ann", capacity=2, skills=[], supervisor=False
    )
    client = Client(enforce_csrf_checks=True)
    client.force_login(ann.user)
    assert client.get("/console/").status_code == 200
    token = client.cookies["csrftoken"].value

    refused = post(client)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert not Attachment.objects.exists()

    made = post(client, X_CSRFToken=token)
    assert made.status_code == 201, made.content
    assert Attachment.objects.get().agent_id == ann.id


def test_a_user_who_is_not_an_agent_may_not_upload(media):
    someone = User.objects.create_user("visitor", password="pw-visitor-1")
    client = Client()
    client.force_login(someone)
    refused = post(client)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"


def test_only_post_is_answered(client):
    assert client.get("/api/uploads/").status_code == 405
