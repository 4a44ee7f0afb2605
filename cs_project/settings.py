"""Settings, configured by environment variables with safe defaults.

With no variables set the whole system runs on one machine: SQLite in WAL
mode, the in-process Socket.IO manager and the in-memory channel layer.
`DATABASE_URL` and `REDIS_URL` move it to PostgreSQL and Redis.
"""

import json
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

DEFAULT_SECRET_KEY = "insecure-development-key-change-me"


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return default if value in (None, "") else float(value)


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# Off unless asked for: `make run` and the tests set DEBUG=1 themselves.
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEFAULT_SECRET_KEY:
    raise ImproperlyConfigured(
        "Set SECRET_KEY: production refuses the default secret key (DEBUG=1 for local development)."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "cs_project.apps.AdminConfig",  # django.contrib.admin, with its titles translated
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "channels",
    "customers",
    "agents",
    "chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the cookie the switchers set, else Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "cs_project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

ASGI_APPLICATION = "cs_project.asgi.application"
WSGI_APPLICATION = None

# --- Data kept: durability and retention (docs/SECURITY.md, "Data kept") ---

# SQLite's `synchronous` level, on every connection (Django's and the message
# writer's own). NORMAL (with WAL): a commit is not synced, so a power loss or
# an OS crash can lose the last transactions committed before it; a process
# crash loses nothing. FULL: every commit waits for an fsync of the WAL.
SQLITE_SYNCHRONOUS = (os.environ.get("SQLITE_SYNCHRONOUS") or "NORMAL").strip().upper()
if SQLITE_SYNCHRONOUS not in ("NORMAL", "FULL"):
    raise ImproperlyConfigured(
        f"SQLITE_SYNCHRONOUS must be NORMAL or FULL, not {os.environ.get('SQLITE_SYNCHRONOUS')!r}."
    )

# Ended conversations (by `ended_at`), with their messages and the internal
# notes tied to them, internal messages, and customers with nothing left are
# deleted once older than this many days (a fraction allowed); 0 keeps
# everything forever. A year: transcripts are a business record that
# customers and supervisors come back to for months.
RETENTION_DAYS = env_float("RETENTION_DAYS", 365.0)
# The sweeper applies it (at most once per interval, in batches of at most
# RETENTION_BATCH rows of each kind, messages included, one short transaction
# each); off, run `manage.py queue purge` from cron instead.
RETENTION_SWEEP = env_bool("RETENTION_SWEEP", True)
RETENTION_INTERVAL_SECONDS = env_float("RETENTION_INTERVAL_SECONDS", 3600.0)
RETENTION_BATCH = env_int("RETENTION_BATCH", 200)
if RETENTION_DAYS < 0 or RETENTION_BATCH < 1 or RETENTION_INTERVAL_SECONDS <= 0:
    raise ImproperlyConfigured(
        "RETENTION_DAYS must be 0 or more, RETENTION_BATCH 1 or more, RETENTION_INTERVAL_SECONDS above 0."
    )

# SQLite: WAL so readers never wait for the writer; IMMEDIATE transactions
# so two writers queue on the busy timeout instead of failing on upgrade.
SQLITE_PATH = os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3"))
# Connections are kept (CONN_MAX_AGE) and checked before each reuse: after a
# PostgreSQL restart a kept connection is dead, and without the check the
# first query on each (a customer's join, say) would fail before Django
# replaced it. The check is one `SELECT 1` each time a thread takes its
# connection up again; on SQLite it costs nothing.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{SQLITE_PATH}"), conn_max_age=600, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = None  # opening costs the PRAGMAs
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            f"PRAGMA journal_mode=WAL;PRAGMA synchronous={SQLITE_SYNCHRONOUS};PRAGMA temp_store=MEMORY;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
# Namespaces this deployment's keys and channels in a shared Redis.
REDIS_PREFIX = os.environ.get("REDIS_PREFIX", "cs")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # A receive blocks in Redis for up to 5 s (BZPOPMIN); redis-py's
                # default socket timeout, 5 s too, would cut every quiet one
                # short with an error. Twice that, so that a Redis that
                # stopped answering is still noticed.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 10}],
                "prefix": REDIS_PREFIX,
                "capacity": 10_000,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 10_000}}
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

# English and Simplified Chinese (Accept-Language zh-CN, zh-SG and zh-Hans
# all map to zh-hans). Each language is named in itself, for the switchers.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/socket.io-client", BASE_DIR / "node_modules" / "socket.io-client" / "dist"),
]
# Where `collectstatic` gathers them (deploy/serve does), for the proxy to serve.
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
# Daphne serves no static files itself; in the embedded set-up the ASGI app
# does. Behind nginx serving STATIC_ROOT (deploy/nginx/chat.conf), 0.
SERVE_STATIC = env_bool("SERVE_STATIC", True)

