from django.contrib import admin, messages
from django.utils.translation import gettext_lazy, ngettext

from chat import actions
from chat.services import identity

from .models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "email", "created_at", "last_seen_at")
    search_fields = ("name", "email")
    readonly_fields = ("created_at", "last_seen_at")
    actions = ["revoke_tokens"]

    @admin.action(
        description=gettext_lazy("Revoke the selected customers' tokens (ends their chats and sockets)"),
        permissions=["change"],
    )
    def revoke_tokens(self, request, queryset):
        for customer in queryset:
            actions.run_from_sync(identity.customer_tokens_revoke, customer_id=customer.id)
        self.message_user(
            request,
            ngettext(
                "%(count)d customer signed out: their tokens no longer work.",
                "%(count)d customers signed out: their tokens no longer work.",
                len(queryset),
            )
            % {"count": len(queryset)},
            messages.SUCCESS,
        )
