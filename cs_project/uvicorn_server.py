"""uvicorn, with the application drained before uvicorn's own shutdown.

    python -m cs_project.uvicorn_server [uvicorn's options] cs_project.asgi:application

Takes uvicorn's command line; deploy/serve, the live tests and the benchmark
start uvicorn this way. On SIGTERM (or Ctrl-C) uvicorn's shutdown is
preceded by:

1. closing the listening sockets, so that the proxy sends new connections
   to the other processes;
2. `chat.realtime.drain.drain`: what was received is stored and answered,
   then every client is told to reconnect (it lands on another process and
   resumes), and this process's presence is taken back.

Then uvicorn's own shutdown closes what is left and waits at most
`--timeout-graceful-shutdown` seconds. A second Ctrl-C forces the exit.
"""

from __future__ import annotations

import sys

import uvicorn
import uvicorn.server


class DrainingServer(uvicorn.server.Server):
    async def shutdown(self, sockets=None) -> None:
        for server in getattr(self, "servers", []):
            server.close()
        if not self.force_exit:
            # Imported here: the application (and Django) is loaded by now.
            from chat.realtime.drain import drain
            from chat.realtime.server import sio

            await drain(sio)
        await super().shutdown(sockets=sockets)


def main() -> None:
    # uvicorn's command line makes its Server from this module attribute.
    sys.modules["uvicorn.main"].Server = DrainingServer
    uvicorn.main()


if __name__ == "__main__":
    main()