# --- Files and images (docs/ATTACHMENTS.md) ---------------------------------------
# Where uploads are kept: Django's storage API. The default is a local folder;
# any django-storages backend by its dotted path, with its options as a JSON
# object (S3-compatible: FILE_STORAGE=storages.backends.s3.S3Storage and
# FILE_STORAGE_OPTIONS='{"bucket_name": "...", "endpoint_url": "..."}').
# Files are always served through the signed download view, never by URL.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or BASE_DIR / "media")
FILE_STORAGE = os.environ.get("FILE_STORAGE") or "django.core.files.storage.FileSystemStorage"
try:
    FILE_STORAGE_OPTIONS = json.loads(os.environ.get("FILE_STORAGE_OPTIONS") or "{}")
except ValueError as error:
    raise ImproperlyConfigured(f"FILE_STORAGE_OPTIONS must be a JSON object: {error}") from None
if not isinstance(FILE_STORAGE_OPTIONS, dict):
    raise ImproperlyConfigured("FILE_STORAGE_OPTIONS must be a JSON object.")
if FILE_STORAGE == "django.core.files.storage.FileSystemStorage":
    FILE_STORAGE_OPTIONS = {"location": str(MEDIA_ROOT), **FILE_STORAGE_OPTIONS}
elif FILE_STORAGE == "storages.backends.s3.S3Storage":
    # Its files fetch the whole object at their first read, by default into
    # memory however large: past 2 MB, into a temporary file instead.
    FILE_STORAGE_OPTIONS = {"max_memory_size": 2 * 1024 * 1024, **FILE_STORAGE_OPTIONS}
STORAGES = {
    "default": {"BACKEND": FILE_STORAGE, "OPTIONS": FILE_STORAGE_OPTIONS},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# One file's size at most, in bytes (a larger request is refused before it is read).
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
# The kinds accepted, told by the file's content, never by its name
# (chat.attachments.kinds lists them all).
UPLOAD_TYPES = env_list("UPLOAD_TYPES", ["png", "jpeg", "gif", "webp", "pdf", "txt", "csv", "zip"])
# Images above this many pixels are refused (a small file can decode to gigabytes).
UPLOAD_MAX_PIXELS = env_int("UPLOAD_MAX_PIXELS", 40_000_000)
# Thumbnails fit in a square of this many pixels.
UPLOAD_THUMBNAIL_PIXELS = env_int("UPLOAD_THUMBNAIL_PIXELS", 320)
# Download links are signed and last at least this long (a replay brings fresh ones).
ATTACHMENT_URL_MAX_AGE = env_int("ATTACHMENT_URL_MAX_AGE", 3600)
# An upload not sent in a message within this long is deleted by the sweeper.
UPLOAD_UNSENT_MAX_AGE = env_int("UPLOAD_UNSENT_MAX_AGE", 24 * 3600)
# Files of this size or less are held in memory while they are read; larger
# ones go to a temporary file.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/console/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- Safe defaults: HTTPS and cookies, Content-Security-Policy -------------------
# With DEBUG off (production) the site is HTTPS only, behind a proxy that ends
# TLS and sets X-Forwarded-Proto itself (docs/SECURITY.md, "Production
# checklist"); `manage.py check --deploy` is clean with these. Each has its
# variable, for a deployment that has a reason to differ.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Every page (the chat page, the console, the login and admin pages): scripts,
# styles and connections from this origin only, no inline script or style, no
# framing. 'self' in connect-src covers the page's own ws:/wss: origin for the
# Socket.IO WebSocket (CSP Level 3; the browser tests check it).
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "csp.middleware.CSPMiddleware"
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Login throttling (django-axes) ---------------------------------------------
# Failed sign-ins (console /accounts/login/ and /admin/login/) are counted per
# username and client address together; at the limit that pair is refused, the
# right password too, until the cool-off has passed since its last attempt.
# Supervisors unlock in admin (Axes, Access attempts: delete the row).
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last, as axes asks
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("LOGIN_COOLOFF_SECONDS", 15 * 60))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # no row per successful login: only failures are kept
AXES_LOCKOUT_CALLABLE = "agents.login_throttle.lockout_response"
AXES_CLIENT_IP_CALLABLE = "agents.login_throttle.login_client_ip"
# The address of an attempt: as for the rate limits, behind TRUSTED_PROXIES only.

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    # What a shutdown did (chat.realtime.drain): an operator reads it after a restart.
    "loggers": {"chat.realtime.drain": {"level": "INFO"}},
}

