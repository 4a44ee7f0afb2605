"""The wallboard's rights and refusals, through Django's test client on a real database.

What it shows live, and what its actions do to connected customers and
agents, is tested against a real server: test_wallboard_live.py and
test_wallboard_browser.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from agents.models import AgentProfile, AgentStatus, SupervisorAction
from agents.services import agent_create
from chat.models import Conversation, ConversationStatus, EndReason
from chat.wallboard.selectors import local_day
from customers.models import Customer

pytestmark = pytest.mark.django_db

PAGE = "/admin/wallboard/"
BOARD = "/admin/wallboard/board/"


def make_agent(username: str, *, supervisor: bool) -> AgentProfile:
    profile, _token = agent_create(
        username=username,
        password=f"{username}-pw-1",
        display_name=username.title(),
        capacity=2,
        skills=[],
        supervisor=supervisor,
    )
    return profile


def staff(username: str, *rights: str):
    user = get_user_model().objects.create_user(username, password=f"{username}-pw-1", is_staff=True)
    for right in rights:
        app_label, codename = right.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return get_user_model().objects.get(id=user.id)  # permissions are cached per instance


def conversation(status: str = ConversationStatus.ACTIVE, agent: AgentProfile | None = None) -> Conversation:
    customer = Customer.objects.create(name="Carla")
    return Conversation.objects.create(
        customer=customer,
        status=status,
        agent=agent,
        queue_order=1 if status == ConversationStatus.QUEUED else None,
        end_reason=EndReason.AGENT_ENDED if status == ConversationStatus.ENDED else None,
    )


def state():
    return (
        list(Conversation.objects.order_by("id").values_list("id", "status", "agent_id", "end_reason")),
        list(AgentProfile.objects.order_by("id").values_list("id", "status")),
        SupervisorAction.objects.count(),
    )


def htmx_post(client, path: str, data: dict):
    return client.post(path, data, headers={"HX-Request": "true"})


def test_anonymous_visitors_and_agents_are_sent_to_the_admin_login(client):
    for path in (PAGE, BOARD):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), path
    client.force_login(make_agent("ann", supervisor=False).user)
    for path in (PAGE, BOARD):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), path
    response = htmx_post(client, "/admin/wallboard/close/", {"conversation_id": "1"})
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_staff_without_the_right_get_403_and_no_link(client):
    client.force_login(staff("stan", "chat.change_conversation", "agents.change_agentprofile"))
    assert client.get(PAGE).status_code == 403
    assert client.get(BOARD).status_code == 403
    c = conversation(ConversationStatus.QUEUED)
    before = state()
    assert htmx_post(client, "/admin/wallboard/close/", {"conversation_id": c.id}).status_code == 403
    assert state() == before
    assert b'id="wallboard-link"' not in client.get("/admin/").content


def test_a_supervisor_sees_the_page_the_board_and_the_link(client):
    sue = make_agent("sue", supervisor=True)
    ann = make_agent("ann", supervisor=False)
    held = conversation(agent=ann)
    waiting = conversation(ConversationStatus.QUEUED)
    client.force_login(sue.user)
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'hx-trigger="every 3s"' in html and "js/wallboard.js" in html
    assert f'data-agent-id="{ann.id}"' in html and f'data-conversation-id="{held.id}"' in html
    assert f'<tr data-conversation-id="{waiting.id}">' in html
    board = client.get(BOARD)
    assert board.status_code == 200 and board.content.decode().startswith('<div id="wallboard"')
    assert b'id="wallboard-link"' in client.get("/admin/").content
    # No inline script or style (the Content-Security-Policy refuses them).
    assert "<script>" not in html and "<style" not in html and " style=" not in html


def test_viewing_is_not_acting_without_the_change_rights(client):
    viewer = staff("vic", "agents.view_wallboard")
    ann = make_agent("ann", supervisor=False)
    c = conversation(agent=ann)
    client.force_login(viewer)
    assert client.get(PAGE).status_code == 200
    html = client.get(BOARD).content.decode()
    assert "wallboard/reassign/" not in html and "wallboard/set-offline/" not in html
    before = state()
    for path, data in (
        ("/admin/wallboard/reassign/", {"conversation_id": c.id, "agent_id": ann.id}),
        ("/admin/wallboard/requeue/", {"conversation_id": c.id}),
        ("/admin/wallboard/close/", {"conversation_id": c.id}),
        ("/admin/wallboard/set-offline/", {"agent_id": ann.id}),
    ):
        response = htmx_post(client, path, data)
        assert response.status_code == 403, path
        assert "You do not have the right to do that." in response.content.decode(), path
    assert state() == before
    # With the conversations' right only, agents still cannot be set offline.
    client.force_login(staff("val", "agents.view_wallboard", "chat.change_conversation"))
    assert htmx_post(client, "/admin/wallboard/set-offline/", {"agent_id": ann.id}).status_code == 403
    assert state() == before


def test_bad_input_is_refused_with_a_message_and_changes_nothing(client):
    sue = make_agent("sue", supervisor=True)
    ann = make_agent("ann", supervisor=False)
    ben = make_agent("ben", supervisor=False)
    active = conversation(agent=ann)
    ended = conversation(ConversationStatus.ENDED, agent=ann)
    AgentProfile.objects.filter(id=ben.id).update(status=AgentStatus.OFFLINE)
    # Connected (as a socket would count it) and at capacity, 2 of 2.
    cat = make_agent("cat", supervisor=False)
    AgentProfile.objects.filter(id=cat.id).update(sockets=1)
    for _ in range(2):
        conversation(agent=cat)
    waiting = conversation(ConversationStatus.QUEUED)
    client.force_login(sue.user)
    before = state()
    cases = [
        ("/admin/wallboard/close/", {}, 400, "That request is incomplete or malformed."),
        (
            "/admin/wallboard/close/",
            {"conversation_id": "x"},
            400,
            "That request is incomplete or malformed.",
        ),
        ("/admin/wallboard/close/", {"conversation_id": "999999"}, 404, "No such conversation."),
        (
            "/admin/wallboard/close/",
            {"conversation_id": ended.id},
            409,
            "The conversation has already ended.",
        ),
        (
            "/admin/wallboard/requeue/",
            {"conversation_id": ended.id},
            409,
            "The conversation has already ended.",
        ),
        (
            "/admin/wallboard/reassign/",
            {"conversation_id": active.id, "agent_id": "999999"},
            404,
            "No such agent.",
        ),
        (
            "/admin/wallboard/reassign/",
            {"conversation_id": active.id, "agent_id": ben.id},
            409,
            "That agent is offline or not connected.",
        ),
        (
            # Online but without a socket: not connected.
            "/admin/wallboard/reassign/",
            {"conversation_id": active.id, "agent_id": sue.id},
            409,
            "That agent is offline or not connected.",
        ),
        (
            "/admin/wallboard/reassign/",
            {"conversation_id": active.id, "agent_id": ann.id},
            409,
            "The conversation is already with that agent.",
        ),
        (
            "/admin/wallboard/reassign/",
            {"conversation_id": waiting.id, "agent_id": cat.id},
            409,
            "That agent is at capacity.",
        ),
        (
            "/admin/wallboard/requeue/",
            {"conversation_id": waiting.id},
            409,
            "Only active conversations can be returned to the queue.",
        ),
        (
            "/admin/wallboard/reassign/",
            {"conversation_id": active.id},
            400,
            "That request is incomplete or malformed.",
        ),
        ("/admin/wallboard/set-offline/", {"agent_id": "999999"}, 404, "No such agent."),
        ("/admin/wallboard/set-offline/", {"agent_id": ben.id}, 409, "That agent is already offline."),
    ]
    for path, data, status, message in cases:
        response = htmx_post(client, path, data)
        assert response.status_code == status, (path, data, response.status_code)
        html = response.content.decode()
        assert message in html and 'hx-swap-oob="true"' in html and '<div id="wallboard"' in html, (
            path,
            data,
        )
    assert client.get("/admin/wallboard/close/").status_code == 405
    assert state() == before


def test_without_htmx_an_action_goes_back_to_the_page_with_its_message(client):
    client.force_login(make_agent("sue", supervisor=True).user)
    response = client.post("/admin/wallboard/close/", {"conversation_id": "999999"}, follow=True)
    assert response.redirect_chain == [(PAGE, 302)]
    assert "No such conversation." in response.content.decode()


def test_today_is_the_local_day(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    since, until = local_day(datetime(2026, 12, 3, 17, 30, tzinfo=UTC))  # 01:30 on the 4th in Shanghai
    assert since == datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    assert until == datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
