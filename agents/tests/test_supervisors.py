"""Who is a supervisor, and what the Supervisors group lets them do in admin."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from agents.services import agent_create
from agents.supervisors import GROUP, SUPERVISOR_PERMISSIONS, can_see_reports, can_see_wallboard

pytestmark = pytest.mark.django_db


def make(username: str, supervisor: bool):
    profile, _token = agent_create(
        username=username,
        password=f"{username}-pw-1",
        display_name=username,
        capacity=2,
        skills=[],
        supervisor=supervisor,
    )
    return profile.user


def test_the_migration_gives_the_group_exactly_its_rights():
    group = Group.objects.get(name=GROUP)
    held = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert held == SUPERVISOR_PERMISSIONS
    # Nothing on users, groups or permissions: no way to make oneself a superuser.
    assert not any(app == "auth" for app, _ in held)
    assert not any(codename.startswith("delete_") for app, codename in held if app != "axes")


def test_a_supervisor_is_staff_in_the_group_and_never_a_superuser():
    sue = make("sue", supervisor=True)
    assert (sue.is_staff, sue.is_superuser) == (True, False)
    assert list(sue.groups.values_list("name", flat=True)) == [GROUP]
    assert can_see_wallboard(sue) and can_see_reports(sue)
    ann = make("ann", supervisor=False)
    assert (ann.is_staff, ann.is_superuser, ann.groups.count()) == (False, False, 0)
    assert not can_see_wallboard(ann) and not can_see_reports(ann)


def test_a_deleted_group_is_made_again_with_its_rights():
    Group.objects.filter(name=GROUP).delete()
    sue = make("sue", supervisor=True)
    held = set(sue.groups.get().permissions.values_list("content_type__app_label", "codename"))
    assert held == SUPERVISOR_PERMISSIONS


def test_an_agent_and_an_anonymous_visitor_cannot_enter_admin(client):
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    client.force_login(make("ann", supervisor=False))
    for path in ("/admin/", "/admin/chat/conversation/", "/admin/agents/agentprofile/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), path


def test_a_supervisor_reads_and_acts_but_cannot_touch_users(client):
    client.force_login(make("sue", supervisor=True))
    for path in (
        "/admin/",
        "/admin/chat/conversation/",
        "/admin/chat/livequeue/",
        "/admin/chat/message/",
        "/admin/agents/agentprofile/",
        "/admin/agents/supervisoraction/",
        "/admin/customers/customer/",
        "/admin/axes/accessattempt/",
    ):
        assert client.get(path).status_code == 200, path
    for path in ("/admin/auth/user/", "/admin/auth/group/", "/admin/auth/user/1/change/"):
        assert client.get(path).status_code == 403, path
    actions = client.get("/admin/chat/conversation/").context["action_form"].fields["action"].choices
    assert {"close", "return_to_queue"} <= {name for name, _ in actions}
    agent_actions = client.get("/admin/agents/agentprofile/").context["action_form"].fields["action"].choices
    assert "deactivate" not in {name for name, _ in agent_actions}


def test_a_superuser_may_deactivate_agents(client):
    admin = get_user_model().objects.create_superuser("root", password="root-pw-1")
    client.force_login(admin)
    agent_actions = client.get("/admin/agents/agentprofile/").context["action_form"].fields["action"].choices
    assert "deactivate" in {name for name, _ in agent_actions}