# Garbage collector tuning for the server process (see cs_project/asgi.py).
GC_TUNING = env_bool("GC_TUNING", True)
GC_THRESHOLDS = tuple(int(n) for n in env_list("GC_THRESHOLDS", ["50000", "20", "100"]))

# --- The chat service -------------------------------------------------------

# Origins allowed to open Socket.IO connections besides the page's own origin.
# Empty means same-origin only; "*" is refused in production.
SOCKETIO_CORS_ALLOWED_ORIGINS = env_list("SOCKETIO_CORS_ALLOWED_ORIGINS", [])
if not DEBUG and "*" in SOCKETIO_CORS_ALLOWED_ORIGINS:
    raise ImproperlyConfigured("SOCKETIO_CORS_ALLOWED_ORIGINS may not be '*' in production.")

# Engine.IO heartbeat: the server pings every interval; a client that has not
# answered within the timeout is disconnected (how a vanished client is found).
SOCKETIO_PING_INTERVAL = env_float("SOCKETIO_PING_INTERVAL", 25.0)
SOCKETIO_PING_TIMEOUT = env_float("SOCKETIO_PING_TIMEOUT", 20.0)

# A customer token older than this (seconds) is refused; every join issues a
# fresh one, so only a token left unused this long expires (docs/SECURITY.md).
CUSTOMER_TOKEN_MAX_AGE = env_int("CUSTOMER_TOKEN_MAX_AGE", 7 * 24 * 3600)

CHAT = {
    # An agent whose last socket is gone this long goes offline.
    "AGENT_GRACE_SECONDS": env_float("AGENT_GRACE_SECONDS", 60.0),
    # A conversation whose customer is gone and silent this long is closed.
    "CUSTOMER_IDLE_SECONDS": env_float("CUSTOMER_IDLE_SECONDS", 30 * 60.0),
    # How often the sweeper looks for the two above.
    "SWEEP_INTERVAL_SECONDS": env_float("SWEEP_INTERVAL_SECONDS", 5.0),
    # With REDIS_URL (several processes), each writes its heartbeat this
    # often; one silent for PROCESS_TIMEOUT_SECONDS is taken for dead and its
    # agents' sockets are taken back (docs/DEPLOY.md, section 12).
    "PROCESS_HEARTBEAT_SECONDS": env_float("PROCESS_HEARTBEAT_SECONDS", 5.0),
    "PROCESS_TIMEOUT_SECONDS": env_float("PROCESS_TIMEOUT_SECONDS", 30.0),
    # On SIGTERM (cs_project.uvicorn_server): at most this long to store and
    # ack what was received before the sockets are told to reconnect.
    "SHUTDOWN_DRAIN_SECONDS": env_float("SHUTDOWN_DRAIN_SECONDS", 5.0),
    "DEFAULT_CAPACITY": env_int("AGENT_DEFAULT_CAPACITY", 5),
    # Customer messages: a token bucket per customer (all its sockets in one process).
    "CUSTOMER_RATE_BURST": env_int("CUSTOMER_RATE_BURST", 300),
    "CUSTOMER_RATE_PER_SECOND": env_float("CUSTOMER_RATE_PER_SECOND", 20.0),
    # Used for queue wait estimates until there is history to go by.
    "DEFAULT_HANDLE_SECONDS": env_float("DEFAULT_HANDLE_SECONDS", 300.0),
    # At most this many queued conversations are listed in `queue:update`.
    "QUEUE_LIST_LIMIT": env_int("QUEUE_LIST_LIMIT", 100),
}
if not 0 < 2 * CHAT["PROCESS_HEARTBEAT_SECONDS"] <= CHAT["PROCESS_TIMEOUT_SECONDS"]:
    # A timeout shorter than two heartbeats would take live processes for dead.
    raise ImproperlyConfigured(
        "PROCESS_HEARTBEAT_SECONDS must be above 0 and PROCESS_TIMEOUT_SECONDS at least twice it."
    )

# --- Bounds (docs/SECURITY.md, "Bounds") ------------------------------------
# What the server holds for one client, one conversation or one queue.

