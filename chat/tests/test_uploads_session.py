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


def test_a_body_that_is_not_a_form_is_invalid_and_keeps_nothing(media):
    ann, _ = agent_create(
        username="ann", password=None, display_name="Ann", capacity=2, skills=[], supervisor=False
    )
    client = Client()
    client.force_login(ann.user)
    broken = client.post(
        "/api/uploads/", b"--x\r\nnot a part", content_type="multipart/form-data; boundary=x"
    )
    not_a_form = client.post("/api/uploads/", b'{"file": "x"}', content_type="application/json")
    two = client.post(
        "/api/uploads/",
        {"file": [SimpleUploadedFile("a.txt", b"a"), SimpleUploadedFile("b.txt", b"b")]},
    )
    other_field = client.post("/api/uploads/", {"attachment": SimpleUploadedFile("a.txt", b"a")})
    for response in (broken, not_a_form, two, other_field):
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == "invalid_payload"
    assert not Attachment.objects.exists()
