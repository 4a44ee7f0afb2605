"""Views shared by every page: the language switcher and the script catalog."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views import i18n
from django.views.decorators.http import require_POST

from agents import selectors, services

from .languages import supported


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language (the language cookie, then back to `next`);
    an agent's choice is also kept on the profile, for every browser."""
    response = i18n.set_language(request)
    language = supported(request.POST.get("language"))
    agent = selectors.agent_for_user(request.user)
    if agent is not None and language is not None and language != agent.language:
        services.agent_language_set(agent_id=agent.id, language=language)
    return response


def set_language_cookie(response: HttpResponse, language: str) -> None:
    """The cookie set_language sets, for a language chosen elsewhere (an agent's login)."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


# The pages' scripts read their strings from here (the djangojs catalogs).
javascript_catalog = i18n.JavaScriptCatalog.as_view(domain="djangojs")
