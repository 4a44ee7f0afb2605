"""An attacker in a process of its own: floods a server from one address.

    python -m cs_project.testing.flood '<json config>'

Config: `url`, `address` (the local address every socket binds), `mode`,
`sockets`, and `seconds` (how long to keep at it; stdin closing stops it
sooner). Modes:

- `typing`: `sockets` new customers, each on a socket of its own sending
  `customer:typing` (alternating) as fast as it can, never waiting for acks,
  and reconnecting with its token whenever the server closes it;
- `join`: `sockets` loops, each connecting, sending `customer:join` (a new
  customer every time) and closing, again and again;
- `connect`: opens `sockets` Engine.IO WebSockets and holds those accepted.

Prints `{"phase": "flooding"}` once it is at it, then one JSON object of
counts: acks by error code (`ok` for successes), sockets `closed` by the
server and connections `refused`; for `connect`, sockets `accepted` and
`refused`.

A process of its own so that its CPU is not the measuring test's: the
flood competes with the server for the machine, as a real one would.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter

import aiohttp
import socketio


def start(url: str, address: str, mode: str, sockets: int, seconds: float = 120) -> subprocess.Popen:
    """Start a flood and return once it is at it (blocking: run it in a thread)."""
    from cs_project.testing.server import PYTHON, ROOT

    config = {"url": url, "address": address, "mode": mode, "sockets": sockets, "seconds": seconds}
    process = subprocess.Popen(
        [PYTHON, "-m", "cs_project.testing.flood", json.dumps(config)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    if json.loads(line or "{}").get("phase") != "flooding":
        process.kill()
        raise RuntimeError(f"the flood did not start: {line!r}")
    return process


def stop(process: subprocess.Popen) -> dict:
    """Stop a flood; its counts (blocking: run it in a thread)."""
    process.stdin.close()
    out = process.stdout.read()
    if process.wait(60) != 0:
        raise RuntimeError(f"the flood failed: {out!r}")
    return json.loads(out.strip().splitlines()[-1])


def _code(ack) -> str:
    if isinstance(ack, dict) and ack.get("ok"):
        return "ok"
    if isinstance(ack, dict) and isinstance(ack.get("error"), dict):
        return ack["error"].get("code", "?")
    return "?"


async def _stopped(seconds: float) -> None:
    """Sleep `seconds`, or until stdin closes."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        await asyncio.wait_for(reader.read(), seconds)
    except TimeoutError:
        pass


async def _customer_socket(http, url: str, auth: dict | None = None) -> socketio.AsyncClient:
    sio = socketio.AsyncClient(reconnection=False, http_session=http)
    await sio.connect(url, namespaces=["/customer"], transports=["websocket"], auth=auth, wait_timeout=10)
    return sio


async def typing(config: dict, http, counts: Counter, stop: asyncio.Event) -> None:
    tokens = []
    for i in range(config["sockets"]):
        sio = await _customer_socket(http, config["url"])
        tokens.append(
            (await sio.call("customer:join", {"name": f"Flood {i}"}, namespace="/customer"))["token"]
        )
        await sio.disconnect()
    print(json.dumps({"phase": "flooding"}), flush=True)

    def answered(ack=None):
        counts[_code(ack)] += 1

    async def flood(token):
        n = 0
        while not stop.is_set():
            # Closed by the server: straight back, as an attacker would.
            try:
                sio = await _customer_socket(http, config["url"], {"token": token})
            except socketio.exceptions.ConnectionError:
                counts["refused"] += 1
                await asyncio.sleep(0.05)
                continue
            while sio.connected and not stop.is_set():
                await sio.emit(
                    "customer:typing", {"is_typing": n % 2 == 0}, namespace="/customer", callback=answered
                )
                n += 1
                if n % 50 == 0:
                    await asyncio.sleep(0)
            if sio.connected:
                await sio.disconnect()
            else:
                counts["closed"] += 1

    await asyncio.gather(*(flood(token) for token in tokens))


async def join(config: dict, http, counts: Counter, stop: asyncio.Event) -> None:
    print(json.dumps({"phase": "flooding"}), flush=True)

    async def flood(i):
        n = 0
        while not stop.is_set():
            try:
                sio = await _customer_socket(http, config["url"])
            except socketio.exceptions.ConnectionError:
                counts["refused"] += 1
                await asyncio.sleep(0.05)
                continue
            try:
                ack = await sio.call(
                    "customer:join", {"name": f"Join {i}-{n}"}, namespace="/customer", timeout=10
                )
                counts[_code(ack)] += 1
            except Exception:
                counts["closed"] += 1  # by the server, for going on past the limits
            n += 1
            if sio.connected:
                await sio.disconnect()

    await asyncio.gather(*(flood(i) for i in range(config["sockets"])))


async def connect(config: dict, http, counts: Counter, stop: asyncio.Event) -> None:
    url = config["url"].replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    held = []
    for _ in range(config["sockets"]):
        try:
            held.append(await http.ws_connect(url))
            counts["accepted"] += 1
        except aiohttp.WSServerHandshakeError:
            counts["refused"] += 1
    print(json.dumps({"phase": "flooding"}), flush=True)
    await stop.wait()
    for ws in held:
        await ws.close()


MODES = {"typing": typing, "join": join, "connect": connect}


async def main(config: dict) -> None:
    counts: Counter = Counter()
    stop = asyncio.Event()
    connector = aiohttp.TCPConnector(local_addr=(config["address"], 0), limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        work = asyncio.create_task(MODES[config["mode"]](config, http, counts, stop))
        waiting = asyncio.create_task(_stopped(config.get("seconds", 60)))
        await asyncio.wait([work, waiting], return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        await work
        waiting.cancel()
    print(json.dumps(dict(counts)), flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
