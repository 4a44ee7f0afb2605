"""Server processes: their heartbeats, and what is taken back from one that stopped.

Presence lives in the database so that every process sees it:
`AgentProfile.sockets` counts an agent's logged-in sockets everywhere, and
`ProcessAgentSockets` says how many of them each process holds. A process
that stops heartbeating (killed, frozen, its machine gone) cannot say its
sockets are gone, so the process that holds the maintenance lease takes them
back here; an agent left with none starts the grace period from the dead
process's last heartbeat, exactly as if it had disconnected then.

Customers are kept seen (`customers_seen`) by the process that holds their
socket, so that idle close on any process, or `queue close-idle`, leaves
alone a customer connected anywhere.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from agents.models import AgentProfile
from customers.models import Customer

from .. import selectors
from ..events import AgentStateChanged
from ..models import ProcessAgentSockets, ServerProcess
from ..outbox import record
from .queue import lock_assignment

# Rows per UPDATE of customers seen: below every database's parameter limit.
SEEN_BATCH = 500


def process_heartbeat(*, process_id: str, host: str, pid: int) -> bool:
    """Record that `process_id` is alive; False if the others had taken it for dead.

    A process found dead is registered again with nothing: the sockets it
    still holds were taken back, so the caller closes them (they reconnect
    and log in again, and are counted then). Only a row the process wrote
    itself matches (its pid): one a login made again after the others took
    the process for dead (`agent_socket_counted`, pid 0) does not.
    """
    now = timezone.now()
    if ServerProcess.objects.filter(id=process_id, pid=pid).update(heartbeat_at=now):
        return True
    ServerProcess.objects.update_or_create(
        id=process_id, defaults={"host": host, "pid": pid, "started_at": now, "heartbeat_at": now}
    )
    return False


def process_register(*, process_id: str, host: str, pid: int) -> None:
    """A process starting: its row, before it counts any socket."""
    now = timezone.now()
    ServerProcess.objects.update_or_create(
        id=process_id, defaults={"host": host, "pid": pid, "started_at": now, "heartbeat_at": now}
    )


def processes_expire_silent(*, timeout_seconds: float) -> list[str]:
    """Take back what every process silent for `timeout_seconds` held; return their ids.

    Usually every process is alive: a plain read says so without the write lock.
    """
    cutoff = timezone.now() - timedelta(seconds=timeout_seconds)
    if not ServerProcess.objects.filter(heartbeat_at__lt=cutoff).exists():
        return []
    with transaction.atomic():
        lock_assignment()
        silent = list(ServerProcess.objects.select_for_update().filter(heartbeat_at__lt=cutoff))
        names = [p.id for p in silent]  # before the rows go
        for process in silent:
            _take_back(process, gone_at=process.heartbeat_at)
        return names


@transaction.atomic
def process_unregister(*, process_id: str) -> None:
    """A process exiting: whatever sockets it still counts are gone now."""
    lock_assignment()
    process = ServerProcess.objects.select_for_update().filter(id=process_id).first()
    if process is not None:
        _take_back(process, gone_at=timezone.now())


@transaction.atomic
def processes_forget_all_but(*, process_id: str) -> None:
    """One process owns every socket (no Redis): what earlier runs counted is stale."""
    lock_assignment()
    for process in ServerProcess.objects.select_for_update().exclude(id=process_id):
        _take_back(process, gone_at=timezone.now())
    # Counts with no process behind them (left by a version that had none).
    counted = ProcessAgentSockets.objects.values_list("agent_id", flat=True)
    AgentProfile.objects.filter(sockets__gt=0).exclude(id__in=counted).update(
        sockets=0, last_disconnect_at=timezone.now()
    )


def _take_back(process: ServerProcess, *, gone_at: datetime) -> None:
    for held in ProcessAgentSockets.objects.filter(process=process, sockets__gt=0):
        agent = AgentProfile.objects.select_for_update().get(id=held.agent_id)
        agent.sockets = max(0, agent.sockets - held.sockets)
        fields = ["sockets"]
        if agent.sockets == 0:
            agent.last_disconnect_at = gone_at
            fields.append("last_disconnect_at")
        agent.save(update_fields=fields)
        record(AgentStateChanged(agent=selectors.agent_state_by_id(agent.id)))
    process.delete()  # and its ProcessAgentSockets


def agent_socket_counted(*, process_id: str, agent_id: int) -> None:
    """One more logged-in socket of the agent, held by `process_id` (inside the caller's transaction)."""
    held = ProcessAgentSockets.objects.filter(process_id=process_id, agent_id=agent_id)
    if not held.update(sockets=F("sockets") + 1):
        now = timezone.now()
        # A process taken for dead while frozen comes back with its row gone.
        ServerProcess.objects.get_or_create(
            id=process_id, defaults={"host": "", "pid": 0, "started_at": now, "heartbeat_at": now}
        )
        ProcessAgentSockets.objects.create(process_id=process_id, agent_id=agent_id, sockets=1)
    AgentProfile.objects.filter(id=agent_id).update(sockets=F("sockets") + 1)


def agent_socket_uncounted(*, process_id: str, agent_id: int) -> bool:
    """One logged-in socket fewer; False when this process no longer counted it.

    A socket of a process taken for dead was taken back already: counting
    it down again would take one from another process's count.
    """
    held = ProcessAgentSockets.objects.filter(process_id=process_id, agent_id=agent_id, sockets__gt=0)
    if not held.update(sockets=F("sockets") - 1):
        return False
    AgentProfile.objects.filter(id=agent_id, sockets__gt=0).update(sockets=F("sockets") - 1)
    return True


def customers_seen(*, customer_ids: list[int]) -> int:
    """Customers with a socket connected are seen now (a few short writes, off the services' thread)."""
    now = timezone.now()
    updated = 0
    for start in range(0, len(customer_ids), SEEN_BATCH):
        chunk = customer_ids[start : start + SEEN_BATCH]
        updated += Customer.objects.filter(id__in=chunk).update(last_seen_at=now)
    return updated
