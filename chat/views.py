"""HTTP endpoints of chat: uploading an attachment and downloading one.

Thin, as the socket handlers are: who is asking, one service or selector,
the answer. Errors are the JSON of PROTOCOL.md, `{ok: false, error: {code,
message}}`, the message in the request's language.
"""

from __future__ import annotations

import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from agents.models import AgentProfile

from . import selectors
from .attachments import links
from .errors import FORBIDDEN, INVALID_PAYLOAD, NOT_FOUND, RATE_LIMITED, TOO_LARGE, UNAUTHORIZED, ChatError
from .errors import UNSUPPORTED_TYPE as UNSUPPORTED
from .models import Attachment
from .realtime.limits import uploads as upload_limits
from .realtime.limits.addresses import client_address
from .services import uploads

STATUS = {
    UNAUTHORIZED: 401,
    FORBIDDEN: 403,
    NOT_FOUND: 404,
    TOO_LARGE: 413,
    UNSUPPORTED: 415,
    RATE_LIMITED: 429,
    INVALID_PAYLOAD: 400,
}
# Shown inline (in an <img>, or opened in a tab): raster images only. Anything
# else is a download, so an HTML or SVG file never runs in this origin.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
CHUNK = 256 * 1024


def error_response(error: ChatError) -> JsonResponse:
    return JsonResponse(error.as_ack(), status=STATUS.get(error.code, 400))


def _uploader(request: HttpRequest) -> tuple[int | None, int | None]:
    """(customer id, agent id) of who uploads, one of them set; raise `unauthorized`.

    A bearer token is a customer's token or an agent's API token; without
    one, a signed-in agent's session, with the CSRF header.
    """
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _sep, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > 512:
            raise ChatError(UNAUTHORIZED, _("Send `Authorization: Bearer <token>`."))
        found = selectors.customer_by_token(token=token)
        if found is not None:
            return found[0], None
        agent_id = AgentProfile.objects.active().with_api_token(token).values_list("id", flat=True).first()
        if agent_id is not None:
            return None, agent_id
        raise ChatError(UNAUTHORIZED, _("The token is not valid (expired or revoked)."))
    if request.user.is_authenticated:
        if CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {}) is not None:
            raise ChatError(FORBIDDEN, _("The CSRF header is missing or wrong."))
        agent_id = (
            AgentProfile.objects.active().filter(user=request.user).values_list("id", flat=True).first()
        )
        if agent_id is not None:
            return None, agent_id
        raise ChatError(FORBIDDEN, _("Only agents and customers may upload."))
    raise ChatError(UNAUTHORIZED, _("Sign in, or send a customer's or agent's token."))


def _files(request: HttpRequest) -> list:
    """The request's `file` parts; a body that is not multipart/form-data is `invalid_payload`."""
    if request.content_type != "multipart/form-data":
        raise ChatError(INVALID_PAYLOAD, _("Send the file as multipart/form-data."))
    try:
        return request.FILES.getlist("file")
    except (MultiPartParserError, TooManyFieldsSent, TooManyFilesSent):
        raise ChatError(INVALID_PAYLOAD, _("The multipart/form-data body could not be read.")) from None
    except RequestDataTooBig:
        raise uploads.too_large() from None


@csrf_exempt  # checked in _uploader when a session is what identifies
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    """`POST /api/uploads/`: multipart field `file`; `201 {ok, attachment}`."""
    try:
        customer_id, agent_id = _uploader(request)
        address = client_address(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR"))
        upload_limits.check(address=address, customer_id=customer_id, agent_id=agent_id)
        files = _files(request)
        if len(files) != 1 or set(request.FILES) != {"file"}:
            raise ChatError(INVALID_PAYLOAD, _("Send exactly one file, in the field `file`."))
        attachment = uploads.attachment_upload(upload=files[0], customer_id=customer_id, agent_id=agent_id)
    except ChatError as error:
        return error_response(error)
    return JsonResponse({"ok": True, "attachment": attachment}, status=201)


def _forbidden() -> JsonResponse:
    return error_response(ChatError(FORBIDDEN, _("This link is not valid or has expired.")))


def _open(name: str):
    """The stored file open for reading with its first chunk read, or None when it is gone.

    Both happen before the response starts, so that a file missing from the
    storage is a 404 and a storage that fails is a 500, never a 200 whose
    body breaks off: the status and Content-Length are sent before the first
    byte of the body. (An S3 backend, django-storages' S3File, fetches the
    whole object on the first read, so reading it here is also what tells
    whether the bucket gives it.)
    """
    try:
        handle = default_storage.open(name, "rb")
    except FileNotFoundError:
        return None
    try:
        return handle, handle.read(CHUNK)
    except BaseException:
        handle.close()
        raise


async def _chunks(handle, first: bytes):
    try:
        chunk = first
        while chunk:
            yield chunk
            chunk = await sync_to_async(handle.read, thread_sensitive=False)(CHUNK)
    finally:
        await sync_to_async(handle.close, thread_sensitive=False)()


@require_GET
async def download(request: HttpRequest, attachment_id: int, part: str) -> HttpResponse:
    """`GET /api/attachments/<id>/<file|thumbnail>?e=&s=`: the bytes, for a valid signed link."""
    if not links.valid(attachment_id, part, request.GET.get("e"), request.GET.get("s")):
        return _forbidden()
    attachment = await Attachment.objects.filter(id=attachment_id).afirst()
    name = attachment and (attachment.file.name if part == "file" else attachment.thumbnail.name)
    opened = name and await sync_to_async(_open, thread_sensitive=False)(name)
    if not opened:
        return error_response(ChatError(NOT_FOUND, _("No such file (it may have been deleted).")))
    if part == "thumbnail":
        content_type, size, inline = "image/webp", None, True
    else:
        content_type, size = attachment.content_type, attachment.size
        inline = content_type in INLINE_TYPES
    if content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    response = StreamingHttpResponse(_chunks(*opened), content_type=content_type)
    if size is not None:
        response["Content-Length"] = str(size)
    response["Content-Disposition"] = content_disposition_header(not inline, attachment.name)
    response["X-Content-Type-Options"] = "nosniff"
    # Whatever the bytes are, they run nothing here, even opened on their own.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # The link itself expires; a browser may keep what it fetched until then.
    remaining = max(0, int(request.GET["e"]) - int(time.time()))
    response["Cache-Control"] = f"private, max-age={min(remaining, settings.ATTACHMENT_URL_MAX_AGE)}"
    return response
