"""This server process's name among the others (chat.models.ServerProcess).

Host and PID say where it runs; the random part tells apart two processes
that reuse a PID (a restart in a fresh container, a recycled PID).
"""

from __future__ import annotations

import os
import secrets
import socket

HOST = socket.gethostname()[:100]
PID = os.getpid()
ID = f"{HOST}:{PID}:{secrets.token_hex(4)}"