# Frames waiting to be written to one socket (a client that stops reading):
# past either cap the socket is closed (its client resumes by reconnecting).
SOCKET_SEND_BUFFER_BYTES = env_int("SOCKET_SEND_BUFFER_BYTES", 4 * 1024 * 1024)
SOCKET_SEND_BUFFER_FRAMES = env_int("SOCKET_SEND_BUFFER_FRAMES", 1000)
# Messages waiting for the message writer, and new customers waiting for the
# join batcher: past these, `overloaded`.
MESSAGE_WRITER_MAX_QUEUE = env_int("MESSAGE_WRITER_MAX_QUEUE", 10_000)
JOIN_BATCHER_MAX_QUEUE = env_int("JOIN_BATCHER_MAX_QUEUE", 2_000)
# Messages one conversation may hold; past it a message is refused.
CONVERSATION_MAX_MESSAGES = env_int("CONVERSATION_MAX_MESSAGES", 10_000)
# Messages in a join's replay, in `customer:new`, and in a `messages:fetch`
# page (its default and most). The queue's pages: QUEUE_LIST_LIMIT above.
MESSAGE_PAGE_LIMIT = env_int("MESSAGE_PAGE_LIMIT", 200)
# Pages (`messages:fetch`, `queue:list`): a token bucket per socket.
PAGE_RATE_BURST = env_int("PAGE_RATE_BURST", 30)
PAGE_RATE_PER_SECOND = env_float("PAGE_RATE_PER_SECOND", 5.0)

# --- Rate limits (docs/SECURITY.md, "Rate limits") --------------------------

# Proxies whose X-Forwarded-For names the client (CIDRs or addresses, comma
# separated). Empty: the client is the TCP peer, whatever the header says.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])

RATE_LIMITS = {
    # Every event on a socket, checked as its frame arrives (token bucket).
    "CUSTOMER_EVENTS_BURST": env_int("LIMIT_CUSTOMER_EVENTS_BURST", 60),
    "CUSTOMER_EVENTS_PER_SECOND": env_float("LIMIT_CUSTOMER_EVENTS_PER_SECOND", 20.0),
    "AGENT_EVENTS_BURST": env_int("LIMIT_AGENT_EVENTS_BURST", 2000),
    "AGENT_EVENTS_PER_SECOND": env_float("LIMIT_AGENT_EVENTS_PER_SECOND", 1000.0),
    # A socket refused this many events (less this many forgiven a second) is closed.
    "REFUSALS_BEFORE_CLOSE": env_int("LIMIT_REFUSALS_BEFORE_CLOSE", 20),
    "REFUSALS_FORGIVEN_PER_SECOND": env_float("LIMIT_REFUSALS_FORGIVEN_PER_SECOND", 5.0),
    # Its address is then refused new sockets for this long (0: not at all).
    "FLOOD_HOLD_SECONDS": env_float("LIMIT_FLOOD_HOLD_SECONDS", 30.0),
    # Per client address, shared by every process through Redis with REDIS_URL.
    "SOCKETS_PER_IP": env_int("LIMIT_SOCKETS_PER_IP", 200),
    "NEW_CUSTOMERS_PER_IP": env_int("LIMIT_NEW_CUSTOMERS_PER_IP", 60),
    "NEW_CONVERSATIONS_PER_IP": env_int("LIMIT_NEW_CONVERSATIONS_PER_IP", 60),
    "IP_WINDOW_SECONDS": env_float("LIMIT_IP_WINDOW_SECONDS", 600.0),
    # Typing: at most one change forwarded per conversation per interval.
    "TYPING_INTERVAL_SECONDS": env_float("LIMIT_TYPING_INTERVAL_SECONDS", 1.0),
    # The same state again only after this long (pages drop an unrefreshed indicator after 8 s).
    "TYPING_REFRESH_SECONDS": env_float("LIMIT_TYPING_REFRESH_SECONDS", 4.0),
    # message:read writes, per socket; reads not past the last one write nothing.
    "READS_BURST": env_int("LIMIT_READS_BURST", 20),
    "READS_PER_SECOND": env_float("LIMIT_READS_PER_SECOND", 5.0),
    # agent:internal, per agent.
    "INTERNAL_BURST": env_int("LIMIT_INTERNAL_BURST", 30),
    "INTERNAL_PER_SECOND": env_float("LIMIT_INTERNAL_PER_SECOND", 5.0),
    # Uploads (POST /api/uploads/) per uploader and per address in IP_WINDOW_SECONDS,
    # shared by every process through Redis with REDIS_URL.
    "UPLOADS_PER_CUSTOMER": env_int("LIMIT_UPLOADS_PER_CUSTOMER", 30),
    "UPLOADS_PER_AGENT": env_int("LIMIT_UPLOADS_PER_AGENT", 300),
    "UPLOADS_PER_IP": env_int("LIMIT_UPLOADS_PER_IP", 100),
}
