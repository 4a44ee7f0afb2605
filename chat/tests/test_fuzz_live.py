"""Random payloads at every event of both namespaces, against one live server.

Hypothesis throws arbitrary JSON (None, booleans, huge integers, floats,
unicode and very long text, lists, nested objects, and objects with the
event's real field names holding random or plausible values, no argument,
several arguments) at every client event of PROTOCOL.md and at undefined
event names, from sockets in every state (joined customer, customer before
`customer:join`, logged-in agent, agent before `agent:login`). For every call:

- an ack comes back, and it is `{ok: true, ...the event's fields}` or exactly
  `{ok: false, error: {code, message}}` with a code of the protocol's list
  (never `internal`: bad input must not crash a handler);
- a payload the contract refuses (not an object, unknown field, wrong type,
  missing field, text or payload over its limit) is never accepted, and is
  answered with one of the codes that describe what is wrong with it;
- whenever the answer is `ok: false`, no row of any table changed;
- the socket stays connected and in the same state (still joined / logged
  in, or still not), the server process is alive and logged no traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from cs_project.testing.checks import short
from cs_project.testing.clients import Client, agent, customer
from cs_project.testing.database import describe_change, snapshot
from cs_project.testing.server import LiveServer
from cs_project.testing.waits import eventually

pytestmark = pytest.mark.live


@pytest.fixture
def chat_server(unlimited_chat_server):
    # About the answer to each payload, not the limits (the fixture says why).
    return unlimited_chat_server


PROTOCOL_CODES = frozenset(
    {
        "invalid_payload",
        "too_large",
        "not_joined",
        "not_logged_in",
        "forbidden",
        "not_found",
        "conflict",
        "rate_limited",
        "unknown_event",
        "internal",
        "invalid_token",  # customer:join with an expired, revoked or forged token
    }
)
INVALID, TOO_LARGE = "invalid_payload", "too_large"
NOT_JOINED, NOT_LOGGED_IN, UNKNOWN_EVENT = "not_joined", "not_logged_in", "unknown_event"


# About 270 calls in all; raise it for a longer hunt (FUZZ_EXAMPLES_PER_EVENT=200).
EXAMPLES_PER_EVENT = int(os.environ.get("FUZZ_EXAMPLES_PER_EVENT", "15"))
EXAMPLES_PER_LIFECYCLE_NAME_SET = 6
ACK_TIMEOUT = 3.0

TEXT_LIMIT = 4000
NAME_LIMIT = 80
COMMENT_LIMIT = 1000
PAYLOAD_LIMIT = 16 * 1024
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
STATUSES = ("online", "busy", "offline")


# --- what the contract says about each field ------------------------------------------
# A check returns the error code the contract demands for the value, DOUBTFUL
# for a value of the right type that the contract does not settle (id 0, a
# NUL character, a limit of 1000, an address with an @ that may not be valid:
# refusing it as invalid_payload is fair, accepting it too), or None.

DOUBTFUL = "doubtful"
MAX_ID = 2**63


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_text(value):
    if not isinstance(value, str) or not value.strip():
        return INVALID
    if len(value.strip()) > TEXT_LIMIT:
        return TOO_LARGE
    return DOUBTFUL if "\x00" in value else None


def check_client_id(value):
    return None if isinstance(value, str) and CLIENT_ID.fullmatch(value) else INVALID


def check_name(value):
    if not isinstance(value, str) or len(value.strip()) > NAME_LIMIT:
        return INVALID
    return DOUBTFUL if "\x00" in value or not value.strip() else None


def check_email(value):
    if not isinstance(value, str) or (value.strip() and "@" not in value):
        return INVALID
    return DOUBTFUL


def check_str(value):
    if not isinstance(value, str):
        return INVALID
    return DOUBTFUL if "\x00" in value or not value or len(value) > NAME_LIMIT else None


def check_int(value):
    if not _is_int(value):
        return INVALID
    return None if 0 < value < MAX_ID else DOUBTFUL


def check_limit(value):
    if not _is_int(value):
        return INVALID
    return None if 0 < value <= 200 else DOUBTFUL


def check_bool(value):
    return None if isinstance(value, bool) else INVALID


def check_score(value):
    return None if _is_int(value) and 1 <= value <= 5 else INVALID


def check_comment(value):
    if not isinstance(value, str) or len(value.strip()) > COMMENT_LIMIT or "\x00" in value:
        return INVALID
    return None


def check_status(value):
    return None if isinstance(value, str) and value in STATUSES else INVALID


REQUIRED, OPTIONAL = True, False

# namespace -> event -> field -> (required, check)
EVENTS: dict[str, dict[str, dict[str, tuple]]] = {
    "/customer": {
        "customer:join": {
            "name": (OPTIONAL, check_name),
            "email": (OPTIONAL, check_email),
            "topic": (OPTIONAL, check_str),
            "token": (OPTIONAL, check_str),
            "last_message_id": (OPTIONAL, check_int),
        },
        "customer:message": {"text": (REQUIRED, check_text), "client_id": (OPTIONAL, check_client_id)},
        "customer:typing": {"is_typing": (REQUIRED, check_bool)},
        "customer:disconnect": {},
        "message:read": {"up_to_id": (REQUIRED, check_int)},
        "customer:rating": {"score": (REQUIRED, check_score), "comment": (OPTIONAL, check_comment)},
    },
    # In the order the properties run: the events that can take Ann's
    # conversations away (status, end, transfer) last, so that the others
    # also meet a conversation that is really hers.
    "/agent": {
        "agent:login": {},
        "agent:message": {
            "conversation_id": (REQUIRED, check_int),
            "text": (REQUIRED, check_text),
            "client_id": (OPTIONAL, check_client_id),
        },
        "agent:internal": {
            "text": (REQUIRED, check_text),
            "to_agent_id": (OPTIONAL, check_int),
            "conversation_id": (OPTIONAL, check_int),
            "client_id": (OPTIONAL, check_client_id),
        },
        "agent:typing": {"conversation_id": (REQUIRED, check_int), "is_typing": (REQUIRED, check_bool)},
        "message:read": {"conversation_id": (REQUIRED, check_int), "up_to_id": (REQUIRED, check_int)},
        "conversation:history": {
            "customer_id": (REQUIRED, check_int),
            "before_id": (OPTIONAL, check_int),
            "limit": (OPTIONAL, check_limit),
        },
        "queue:claim": {"conversation_id": (OPTIONAL, check_int)},
        "session:transfer": {"conversation_id": (REQUIRED, check_int), "to_agent_id": (REQUIRED, check_int)},
        "session:end": {"conversation_id": (REQUIRED, check_int)},
        "agent:status": {"status": (REQUIRED, check_status)},
    },
}

SUCCESS_KEYS = {
    ("/customer", "customer:join"): {
        "ok",
        "token",
        "customer",
        "conversation",
        "messages",
        "has_more",
        "queue_position",
    },
    ("/customer", "customer:message"): {"ok", "message"},
    ("/customer", "customer:typing"): {"ok"},
    ("/customer", "customer:disconnect"): {"ok"},
    ("/customer", "message:read"): {"ok"},
    ("/customer", "customer:rating"): {"ok", "conversation_id", "score"},
    ("/agent", "agent:login"): {"ok", "agent", "conversations", "queue", "queue_length", "agents"},
    ("/agent", "agent:status"): {"ok", "agent"},
    ("/agent", "agent:message"): {"ok", "message"},
    ("/agent", "agent:internal"): {"ok", "message"},
    ("/agent", "agent:typing"): {"ok"},
    ("/agent", "session:end"): {"ok", "conversation"},
    ("/agent", "session:transfer"): {"ok", "conversation"},
    ("/agent", "queue:claim"): {"ok", "conversation"},
    ("/agent", "conversation:history"): {"ok", "customer", "conversations", "messages"},
    ("/agent", "message:read"): {"ok"},
}

# Names that look like events but that the namespace does not define.
LOOKALIKES = sorted(
    {name for events in EVENTS.values() for name in events}
    | {
        "agent:assigned",
        "customer:new",
        "queue:update",
        "queue:position",
        "message:status",
        "system:notification",
        "CUSTOMER:MESSAGE",
        "agent:login ",
        " customer:join",
        "message",
        "connect_error",
        "",
    }
)
# Socket.IO's lifecycle names: a raw client can still send them as events.
LIFECYCLE_NAMES = ["connect", "disconnect"]

UNKNOWN = "(undefined event names)"
LIFECYCLE = "(connect/disconnect sent as events)"
TARGETS = [(ns, event) for ns, events in EVENTS.items() for event in events] + [
    (ns, pseudo) for pseudo in (UNKNOWN, LIFECYCLE) for ns in EVENTS
]


# --- what the contract demands of a payload -----------------------------------------------


def raw_size(value) -> int:
    """The JSON size of `value` counting strings as their UTF-8 bytes (no escapes)."""
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass")) + 2
    if isinstance(value, dict):
        return 2 + sum(raw_size(k) + raw_size(v) + 2 for k, v in value.items())
    if isinstance(value, list):
        return 2 + sum(raw_size(v) + 1 for v in value)
    return len(json.dumps(value))


def escaped_size(value) -> int:
    return len(json.dumps(value))


def payload_verdict(fields: dict, args: tuple) -> tuple[set[str], set[str]]:
    """(codes the payload must be refused with, one of them; codes also tolerated).

    No required codes means the payload is valid and may be accepted. The
    contract does not order the checks, so any code that describes a fault of
    the payload is accepted. Sizes near 16 KiB depend on how bytes are counted
    (escapes, number width), so there `too_large` is tolerated, not demanded.
    """
    required: set[str] = set()
    tolerated: set[str] = set()
    if any(raw_size(a) > PAYLOAD_LIMIT * 1.25 for a in args):
        required.add(TOO_LARGE)
    elif any(escaped_size(a) > PAYLOAD_LIMIT * 0.75 for a in args):
        tolerated.add(TOO_LARGE)
    if len(args) > 1:
        required.add(INVALID)
        return required, tolerated
    data = args[0] if args and args[0] is not None else {}
    if not isinstance(data, dict):
        required.add(INVALID)
        return required, tolerated
    if set(data) - set(fields):
        required.add(INVALID)
    for name, (is_required, check) in fields.items():
        value = data.get(name)
        if value is None:
            if is_required:
                required.add(INVALID)
            continue
        code = check(value)
        if code == DOUBTFUL:
            tolerated.add(INVALID)
        elif code is not None:
            required.add(code)
    if TOO_LARGE in required and TOO_LARGE not in tolerated:
        # A long text also makes a long payload; and a refused text may be
        # noticed as an oversized payload first.
        tolerated.add(TOO_LARGE)
    return required, tolerated


# --- strategies ------------------------------------------------------------------------

long_texts = st.builds(
    lambda unit, count: unit * count,
    st.sampled_from(["x", "é", "😀", " ", "\n", "\x00", "<b>", "ab "]),
    st.one_of(st.integers(3995, 4005), st.integers(4100, 9000)),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([0, 1, -1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63), 10**40]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    long_texts,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=10,
).filter(lambda value: escaped_size(value) < 300_000)


def plausible(harness: Harness) -> dict:
    """Values close to valid for each field, so that calls also get past validation."""
    return {
        "name": st.one_of(st.text(max_size=90), st.sampled_from(["Eve", "x" * 81, "  "])),
        "email": st.one_of(st.emails(), st.text(max_size=30), st.just("")),
        "topic": st.one_of(st.sampled_from(["billing", "sales", ""]), st.text(max_size=90)),
        "token": st.one_of(
            st.builds(lambda: harness.carla_token),
            st.builds(lambda: harness.carla_token[:-1] + "A"),
            st.text(max_size=60),
        ),
        "last_message_id": st.one_of(st.builds(harness.last_message_id), st.integers(-2, 40)),
        "text": st.one_of(st.text(max_size=60), long_texts),
        "client_id": st.one_of(st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True), st.text(max_size=70)),
        "is_typing": st.booleans(),
        "up_to_id": st.one_of(st.builds(harness.last_message_id), st.integers(-2, 60)),
        "status": st.sampled_from(["online", "busy", "offline", "away", "", "Online"]),
        "conversation_id": st.one_of(st.builds(harness.own_conversation_id), st.integers(-1, 12)),
        "to_agent_id": st.integers(-1, 6),
        "customer_id": st.one_of(st.builds(lambda: harness.carla_id), st.integers(-1, 12)),
        "before_id": st.integers(-1, 60),
        "limit": st.integers(-1, 250),
        "score": st.one_of(st.integers(-1, 7), st.sampled_from([True, False, "5", 4.5, 5.0])),
        "comment": st.one_of(
            st.text(max_size=60), st.sampled_from(["x" * 1000, " x" * 501, "é" * 1001, "\x00"])
        ),
    }


def payloads(harness: Harness, fields: dict):
    """Argument tuples for one event: objects with its fields, any JSON, none, several."""
    near = plausible(harness)
    close = st.fixed_dictionaries(
        {name: near[name] for name, (required, _) in fields.items() if required},
        optional={name: near[name] for name, (required, _) in fields.items() if not required},
    )
    wild = st.fixed_dictionaries({}, optional={name: st.one_of(near[name], json_values) for name in fields})
    extra = st.dictionaries(st.text(max_size=10), json_values, min_size=1, max_size=2)
    return st.one_of(
        close.map(lambda d: (d,)),
        close.map(lambda d: (d,)),
        wild.map(lambda d: (d,)),
        st.tuples(wild, extra).map(lambda p: ({**p[0], **p[1]},)),
        json_values.map(lambda v: (v,)),
        st.just(()),
        st.lists(json_values, min_size=2, max_size=3).map(tuple),
    )


def calls(harness: Harness, namespace: str, target: str):
    """(role, event name, args, fields or None for undefined names)."""
    # Mostly the socket that can get past the identity check, sometimes the one that cannot.
    roles = ("customer",) * 3 + ("newcomer",) if namespace == "/customer" else ("agent",) * 3 + ("unlogged",)
    if target == UNKNOWN:
        defined = set(EVENTS[namespace])
        names = st.one_of(st.sampled_from(LOOKALIKES), st.text(max_size=40)).filter(
            lambda n: n not in defined and n not in LIFECYCLE_NAMES
        )
        args = payloads(harness, {})
        return st.tuples(st.sampled_from(roles), names, args, st.none())
    if target == LIFECYCLE:
        args = st.one_of(st.just(()), json_values.map(lambda v: (v,)), st.just(({"token": "x"},)))
        return st.tuples(st.sampled_from(roles), st.sampled_from(LIFECYCLE_NAMES), args, st.none())
    fields = EVENTS[namespace][target]
    return st.tuples(st.sampled_from(roles), st.just(target), payloads(harness, fields), st.just(fields))


# --- the live side ---------------------------------------------------------------------


NO_ACK = object()
# The role of each socket the examples are sent from, and the state it is in.
ROLE_STATES = {"customer": "joined", "newcomer": "unjoined", "agent": "logged_in", "unlogged": "unlogged"}


@dataclass
class Harness:
    """The sockets the examples are sent from, in each state a socket can be in."""

    server: LiveServer
    clients: dict[str, Client] = field(default_factory=dict)
    spare: list[Client] = field(default_factory=list)
    carla_token: str = ""
    carla_id: int = 0
    outcomes: dict[tuple, Counter] = field(default_factory=dict)

    def own_conversation_id(self) -> int:
        """An active conversation of Ann's (the agent socket), if she has one."""
        rows = self.server.query(
            "select id from chat_conversation where agent_id = ? and status = 'active' order by id",
            (self.server.agents["ann"]["id"],),
        )
        return rows[0][0] if rows else 1

    def last_message_id(self) -> int:
        return self.server.scalar("select coalesce(max(id), 1) from chat_message")

    async def start(self) -> None:
        self.clients["agent"], _ = await agent(self.server, "ann")
        cat, _ = await agent(self.server, "cat")
        self.clients["customer"], join = await customer(self.server, "Carla")
        self.carla_token, self.carla_id = join["token"], join["customer"]["id"]
        dora, _ = await customer(self.server, "Dora")  # the other agent's conversation
        erin, _ = await customer(self.server, "Erin", topic="billing")  # waits in the queue
        self.spare += [cat, dora, erin]
        await self.new_newcomer()
        await self.new_unlogged()

    async def new_newcomer(self) -> None:
        self.clients["newcomer"] = await Client(self.server, "/customer").connect()

    async def new_unlogged(self) -> None:
        token = self.server.agents["ben"]["token"]
        self.clients["unlogged"] = await Client(self.server, "/agent").connect(auth={"token": token})

    async def reset(self) -> None:
        """After a failed example: fresh sockets, so the next one starts healthy."""
        self.spare += self.clients.values()
        self.clients = {}
        self.clients["agent"], _ = await agent(self.server, "ann")
        carla = await Client(self.server, "/customer").connect()
        ack = await carla.call("customer:join", {"token": self.carla_token})
        assert ack["ok"], ack
        self.clients["customer"] = carla
        await self.new_newcomer()
        await self.new_unlogged()

    async def close(self) -> None:
        for client in [*self.clients.values(), *self.spare]:
            try:
                await client.disconnect()
            except Exception:
                pass

    async def probe(self, state: str, client: Client) -> str | None:
        """Is the socket still usable and still in `state`? None if so."""
        if state == "joined":
            ack = await client.emit_raw("customer:typing", {"is_typing": False}, timeout=ACK_TIMEOUT)
            good = ack == {"ok": True} or (isinstance(ack, dict) and _code(ack) == "conflict")
        elif state == "unjoined":
            ack = await client.emit_raw("customer:typing", {"is_typing": False}, timeout=ACK_TIMEOUT)
            good = _code(ack) == NOT_JOINED
        elif state == "logged_in":
            ack = await client.emit_raw(
                "conversation:history", {"customer_id": self.carla_id, "limit": 1}, timeout=ACK_TIMEOUT
            )
            good = isinstance(ack, dict) and ack.get("ok") is True
        else:
            ack = await client.emit_raw("queue:claim", {}, timeout=ACK_TIMEOUT)
            good = _code(ack) == NOT_LOGGED_IN
        return None if good else f"afterwards the socket is no longer {state}: a probe got {ack!r}"

    async def settle(self, namespace: str, event: str, ack: dict) -> None:
        """Wait for writes that legitimately follow a success (deferred `delivered` marks)."""
        message = ack.get("message")
        if (
            event in ("customer:message", "agent:message")
            and isinstance(message, dict)
            and (message.get("status") == "delivered")
        ):
            await eventually(
                lambda: self.server.scalar("select status from chat_message where id = ?", (message["id"],)),
                timeout=5,
                what=f"message {message['id']} stored as delivered",
            )

    async def check(
        self, namespace: str, target: str, role: str, event: str, args: tuple, fields: dict | None
    ) -> None:
        try:
            await self._check(namespace, target, role, event, args, fields)
        except BaseException:
            if self.server.process.poll() is None:
                await self.reset()
            raise

    async def _check(
        self, namespace: str, target: str, role: str, event: str, args: tuple, fields: dict | None
    ) -> None:
        server = self.server
        client = self.clients[role]
        where = f"{namespace} {event!r} sent by the {role} socket with {short(args)}"
        if fields is None:
            required, tolerated = {UNKNOWN_EVENT}, set()
        else:
            required, tolerated = payload_verdict(fields, args)
            if role == "newcomer" and event != "customer:join":
                required, tolerated = {NOT_JOINED}, tolerated | required
            elif role == "unlogged" and event != "agent:login":
                required, tolerated = {NOT_LOGGED_IN}, tolerated | required
        allowed = required | tolerated

        log_at = len(server.log())
        before = snapshot(server)
        try:
            ack = await client.emit_raw(event, *args, timeout=ACK_TIMEOUT)
        except TimeoutError:
            ack = NO_ACK
        assert server.process.poll() is None, f"{where}: the server died:\n{server.log()[-3000:]}"
        problems = []
        new_log = server.log()[log_at:]
        if "Traceback" in new_log:
            problems.append("the server logged a traceback:\n" + new_log[-2500:])

        state = ROLE_STATES[role]
        outcome = "no ack"
        if ack is NO_ACK:
            problems.append(f"no ack within {ACK_TIMEOUT} s")
        elif not isinstance(ack, dict) or not isinstance(ack.get("ok"), bool):
            problems.append(f"the ack is not {{ok: bool, ...}}: {short(ack)}")
            outcome = "malformed"
        elif ack["ok"]:
            outcome = "ok"
            if required:
                problems.append(
                    f"accepted, but the contract refuses this with {sorted(required)}: {short(ack)}"
                )
            expected_keys = SUCCESS_KEYS.get((namespace, event))
            if expected_keys is not None and set(ack) != expected_keys:
                problems.append(f"success ack has keys {sorted(ack)}, expected {sorted(expected_keys)}")
            problems += success_problems(namespace, event, args, ack)
            if event == "customer:join" and role == "newcomer":
                state = "joined"
            if event == "agent:login" and role == "unlogged":
                state = "logged_in"
            await self.settle(namespace, event, ack)
        else:
            error = ack.get("error")
            outcome = error.get("code") if isinstance(error, dict) else "malformed"
            if (
                set(ack) != {"ok", "error"}
                or not isinstance(error, dict)
                or set(error) != {"code", "message"}
            ):
                problems.append(f"not exactly {{ok: false, error: {{code, message}}}}: {short(ack)}")
            elif error["code"] not in PROTOCOL_CODES or not isinstance(error["message"], str):
                problems.append(f"unknown code or non-string message: {short(ack)}")
            elif error["code"] == "internal":
                problems.append(f"bad input crashed the handler: {short(ack)}")
            elif required and error["code"] not in allowed:
                problems.append(f"expected one of {sorted(allowed)}, got {short(ack)}")
            change = describe_change(before, snapshot(server))
            if change:
                problems.append(f"refused ({outcome}), yet the database changed: {change}")
        self.outcomes.setdefault((namespace, target), Counter())[outcome] += 1

        if not client.connected:
            problems.append("the socket was disconnected")
        else:
            try:
                problem = await self.probe(state, client)
            except TimeoutError:
                problem = "afterwards the socket does not answer"
            if problem:
                problems.append(problem)
        if state == "joined" and role == "newcomer":
            self.spare.append(client)
            await self.new_newcomer()
        if state == "logged_in" and role == "unlogged":
            self.spare.append(client)
            await self.new_unlogged()
        if problems:
            raise AssertionError(f"{where}:\n  " + "\n  ".join(problems))


