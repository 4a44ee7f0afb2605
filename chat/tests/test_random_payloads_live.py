"""Random payloads at every event of both namespaces, against a real server.

Whatever arrives, the server answers the ack with `ok: true` or one of the
protocol's error codes, writes nothing when it refuses, keeps the socket
open and keeps running.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .live import Client, agent, customer
from .test_bad_input_live import CODES, snapshot

pytestmark = pytest.mark.live

CUSTOMER_EVENTS = {
    "customer:join": ["name", "email", "topic", "token", "last_message_id"],
    "customer:message": ["text", "client_id"],
    "customer:typing": ["is_typing"],
    "customer:disconnect": [],
    "message:read": ["up_to_id"],
}
AGENT_EVENTS = {
    "agent:login": [],
    "agent:status": ["status"],
    "agent:message": ["conversation_id", "text", "client_id"],
    "agent:internal": ["text", "to_agent_id", "conversation_id", "client_id"],
    "agent:typing": ["conversation_id", "is_typing"],
    "session:end": ["conversation_id"],
    "session:transfer": ["conversation_id", "to_agent_id"],
    "queue:claim": ["conversation_id"],
    "conversation:history": ["customer_id", "before_id", "limit"],
    "message:read": ["conversation_id", "up_to_id"],
}
RESERVED = {"connect", "disconnect", "connect_error", "message", "newListener", "removeListener"}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.integers(min_value=0, max_value=20)  # ids that may exist
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["online", "busy", "offline", "", " ", "<img src=x onerror=alert(1)>", "a@b.example"])
    | st.text(min_size=3990, max_size=4010)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def payload_args(fields: list[str]):
    """Argument tuples: usually one object with the event's fields, sometimes anything."""
    shaped = st.fixed_dictionaries({}, optional={f: json_values for f in fields}).map(lambda d: (d,))
    extra = st.dictionaries(st.sampled_from([*fields, "extra", "html"]), json_values, max_size=5).map(
        lambda d: (d,)
    )
    anything = st.lists(json_values, min_size=0, max_size=3).map(tuple)
    return st.one_of(shaped, shaped, extra, anything)


def event_and_args(events: dict):
    known = st.sampled_from(sorted(events)).flatmap(lambda e: st.tuples(st.just(e), payload_args(events[e])))
    unknown = st.tuples(
        st.text(min_size=1, max_size=20).filter(lambda e: e not in events and e not in RESERVED),
        st.lists(json_values, max_size=2).map(tuple),
    )
    return st.one_of(known, known, known, unknown)


async def assert_answer(server, client: Client, event: str, args: tuple) -> None:
    before = snapshot(server)
    answer = await client.emit_raw(event, *args)
    assert isinstance(answer, dict) and answer.get("ok") in (True, False), (event, args, answer)
    if answer["ok"] is False:
        assert answer["error"]["code"] in CODES - {"internal"}, (event, args, answer)
        assert isinstance(answer["error"]["message"], str)
        assert snapshot(server) == before, (event, args, answer)
    assert client.sio.connected, (event, args)
    assert server.process.poll() is None, server.log()


@pytest.fixture
async def clients(chat_server):
    """Joined and unjoined customers, logged-in and silent agents, sharing one server."""
    ann, _ = await agent(chat_server, "ann")
    ben = await Client(chat_server, "/agent").connect(auth={"token": chat_server.agents["ben"]["token"]})
    carla, _ = await customer(chat_server, "Carla")
    stranger = await Client(chat_server, "/customer").connect()
    yield {"customers": [carla, stranger], "agents": [ann, ben]}
    for client in (ann, ben, carla, stranger):
        await client.disconnect()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_random_customer_payloads(chat_server, clients, data):
    client = data.draw(st.sampled_from(clients["customers"]))
    event, args = data.draw(event_and_args(CUSTOMER_EVENTS))
    await assert_answer(chat_server, client, event, args)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_random_agent_payloads(chat_server, clients, data):
    client = data.draw(st.sampled_from(clients["agents"]))
    event, args = data.draw(event_and_args(AGENT_EVENTS))
    await assert_answer(chat_server, client, event, args)


async def test_the_server_logged_no_crash(chat_server, clients):
    carla = clients["customers"][0]
    for args in ((), ([1, {"a": None}],), ({"text": {"nested": ["x"] * 3}},), (None, None, None)):
        await assert_answer(chat_server, carla, "customer:message", args)
    assert "Traceback" not in chat_server.log()
