from django.contrib import admin, messages
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from . import actions, attachments, system_notes
from .errors import ChatError
from .models import (
    Attachment,
    Conversation,
    ConversationStatus,
    InternalMessage,
    LiveQueue,
    Message,
    ProcessAgentSockets,
    Sender,
    ServerProcess,
)
from .services import supervision


def sender_name_shown(message: Message) -> str:
    # System messages are stored with an English sender name.
    return message.get_sender_display() if message.sender == Sender.SYSTEM else message.sender_name


def attachment_html(attachment: Attachment | None) -> str:
    """An attachment as a transcript shows it: a thumbnail opening the image, or
    the file's name and size as a download link (fresh signed links)."""
    if attachment is None:
        return ""
    shape = attachments.shape(attachment)
    if shape["thumbnail_url"]:
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="{}" class="attachment-thumb"'
            ' width="{}" height="{}"></a>',
            shape["url"],
            shape["thumbnail_url"],
            shape["name"],
            *_thumb_box(shape["width"], shape["height"]),
        )
    return format_html('<a href="{}">{}</a> ({})', shape["url"], shape["name"], filesizeformat(shape["size"]))


def _thumb_box(width: int, height: int, side: int = 120) -> tuple[int, int]:
    scale = min(1.0, side / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _message_attachment(message: Message) -> str:
    return attachment_html(getattr(message, "attachment", None))


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("id", "created_at", "sender", "shown_sender_name", "shown_text", "shown_attachment", "status")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("id",)

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("attachment")

    @admin.display(description=gettext_lazy("attachment"))
    def shown_attachment(self, obj):
        return _message_attachment(obj)

    @admin.display(description=gettext_lazy("sender name"))
    def shown_sender_name(self, obj):
        return sender_name_shown(obj)

    @admin.display(description=gettext_lazy("text"))
    def shown_text(self, obj):
        return obj.text_for(system_notes.AGENT)


def _closed(count: int) -> str:
    return ngettext("%(count)d conversation closed.", "%(count)d conversations closed.", count) % {
        "count": count
    }


def _requeued(count: int) -> str:
    return ngettext(
        "%(count)d conversation returned to the head of the queue.",
        "%(count)d conversations returned to the head of the queue.",
        count,
    ) % {"count": count}


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "customer",
        "status",
        "agent",
        "topic",
        "created_at",
        "assigned_at",
        "ended_at",
        "end_reason",
        "rating",
    )
    list_filter = ("status", "end_reason", "rating", "topic", "agent")
    search_fields = ("customer__name", "customer__email", "messages__text")
    readonly_fields = [f.name for f in Conversation._meta.fields]
    list_select_related = ("customer", "agent")
    inlines = [MessageInline]
    actions = ["close", "return_to_queue"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def _each(self, request, queryset, service, done) -> None:
        """`service` on each conversation, as this supervisor (each one written to
        the audit log); `done(count)` says how many it changed."""
        ok = 0
        for conversation in queryset:
            try:
                actions.run_from_sync(service, actor_id=request.user.id, conversation_id=conversation.id)
                ok += 1
            except ChatError as error:
                self.message_user(
                    request,
                    _("Conversation #%(id)s: %(error)s") % {"id": conversation.id, "error": error.message},
                    messages.WARNING,
                )
        if ok:
            self.message_user(request, done(ok), messages.SUCCESS)

    @admin.action(description=gettext_lazy("Close the selected conversations"), permissions=["change"])
    def close(self, request, queryset):
        self._each(request, queryset, supervision.conversation_close, _closed)

    @admin.action(
        description=gettext_lazy("Return the selected conversations to the head of the queue"),
        permissions=["change"],
    )
    def return_to_queue(self, request, queryset):
        self._each(
            request,
            queryset.filter(status=ConversationStatus.ACTIVE),
            supervision.conversation_requeue,
            _requeued,
        )


@admin.register(LiveQueue)
class LiveQueueAdmin(ConversationAdmin):
    list_display = ("id", "customer", "topic", "queued_at")
    list_filter = ("topic",)
    inlines = []
    actions = ["close"]
    date_hierarchy = None

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(status=ConversationStatus.QUEUED)
            .order_by("queue_order", "id")
        )


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "conversation",
        "sender",
        "shown_sender_name",
        "short_text",
        "shown_attachment",
        "status",
        "created_at",
    )
    list_filter = ("sender", "status")
    search_fields = ("text", "sender_name")
    # The stored text, and below it what agents read (a system message in the viewer's language).
    readonly_fields = [*(f.name for f in Message._meta.fields), "shown_text", "shown_attachment"]
    list_select_related = ("conversation", "attachment")

    @admin.display(description=gettext_lazy("attachment"))
    def shown_attachment(self, obj):
        return _message_attachment(obj)

    def has_add_permission(self, request):
        return False

    @admin.display(description=gettext_lazy("sender name"), ordering="sender_name")
    def shown_sender_name(self, obj):
        return sender_name_shown(obj)

    @admin.display(description=gettext_lazy("text"))
    def short_text(self, obj):
        return obj.text_for(system_notes.AGENT)[:80]

    @admin.display(description=gettext_lazy("as agents read it"))
    def shown_text(self, obj):
        return obj.text_for(system_notes.AGENT)


@admin.register(InternalMessage)
class InternalMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "sender", "to_agent", "conversation", "text", "created_at")
    list_filter = ("sender",)
    search_fields = ("text",)
    readonly_fields = [f.name for f in InternalMessage._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "content_type", "shown_size", "customer", "agent", "message", "created_at")
    list_filter = ("content_type",)
    search_fields = ("name",)
    list_select_related = ("customer", "agent", "message")
    # The stored names stay out: the file is reached by its signed link only.
    fields = readonly_fields = [
        *(f.name for f in Attachment._meta.fields if f.name not in ("file", "thumbnail")),
        "shown_file",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("size"), ordering="size")
    def shown_size(self, obj):
        return filesizeformat(obj.size)

    @admin.display(description=gettext_lazy("download"))
    def shown_file(self, obj):
        return attachment_html(obj)


class ProcessAgentSocketsInline(admin.TabularInline):
    model = ProcessAgentSockets
    fields = readonly_fields = ("agent", "sockets")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the application: listed and shown, never added, changed or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ServerProcess)
class ServerProcessAdmin(ReadOnlyAdmin):
    """The server processes alive now: what each holds is its heartbeat's to keep."""

    list_display = ("id", "host", "pid", "started_at", "heartbeat_at", "agent_connections")
    fields = readonly_fields = ("id", "host", "pid", "started_at", "heartbeat_at")
    inlines = [ProcessAgentSocketsInline]

    @admin.display(description=gettext_lazy("agent connections"))
    def agent_connections(self, obj):
        return sum(held.sockets for held in obj.agent_sockets.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("agent_sockets")
