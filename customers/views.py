from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from chat.attachments import page_limits

from .selectors import offered_topics


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The customer chat page; everything after the first paint is Socket.IO
    (and uploads, within `upload_limits`, which the page checks before sending)."""
    return render(
        request, "customers/chat.html", {"topics": offered_topics(), "upload_limits": page_limits()}
    )