def _code(ack) -> str | None:
    if isinstance(ack, dict) and isinstance(ack.get("error"), dict):
        return ack["error"].get("code")
    return None


def success_problems(namespace: str, event: str, args: tuple, ack: dict) -> list[str]:
    """What a success must say about the payload it accepted."""
    data = args[0] if args and isinstance(args[0], dict) else {}
    message = ack.get("message") if isinstance(ack.get("message"), dict) else {}
    problems = []
    text = data.get("text")
    if event in ("customer:message", "agent:message", "agent:internal") and data.get("client_id") is None:
        if isinstance(text, str) and message.get("text") != text.strip():
            problems.append(f"stored text {short(message.get('text'))} is not the trimmed text sent")
    if event in ("customer:message", "agent:message"):
        sender = "customer" if namespace == "/customer" else "agent"
        if message.get("sender") != sender:
            problems.append(f"message sender is {message.get('sender')!r}, not {sender!r}")
    if event == "agent:status" and (ack.get("agent") or {}).get("status") != data.get("status"):
        problems.append(f"agent state {short(ack.get('agent'))} after asking for {data.get('status')!r}")
    return problems


def run_property(loop: asyncio.AbstractEventLoop, harness: Harness, namespace: str, target: str) -> None:
    lifecycle = target == LIFECYCLE

    @settings(
        max_examples=EXAMPLES_PER_LIFECYCLE_NAME_SET if lifecycle else EXAMPLES_PER_EVENT,
        deadline=None,
        database=None,
        # Each failure costs seconds of waiting for an ack that never comes:
        # report the lifecycle names as found rather than shrink them.
        phases=(Phase.explicit, Phase.generate) if lifecycle else tuple(Phase),
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,
        ],
    )
    @given(call=calls(harness, namespace, target))
    def prop(call):
        role, event, args, fields = call
        loop.run_until_complete(harness.check(namespace, target, role, event, args, fields))

    prop()


def test_random_payloads_at_every_event_keep_the_contract(chat_server):
    loop = asyncio.new_event_loop()
    harness = Harness(chat_server)
    failures = []
    started = time.monotonic()
    try:
        loop.run_until_complete(harness.start())
        for namespace, target in TARGETS:
            try:
                run_property(loop, harness, namespace, target)
            except Exception as error:
                failures.append(f"--- {namespace} {target}:\n{error}")
                if chat_server.process.poll() is not None:
                    break
    finally:
        loop.run_until_complete(harness.close())
        loop.close()

    total = sum(sum(counts.values()) for counts in harness.outcomes.values())
    print(f"\n{total} calls in {time.monotonic() - started:.1f} s")
    for (namespace, event), counts in sorted(harness.outcomes.items()):
        print(f"  {namespace} {event}: {dict(counts.most_common())}")
    if failures:
        pytest.fail(f"{len(failures)} of {len(TARGETS)} event properties failed:\n" + "\n".join(failures))
    # Every event was really exercised.
    for namespace, events in EVENTS.items():
        for event in events:
            assert (
                sum(harness.outcomes.get((namespace, event), Counter()).values()) >= EXAMPLES_PER_EVENT // 2
            )
    assert chat_server.process.poll() is None
