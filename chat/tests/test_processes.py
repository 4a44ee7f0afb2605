"""Server processes in the database: what is taken back from one that stopped,
and the read-only list admin shows (the live behaviour is in
test_process_death_live.py and cs_project/tests/test_rolling_restart_live.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from agents.models import AgentProfile
from agents.services import agent_create
from chat import outbox
from chat.models import ProcessAgentSockets, ServerProcess
from chat.services import presence, processes

pytestmark = pytest.mark.django_db


def _agent(username: str) -> int:
    profile, _ = agent_create(
        username=username,
        display_name=username.title(),
        capacity=2,
        password=None,
        skills=(),
        supervisor=False,
    )
    return profile.id


def run(service, **kwargs):
    """The service's result, its events collected as the server does (and dropped)."""
    with outbox.collecting():
        return service(**kwargs)


def _sockets(agent_id: int) -> int:
    return AgentProfile.objects.get(id=agent_id).sockets


def test_a_silent_process_gives_back_exactly_what_it_counted():
    ann, ben = _agent("ann"), _agent("ben")
    for process in ("one", "two"):
        run(processes.process_register, process_id=process, host="h", pid=1)
    run(presence.agent_login, agent_id=ann, new_socket=True, process_id="one")
    run(presence.agent_login, agent_id=ann, new_socket=True, process_id="one")
    run(presence.agent_login, agent_id=ann, new_socket=True, process_id="two")
    run(presence.agent_login, agent_id=ben, new_socket=True, process_id="one")
    assert (_sockets(ann), _sockets(ben)) == (3, 1)

    silent_since = timezone.now() - timedelta(minutes=1)
    ServerProcess.objects.filter(id="one").update(heartbeat_at=silent_since)
    assert run(processes.processes_expire_silent, timeout_seconds=30) == ["one"]
    assert (_sockets(ann), _sockets(ben)) == (1, 0)
    # Ben's grace period runs from the dead process's last heartbeat.
    assert AgentProfile.objects.get(id=ben).last_disconnect_at == silent_since
    assert AgentProfile.objects.get(id=ann).last_disconnect_at is None
    assert list(ServerProcess.objects.values_list("id", flat=True)) == ["two"]
    # A socket of the dead process closing late takes nothing from "two".
    run(presence.agent_socket_closed, agent_id=ann, process_id="one")
    assert _sockets(ann) == 1
    assert run(processes.processes_expire_silent, timeout_seconds=30) == []


def test_a_process_taken_for_dead_learns_it_at_its_next_heartbeat():
    run(processes.process_register, process_id="one", host="h", pid=7)
    assert run(processes.process_heartbeat, process_id="one", host="h", pid=7) is True
    ServerProcess.objects.filter(id="one").delete()
    assert run(processes.process_heartbeat, process_id="one", host="h", pid=7) is False
    assert run(processes.process_heartbeat, process_id="one", host="h", pid=7) is True
    # A login after the others took it for dead makes a row it did not write.
    ann = _agent("ann")
    ServerProcess.objects.filter(id="one").delete()
    run(presence.agent_login, agent_id=ann, new_socket=True, process_id="one")
    assert run(processes.process_heartbeat, process_id="one", host="h", pid=7) is False
    assert ProcessAgentSockets.objects.get(process_id="one", agent_id=ann).sockets == 1


def test_unregistering_gives_every_socket_back_at_once():
    ann = _agent("ann")
    run(processes.process_register, process_id="one", host="h", pid=1)
    run(presence.agent_login, agent_id=ann, new_socket=True, process_id="one")
    run(processes.process_unregister, process_id="one")
    assert _sockets(ann) == 0 and not ServerProcess.objects.exists()
    run(processes.process_unregister, process_id="one")  # twice: nothing more
    assert _sockets(ann) == 0


def test_admin_lists_processes_read_only(client):
    ann = _agent("ann")
    run(processes.process_register, process_id="vm:42:abcd", host="vm", pid=42)
    run(presence.agent_login, agent_id=ann, new_socket=True, process_id="vm:42:abcd")
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw-pw-pw-1"))
    listing = client.get("/admin/chat/serverprocess/")
    assert listing.status_code == 200
    assert b"vm:42:abcd" in listing.content
    assert client.get("/admin/chat/serverprocess/add/").status_code == 403
    page = client.get("/admin/chat/serverprocess/vm:42:abcd/change/")
    assert page.status_code == 200 and b"Ann" in page.content
    assert client.post("/admin/chat/serverprocess/vm:42:abcd/delete/", {"post": "yes"}).status_code == 403
    assert ServerProcess.objects.filter(id="vm:42:abcd").exists()
