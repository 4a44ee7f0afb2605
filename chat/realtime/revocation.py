"""Identities taken back: every process disconnects its own matching sockets.

A revoked customer token, an agent logged out, deactivated, deleted or with
a rotated API token: the service (or signal handler) records
`events.SocketsRevoked`, which goes out after the commit to one
channel-layer group that every server process has joined (in memory in one
process, Redis with `REDIS_URL`). Each process then disconnects the sockets
it holds for that identity; their disconnect handlers run as for any close,
so presence and rooms are settled as usual.
"""

from __future__ import annotations

import asyncio
import logging

from channels.layers import get_channel_layer

from . import connections
from .layer_groups import RETRY_SECONDS, join_until_done, new_channel
from .rooms import AGENT_NS, CUSTOMER_NS

log = logging.getLogger(__name__)

GROUP = "chat.revocations"


async def publish(kind: str, id: int, credential: str | None) -> None:
    """Coroutine: tell every process (this one included) to drop these sockets."""
    await get_channel_layer().group_send(
        GROUP, {"type": "sockets.revoked", "kind": kind, "id": id, "credential": credential}
    )


def local_sids(kind: str, id: int, credential: str | None) -> list[tuple[str, str]]:
    """(sid, namespace) of this process's sockets that the revocation names."""
    if kind == "customer":
        return [(sid, CUSTOMER_NS) for sid, s in connections.customers.items() if s.customer_id == id]
    return [
        (sid, AGENT_NS)
        for sid, s in connections.agents.items()
        if s.agent_id == id and _opened_with(s.credential, credential)
    ]


def _opened_with(credential: str, revoked: str | None) -> bool:
    """None: any; a kind alone ("session:"): any of that kind; else that one."""
    if revoked is None:
        return True
    return credential.startswith(revoked) if revoked.endswith(":") else credential == revoked


async def disconnect_local(sio, kind: str, id: int, credential: str | None) -> int:
    """Coroutine: disconnect this process's sockets of that identity; how many."""
    sids = local_sids(kind, id, credential)
    for sid, namespace in sids:
        try:
            await sio.disconnect(sid, namespace=namespace, ignore_queue=True)
        except Exception:
            log.exception("disconnecting %s %s failed", namespace, sid)
    return len(sids)


async def subscribe() -> str:
    """Coroutine: this process's channel, in the group from now on."""
    layer = get_channel_layer()
    channel = await new_channel(layer)
    try:
        await layer.group_add(GROUP, channel)
    except Exception as error:
        # Redis is down as the process takes its first socket: raising here
        # would leave the process without its bridge (and its sweeper, which
        # starts after) for good. The bridge joins once Redis is back.
        log.warning("revocations: joining the group failed (%r); the bridge will", error)
    return channel


async def run_revocation_bridge(sio, channel: str) -> None:
    """Apply every revocation to this process's sockets, for the life of the process.

    `channel` comes from `subscribe()`, awaited before the first socket is
    admitted, so that no socket can miss a revocation sent after it connected.
    """
    layer = get_channel_layer()
    await join_until_done(layer, GROUP, channel)  # in case `subscribe` could not
    while True:
        try:
            event = await asyncio.wait_for(layer.receive(channel), timeout=3600)
        except TimeoutError:
            event = None
        except Exception as error:  # the channel layer is down (Redis): try again shortly
            log.warning("revocation bridge: receiving failed (%r)", error)
            await asyncio.sleep(RETRY_SECONDS)
            event = None
        # Joined again before the next receive, retrying while Redis is
        # down: groups expire, and a restarted Redis may have forgotten it.
        await join_until_done(layer, GROUP, channel)
        if event is None:
            continue
        try:
            await disconnect_local(sio, event["kind"], event["id"], event.get("credential"))
        except Exception:
            log.exception("revocation bridge failed")
