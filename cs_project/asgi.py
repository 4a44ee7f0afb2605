"""ASGI entry point: Socket.IO at /socket.io/, Django for everything else."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cs_project.settings")
django_app = get_asgi_application()  # before any model import

import socketio  # noqa: E402
from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

import agents.sockets  # noqa: E402, F401  (registers the /agent handlers)
import chat.sockets  # noqa: E402, F401  (registers the /customer handlers)
from chat.realtime.routing import RouteSessions  # noqa: E402
from chat.realtime.server import sio  # noqa: E402

from .upload_limit import UploadBodyLimit  # noqa: E402

http_app = UploadBodyLimit(ASGIStaticFilesHandler(django_app) if settings.SERVE_STATIC else django_app)

# A Socket.IO request for a session held elsewhere, or a new session while
# this process drains on SIGTERM, is sent on to another process (503).
application = RouteSessions(
    socketio.ASGIApp(sio, other_asgi_app=ProtocolTypeRouter({"http": http_app}), socketio_path="socket.io"),
    sio,
)

# With thousands of sockets, full collections of the start-up heap took
# 150-180 ms each and made the latency tail (docs/PERFORMANCE.md). Move what
# start-up built out of the collector's sight and collect young objects in
# larger batches.
if settings.GC_TUNING:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*settings.GC_THRESHOLDS)
