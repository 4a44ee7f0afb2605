"""The agent console: one page, and the htmx fragments it swaps in.

Everything live (messages, typing, status, assignment) goes over Socket.IO
from static/js/console.js; these views only render what is stored.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from chat import system_notes
from chat.attachments import page_limits
from chat.models import ConversationStatus
from cs_project.views import set_language_cookie

from . import selectors
from .models import AgentStatus


class AgentAuthenticationForm(AuthenticationForm):
    """Only users with an agent profile may sign in to the console."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if selectors.agent_for_user(user) is None:
            raise ValidationError(_("This account is not an agent."), code="not_agent")


class ConsoleLoginView(auth_views.LoginView):
    template_name = "agents/login.html"
    authentication_form = AgentAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        # The language the agent chose, on any browser they sign in from.
        agent = selectors.agent_for_user(form.get_user())
        if agent is not None and agent.language:
            set_language_cookie(response, agent.language)
        return response


def agent_required(view):
    """Login required, and the user must be an agent (403 otherwise)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        agent = selectors.agent_for_user(request.user)
        if agent is None:
            return render(request, "agents/not_agent.html", status=403)
        request.agent = agent
        return view(request, *args, **kwargs)

    return wrapper


@require_GET
@agent_required
def console(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "agents/console.html",
        {"me": request.agent, "statuses": AgentStatus.choices, "upload_limits": page_limits()},
    )


@require_GET
@agent_required
def conversation_list(request: HttpRequest) -> HttpResponse:
    conversations = list(selectors.console_conversations(request.agent.id))
    for conversation in conversations:
        # A system message last: worded for an agent, in this page's language
        # (any other message keeps its text: wording() falls back to it).
        conversation.last_text = system_notes.wording(
            conversation.last_system_code,
            conversation.last_system_params,
            system_notes.AGENT,
            conversation.last_text,
        )
    return render(request, "agents/fragments/conversation_list.html", {"conversations": conversations})


@require_GET
@agent_required
def conversation_detail(request: HttpRequest, conversation_id: int) -> HttpResponse:
    found = selectors.conversation_with_messages(conversation_id)
    # The open conversation (with a composer) is the assigned agent's only.
    if found is None or found[0].agent_id != request.agent.id or found[0].status != ConversationStatus.ACTIVE:
        raise Http404(_("Not one of your open conversations."))
    conversation, messages = found
    return render(
        request,
        "agents/fragments/conversation.html",
        {"conversation": conversation, "messages": messages, "me": request.agent},
    )


@require_GET
@agent_required
def customer_panel(request: HttpRequest, customer_id: int) -> HttpResponse:
    conversations = list(selectors.customer_conversations(customer_id))
    if not conversations:
        raise Http404(_("No such customer."))
    return render(
        request,
        "agents/fragments/customer_panel.html",
        {"customer": conversations[0].customer, "conversations": conversations},
    )


@require_GET
@agent_required
def transcript(request: HttpRequest, conversation_id: int) -> HttpResponse:
    # Every agent may read any customer's history (PROTOCOL: conversation:history).
    found = selectors.conversation_with_messages(conversation_id)
    if found is None:
        raise Http404(_("No such conversation."))
    conversation, messages = found
    return render(
        request, "agents/fragments/transcript.html", {"conversation": conversation, "messages": messages}
    )


@require_GET
@agent_required
def queue(request: HttpRequest) -> HttpResponse:
    shown = list(selectors.queue_for_console(settings.CHAT["QUEUE_LIST_LIMIT"]))
    length = selectors.queue_length() if len(shown) == settings.CHAT["QUEUE_LIST_LIMIT"] else len(shown)
    context = {"queue": shown, "length": length, "more": length - len(shown)}
    return render(request, "agents/fragments/queue.html", context)


@require_GET
@agent_required
def roster(request: HttpRequest) -> HttpResponse:
    return render(
        request, "agents/fragments/roster.html", {"agents": selectors.roster(), "me": request.agent}
    )


@require_GET
@agent_required
def internal_thread(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("with", "")
    with_agent = None
    if raw:
        if not raw.isdigit():
            raise Http404(_("No such agent."))
        with_agent = selectors.roster().filter(id=int(raw)).first()
        if with_agent is None or with_agent.id == request.agent.id:
            raise Http404(_("No such agent."))
    messages = selectors.internal_thread(request.agent.id, with_agent.id if with_agent else None)
    return render(
        request,
        "agents/fragments/internal_thread.html",
        {"messages": messages, "with_agent": with_agent, "me": request.agent},
    )
