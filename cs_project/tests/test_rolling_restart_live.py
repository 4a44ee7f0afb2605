"""A rolling restart under load: nothing lost, nothing stored twice.

The deployment for real (cs_project.testing.deployment): nginx over HTTPS in
front of two `deploy/serve` processes on PostgreSQL and Redis. Customers
(over WebSocket and over long-polling) and agents chat without pause while
each process in turn gets SIGTERM, as `systemctl restart cs-chat@PORT`
sends it, and is started again.

The clients are python-socketio's, reconnecting by themselves, and do what
the pages do: after a reconnect a customer joins again with its token and
the last message id it has, an agent logs in again, and a message whose
ack did not come is sent again with the same `client_id`. Then:

- every message sent was acknowledged, and is stored exactly once, under
  the id its ack gave;
- every agent message reached its customer, live or in the replay after a
  reconnect;
- each process drained and exited by itself; afterwards only live
  processes are registered, and every agent counts exactly its one socket,
  online.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass, field

import pytest
import socketio

from cs_project.testing.deployment import Tab, deployed, open_tab
from cs_project.testing.scaleout import Postgres
from cs_project.testing.waits import eventually

pytestmark = pytest.mark.live

ENV = {
    # The agents must stay online through the restarts: they reconnect in
    # well under the grace period.
    "AGENT_GRACE_SECONDS": "60",
    "PROCESS_HEARTBEAT_SECONDS": "0.5",
    "PROCESS_TIMEOUT_SECONDS": "5",
    "SWEEP_INTERVAL_SECONDS": "0.5",
}
RECONNECT = {"reconnection": True, "reconnection_delay": 0.1, "reconnection_delay_max": 0.5}
RETRY_CODES = {"rate_limited", "overloaded"}
CUSTOMERS = 6
AGENTS = ("ann", "ben", "cat")  # capacity 2 each: every customer is served


@dataclass
class Participant:
    """A tab that comes back by itself and resends what was not acknowledged."""

    tab: Tab
    namespace: str
    connects: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    acked: dict[str, int] = field(default_factory=dict)  # client_id -> message id

    def __post_init__(self) -> None:
        sio = self.tab.client.sio
        sio.on("connect", self._connected, namespace=self.namespace)
        sio.on("disconnect", self._dropped, namespace=self.namespace)

    def _dropped(self, *args) -> None:
        self.ready.clear()

    @property
    def sio(self) -> socketio.AsyncClient:
        return self.tab.client.sio

    async def _connected(self) -> None:
        self.connects += 1
        if self.connects > 1:
            # Not in the handler: it runs inside the client's read loop,
            # which must go on for the calls to be answered.
            asyncio.get_running_loop().create_task(self._come_back())

    async def _come_back(self) -> None:
        try:
            await self.rejoin()
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
            return  # dropped again meanwhile: the next connect tries again
        self.ready.set()

    async def rejoin(self) -> None:
        raise NotImplementedError

    async def call(self, event: str, payload: dict) -> dict:
        return await self.sio.call(event, payload, namespace=self.namespace, timeout=5)

    async def send(self, event: str, payload: dict) -> dict:
        """`payload` until it is acknowledged: again, unchanged, after every timeout or drop."""
        while True:
            await self.ready.wait()
            try:
                ack = await self.call(event, payload)
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
                continue
            if ack.get("ok"):
                self.acked[payload["client_id"]] = ack["message"]["id"]
                return ack
            assert ack["error"]["code"] in RETRY_CODES, (event, payload, ack)
            await asyncio.sleep(0.2)


@dataclass
class CustomerTab(Participant):
    token: str = ""
    conversation_id: int = 0
    last_id: int = 0
    replayed: set[int] = field(default_factory=set)

    def seen(self) -> set[int]:
        live = {m["id"] for name, m in self.tab.client.events if name == "agent:message"}
        return live | self.replayed

    async def join(self, payload: dict) -> None:
        ack = await self.call("customer:join", payload)
        assert ack["ok"], ack
        self.token = ack["token"]
        self.conversation_id = ack["conversation"]["id"]
        messages, more = ack["messages"], ack["has_more"]
        while True:
            self.replayed |= {m["id"] for m in messages if m["sender"] == "agent"}
            self.last_id = max(
                [self.last_id, *self.seen(), *self.acked.values(), *(m["id"] for m in messages)]
            )
            if not more or "last_message_id" not in payload:
                return
            page = await self.call("messages:fetch", {"after_id": self.last_id})
            assert page["ok"], page
            messages, more = page["messages"], page["has_more"]

    async def rejoin(self) -> None:
        self.last_id = max([self.last_id, *self.seen(), *self.acked.values()])
        await self.join({"token": self.token, "last_message_id": self.last_id})


@dataclass
class AgentTab(Participant):
    conversations: set[int] = field(default_factory=set)

    async def rejoin(self) -> None:
        ack = await self.call("agent:login", {})
        assert ack["ok"], ack
        self.conversations = {c["id"] for c in ack["conversations"]}


async def _customer_loop(tab: CustomerTab, number: int, stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        await tab.send(
            "customer:message", {"text": f"customer {number}, {n}", "client_id": f"rr-c{number}-{n}"}
        )
        await asyncio.sleep(0.05)


async def _agent_loop(tab: AgentTab, name: str, stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        for conversation_id in sorted(tab.conversations):
            n += 1
            payload = {
                "conversation_id": conversation_id,
                "text": f"{name} {n}",
                "client_id": f"rr-{name}-{n}",
            }
            await tab.send("agent:message", payload)
        await asyncio.sleep(0.1)


async def _open(deployment, namespace: str, transports, auth=None) -> Tab:
    return await open_tab(deployment, namespace, transports, auth=auth, reconnect=RECONNECT)


async def _until_chatting(participants: list[Participant], before: dict[int, int]) -> None:
    """Every tab is back, and each has had a message acknowledged since `before` (counts by tab)."""
    await eventually(
        lambda: all(p.ready.is_set() and len(p.acked) > before[id(p)] for p in participants),
        timeout=60,
        what="every tab back and chatting",
    )


async def test_rolling_restart_under_load_loses_and_doubles_nothing(tmp_path):
    with deployed(tmp_path, ENV) as deployment:
        db = Postgres(deployment.env["DATABASE_URL"])
        agents: list[AgentTab] = []
        customers: list[CustomerTab] = []
        try:
            for name in AGENTS:
                tab = await _open(
                    deployment, "/agent", None, auth={"token": deployment.agents[name]["token"]}
                )
                agent = AgentTab(tab, "/agent", connects=1)
                # The customer:new events it gets keep its list current.
                agent.sio.on(
                    "customer:new",
                    lambda data, agent=agent: agent.conversations.add(data["conversation"]["id"]),
                    namespace="/agent",
                )
                await agent.rejoin()
                agent.ready.set()
                agents.append(agent)
            for i in range(CUSTOMERS):
                transports = ["polling"] if i % 2 else None  # long-polling only, or upgraded to WebSocket
                customer = CustomerTab(
                    await _open(deployment, "/customer", transports), "/customer", connects=1
                )
                await customer.join({"name": f"Customer {i}"})
                customer.ready.set()
                customers.append(customer)
            for agent in agents:
                await eventually(lambda agent=agent: len(agent.conversations) == 2, what="two customers each")
            everyone: list[Participant] = [*agents, *customers]

            stop = asyncio.Event()
            loops = [asyncio.create_task(_customer_loop(c, i, stop)) for i, c in enumerate(customers)]
            loops += [
                asyncio.create_task(_agent_loop(a, name, stop))
                for a, name in zip(agents, AGENTS, strict=True)
            ]
            await _until_chatting(everyone, {id(p): 0 for p in everyone})

            for port in list(deployment.servers):
                status = await asyncio.to_thread(deployment.stop_server, port)
                # uvicorn exits by raising SIGTERM again once it has drained.
                assert status in (0, -signal.SIGTERM), (status, deployment.server_log(port)[-3000:])
                assert "draining: events answered: True" in deployment.server_log(port)
                await asyncio.to_thread(deployment.start_server, port)
                await _until_chatting(everyone, {id(p): len(p.acked) for p in everyone})

            stop.set()
            await asyncio.wait_for(asyncio.gather(*loops), 60)

            # Every message acknowledged, stored once, under its ack's id.
            sent = {cid: id_ for p in everyone for cid, id_ in p.acked.items()}
            stored = db.query(
                "select client_id, count(*), min(id) from chat_message"
                " where client_id like 'rr-%%' group by client_id"
            )
            assert {cid: (n, id_) for cid, n, id_ in stored} == {cid: (1, id_) for cid, id_ in sent.items()}
            # Every agent message reached its customer.
            for customer in customers:
                wanted = {
                    row[0]
                    for row in db.query(
                        "select id from chat_message where conversation_id = %s and sender = 'agent'",
                        (customer.conversation_id,),
                    )
                }
                assert wanted and wanted <= customer.seen(), sorted(wanted - customer.seen())
            # Both restarts were felt: every tab reconnected at least once.
            assert all(p.connects >= 2 for p in everyone), [p.connects for p in everyone]
            # Presence came through: only live processes registered (a
            # process registers at its first connection), one socket per
            # agent, all online.
            live = {process.pid for process in deployment.servers.values()}
            await eventually(
                lambda: (
                    db.query(
                        "select status, sockets from agents_agentprofile p"
                        " join auth_user u on u.id = p.user_id"
                        " where u.username in ('ann', 'ben', 'cat')"
                    )
                    == [("online", 1)] * 3
                ),
                timeout=20,
                what="each agent online with one socket",
            )
            assert {pid for (pid,) in db.query("select pid from chat_serverprocess")} <= live
            assert db.scalar("select sum(sockets) from chat_processagentsockets") == 3
        finally:
            for participant in [*agents, *customers]:
                participant.sio.reconnection = False
                await participant.tab.close()
