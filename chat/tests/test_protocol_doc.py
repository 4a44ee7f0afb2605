"""docs/PROTOCOL.md and the code name the same events.

Every event the server emits is declared in chat/realtime/emit.py's
registry (`SERVER_EVENTS`) and sent from there; every client event has a
handler. Both lists must match the documented tables.
"""

import re
from pathlib import Path

from chat.realtime.emit import SERVER_EVENTS
from chat.realtime.rooms import AGENT_NS, CUSTOMER_NS
from chat.realtime.server import sio

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "PROTOCOL.md").read_text()
EMITTER = ROOT / "chat" / "realtime" / "emit.py"


def _namespace_section(name: str) -> str:
    return DOC.split(f"## {name} namespace", 1)[1].split("\n## ", 1)[0]


def _section_table(section: str, heading: str) -> set[str]:
    part = section.split(heading, 1)[1]
    table = part[part.index("| event") :].split("\n\n", 1)[0]
    return set(re.findall(r"^\| `([^`]+)`", table, re.M))


def emitted_events() -> set[tuple[str, str]]:
    return {(e.namespace, e.name) for e in SERVER_EVENTS}


def _sources():
    """The project's own modules; tests and the test-support package emit as clients do."""
    for app in ("chat", "agents", "customers", "cs_project"):
        for path in (ROOT / app).rglob("*.py"):
            if "tests" not in path.parts and path.parts[-3:-1] != ("cs_project", "testing"):
                yield path


def test_only_the_emitter_emits():
    offenders = [
        str(path.relative_to(ROOT))
        for path in _sources()
        if path != EMITTER and re.search(r"\.emit\(", path.read_text())
    ]
    assert offenders == []


def test_the_registry_holds_each_event_once():
    assert len(SERVER_EVENTS) == len(set(SERVER_EVENTS))
    assert {e.namespace for e in SERVER_EVENTS} == {CUSTOMER_NS, AGENT_NS}


def test_every_emitted_event_is_documented():
    customer_receives = _section_table(_namespace_section("Customer"), "Customer receives")
    agent_receives = _section_table(_namespace_section("Agent"), "Agent receives")
    emitted = emitted_events()
    undocumented = {
        (ns, name)
        for ns, name in emitted
        if name not in (customer_receives if ns == CUSTOMER_NS else agent_receives)
        # Documented as an extension under "What this server decided".
        and not (ns == AGENT_NS and name == "agent:message" and "`agent:message` *(ext on /agent)*" in DOC)
    }
    assert undocumented == set()


def test_every_documented_server_event_is_emitted():
    emitted = emitted_events()
    for namespace, heading, section in (
        (CUSTOMER_NS, "Customer receives", "Customer"),
        (AGENT_NS, "Agent receives", "Agent"),
    ):
        documented = _section_table(_namespace_section(section), heading)
        assert documented - {name for ns, name in emitted if ns == namespace} == set(), namespace


def test_every_documented_client_event_has_a_handler():
    for namespace, heading, section in (
        (CUSTOMER_NS, "Customer sends", "Customer"),
        (AGENT_NS, "Agent sends", "Agent"),
    ):
        import agents.sockets  # noqa: F401  (registers handlers)
        import chat.sockets  # noqa: F401

        documented = _section_table(_namespace_section(section), heading)
        handled = set(sio.handlers[namespace]) - {"connect", "disconnect", "*"}
        handled |= {name for ns, name in sio.message_events if ns == namespace}
        assert documented == handled, namespace
