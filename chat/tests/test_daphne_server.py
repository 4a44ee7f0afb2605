"""The tuned Daphne launcher (cs_project.daphne_server) does what it says.

The live tests serve through it, so it is known to serve; these check that
its changes took effect, in a fresh process as `make run` starts it,
and fail if a Daphne or autobahn upgrade moves what they change.
"""

from __future__ import annotations

import json
import subprocess
import sys

from django.conf import settings

PROBE = """
import json
from cs_project import daphne_server
daphne_server.prepare()
import daphne.server
import autobahn.twisted.websocket as tw
import autobahn.websocket.protocol as wp
print(json.dumps({
    "loop": type(daphne.server.twisted_loop).__module__,
    "types": [m.hltype(wp.WebSocketProtocol.sendData) for m in (wp, tw)],
    "values": [m.hlval(1234) for m in (wp, tw)],
    "gated": getattr(daphne.server.Server.handle_reply, "gated", False),
}))
"""


def probe() -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=settings.BASE_DIR, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_reactor_runs_on_uvloop_and_frames_log_nothing_costly():
    seen = probe()
    assert seen["loop"].startswith("uvloop")
    # Plain text, no terminal colours (what autobahn's own helpers made with click).
    assert seen["types"] == ["WebSocketProtocol.sendData"] * 2
    assert seen["values"] == ["1234"] * 2


def test_websocket_sends_wait_for_a_paused_transport():
    # What it does under load: chat/tests/test_slow_reader_live.py (a stalled tab is closed).
    assert probe()["gated"] is True
