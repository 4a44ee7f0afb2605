from django.contrib import admin, messages

from . import actions
from .errors import ChatError
from .models import Conversation, ConversationStatus, InternalMessage, LiveQueue, Message
from .services import endings


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("id", "created_at", "sender", "sender_name", "text", "status")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("id",)

    def has_add_permission(self, request, obj=None):
        return False


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
    )
    list_filter = ("status", "end_reason", "topic", "agent")
    search_fields = ("customer__name", "customer__email", "messages__text")
    readonly_fields = [f.name for f in Conversation._meta.fields]
    list_select_related = ("customer", "agent")
    inlines = [MessageInline]
    actions = ["close", "return_to_queue"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def _each(self, request, queryset, service, done: str) -> None:
        ok = 0
        for conversation in queryset:
            try:
                actions.run_from_sync(service, conversation_id=conversation.id)
                ok += 1
            except ChatError as error:
                self.message_user(request, f"#{conversation.id}: {error.message}", messages.WARNING)
        if ok:
            self.message_user(request, f"{ok} conversation(s) {done}.", messages.SUCCESS)

    @admin.action(description="Close the selected conversations")
    def close(self, request, queryset):
        self._each(request, queryset, endings.conversation_close_by_supervisor, "closed")

    @admin.action(description="Return the selected conversations to the head of the queue")
    def return_to_queue(self, request, queryset):
        self._each(
            request,
            queryset.filter(status=ConversationStatus.ACTIVE),
            endings.conversation_requeue_by_supervisor,
            "returned to the queue",
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
    list_display = ("id", "conversation", "sender", "sender_name", "short_text", "status", "created_at")
    list_filter = ("sender", "status")
    search_fields = ("text", "sender_name")
    readonly_fields = [f.name for f in Message._meta.fields]
    list_select_related = ("conversation",)

    def has_add_permission(self, request):
        return False

    @admin.display(description="text")
    def short_text(self, obj):
        return obj.text[:80]


@admin.register(InternalMessage)
class InternalMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "sender", "to_agent", "conversation", "text", "created_at")
    list_filter = ("sender",)
    search_fields = ("text",)
    readonly_fields = [f.name for f in InternalMessage._meta.fields]

    def has_add_permission(self, request):
        return False
