"""The wallboard's views: the page, the fragment it refreshes, and the actions.

Thin: each reads its input, checks the right to see the wallboard, calls one
service (chat.services.supervision, which checks the right to act and
records the audit row) through `actions.run_from_sync` (which sends what the
service announced), and answers with the refreshed fragment and a message.
Wrapped by the admin site's `admin_view` (chat.wallboard.urls): staff only,
CSRF-protected, never cached.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from .. import actions
from ..errors import CONFLICT, FORBIDDEN, INVALID_PAYLOAD, NOT_FOUND, ChatError
from ..services import supervision
from . import selectors

VIEW_RIGHT = "agents.view_wallboard"
STATUS_OF = {INVALID_PAYLOAD: 400, FORBIDDEN: 403, NOT_FOUND: 404, CONFLICT: 409}


def _require_view_right(request: HttpRequest) -> None:
    if not request.user.has_perm(VIEW_RIGHT):
        raise PermissionDenied


def board_context(request: HttpRequest) -> dict:
    now = timezone.now()
    agents = selectors.agents()
    queue, queue_length = selectors.queue()
    return {
        "now": now,
        "agents": agents,
        "queue": [(row, int((now - row.waiting_since).total_seconds())) for row in queue],
        "queue_length": queue_length,
        "queue_more": queue_length - len(queue),
        "today": selectors.today(now),
        "can_change_conversations": request.user.has_perm(supervision.CHANGE_CONVERSATION),
        "can_change_agents": request.user.has_perm(supervision.CHANGE_AGENT),
    }


def make_views(admin_site) -> dict[str, Callable]:
    """The views, with the admin site's context (header, links) on the page."""

    @require_GET
    def page(request: HttpRequest) -> HttpResponse:
        _require_view_right(request)
        context = {**admin_site.each_context(request), **board_context(request), "title": _("Wallboard")}
        return TemplateResponse(request, "admin/wallboard/index.html", context)

    @require_GET
    def fragment(request: HttpRequest) -> HttpResponse:
        _require_view_right(request)
        return TemplateResponse(request, "admin/wallboard/board.html", board_context(request))

    return {
        "page": page,
        "fragment": fragment,
        "reassign": _action(_reassign),
        "requeue": _action(_requeue),
        "close": _action(_close),
        "set_offline": _action(_set_offline),
    }


class BadInput(Exception):
    pass


def _id(request: HttpRequest, name: str) -> int:
    text = request.POST.get(name, "")
    if not text.isdigit() or not 0 < int(text) < 2**63:
        raise BadInput
    return int(text)


def _reassign(request: HttpRequest) -> str:
    conversation_id = _id(request, "conversation_id")
    agent_id = _id(request, "agent_id")
    shape = actions.run_from_sync(
        supervision.conversation_reassign,
        actor_id=request.user.id,
        conversation_id=conversation_id,
        to_agent_id=agent_id,
    )
    return _("Conversation #%(id)s (%(customer)s) is now with %(agent)s.") % {
        "id": conversation_id,
        "customer": shape["customer"]["name"],
        "agent": shape["agent"]["name"],
    }


def _requeue(request: HttpRequest) -> str:
    conversation_id = _id(request, "conversation_id")
    status = actions.run_from_sync(
        supervision.conversation_requeue, actor_id=request.user.id, conversation_id=conversation_id
    )
    if status == "ended":
        return _("Conversation #%(id)s ended: no other agent is connected to take it from the queue.") % {
            "id": conversation_id
        }
    return _("Conversation #%(id)s is back at the head of the queue.") % {"id": conversation_id}


def _close(request: HttpRequest) -> str:
    conversation_id = _id(request, "conversation_id")
    actions.run_from_sync(
        supervision.conversation_close, actor_id=request.user.id, conversation_id=conversation_id
    )
    return _("Conversation #%(id)s closed.") % {"id": conversation_id}


def _set_offline(request: HttpRequest) -> str:
    agent_id = _id(request, "agent_id")
    state = actions.run_from_sync(supervision.agent_set_offline, actor_id=request.user.id, agent_id=agent_id)
    return _("%(agent)s is now offline.") % {"agent": state["name"]}


def _action(do: Callable[[HttpRequest], str]) -> Callable:
    """A POST that runs `do` and answers with the board and `do`'s message (or the refusal)."""

    @require_POST
    def view(request: HttpRequest) -> HttpResponse:
        _require_view_right(request)
        try:
            text, level, status = do(request), messages.SUCCESS, 200
        except BadInput:
            text, level, status = _("That request is incomplete or malformed."), messages.ERROR, 400
        except ChatError as error:
            text, level, status = error.message, messages.ERROR, STATUS_OF.get(error.code, 400)
        if not request.htmx:
            # Without scripts: back to the page, which shows the message.
            messages.add_message(request, level, text)
            return redirect("admin:wallboard")
        context = {
            **board_context(request),
            "message": text,
            "message_class": "success" if level == messages.SUCCESS else "error",
        }
        return TemplateResponse(request, "admin/wallboard/action.html", context, status=status)

    return view
