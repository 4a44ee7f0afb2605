"""Which of the supported languages a reader gets.

Pages: Django's LocaleMiddleware (the switchers' cookie, else
Accept-Language). Sockets: `connection_language`, decided once at connect
from what the handshake carries, and kept with the socket (acks and system
messages in that language; error codes are the same in every language).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.utils import translation

CODES = tuple(code for code, _name in settings.LANGUAGES)


def supported(code) -> str | None:
    """The supported language for `code` ("zh-CN" -> "zh-hans"), or None."""
    if not isinstance(code, str) or not code or len(code) > 35:
        return None
    try:
        return translation.get_supported_language_variant(code.strip().lower())
    except LookupError:
        return None


def from_environ(environ: dict) -> str:
    """The language a page request with these headers would get (cookie, then Accept-Language)."""
    accept = environ.get("HTTP_ACCEPT_LANGUAGE", "")
    if not accept and settings.LANGUAGE_COOKIE_NAME not in environ.get("HTTP_COOKIE", ""):
        # Bots and load generators send neither: every socket connect asks.
        return settings.LANGUAGE_CODE
    request = HttpRequest()
    request.META = {"HTTP_ACCEPT_LANGUAGE": accept}
    request.COOKIES = parse_cookie(environ.get("HTTP_COOKIE", ""))
    return translation.get_language_from_request(request)


def connection_language(environ: dict, requested=None, preferred: str = "") -> str:
    """A socket's language: `auth.lang` if supported, else the agent's
    profile choice (`preferred`), else what a page would get."""
    return supported(requested) or supported(preferred) or from_environ(environ)
