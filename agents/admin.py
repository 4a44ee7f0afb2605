from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from chat import actions
from chat.admin import ReadOnlyAdmin
from chat.models import ConversationStatus
from chat.services import presence, supervision

from .models import AgentProfile, AgentStatus, SupervisorAction
from .services import agent_deactivate, agent_rotate_api_token


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = (
        "display_name",
        "user",
        "status",
        "active",
        "capacity",
        "skills",
        "sockets",
        "last_assigned_at",
    )
    list_filter = ("status",)
    search_fields = ("display_name", "user__username")
    list_editable = ("capacity",)
    readonly_fields = ("sockets", "last_disconnect_at", "last_assigned_at", "auto_offline", "api_token_hash")
    actions = ["rotate_api_token", "deactivate"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("user")
            .annotate(
                active_count=Count("conversations", filter=Q(conversations__status=ConversationStatus.ACTIVE))
            )
        )

    @admin.display(description=gettext_lazy("active conversations"), ordering="active_count")
    def active(self, obj):
        return obj.active_count

    def save_model(self, request, obj, form, change):
        capacity, status = obj.capacity, obj.status
        changes = []
        if change and "status" in form.changed_data:
            # Through the services below (conversations released, the queue served).
            obj.status = form.initial["status"]
            if status == AgentStatus.OFFLINE:
                # As on the wallboard: written to the audit log.
                changes.append((supervision.agent_set_offline, {"actor_id": request.user.id}))
            else:
                changes.append((presence.agent_set_status, {"status": status}))
        if change and "capacity" in form.changed_data:
            # So that the queue drains into new room.
            changes.append((presence.agent_set_capacity, {"capacity": capacity}))
        super().save_model(request, obj, form, change)
        for service, kwargs in changes:
            # Inside admin's transaction: their events go once it commits.
            actions.run_from_sync(service, agent_id=obj.id, **kwargs)

    @admin.action(description=gettext_lazy("Issue a new API token (shown once)"))
    def rotate_api_token(self, request, queryset):
        for profile in queryset:
            # Sockets opened with the old token are disconnected everywhere.
            token = agent_rotate_api_token(agent_id=profile.id)
            self.message_user(
                request,
                _("%(agent)s: %(token)s (the new API token, shown this once)")
                % {"agent": profile.display_name, "token": token},
                messages.SUCCESS,
            )

    def has_deactivate_permission(self, request) -> bool:
        # Deactivating changes the agent's user: both change permissions.
        user_model = get_user_model()._meta
        return self.has_change_permission(request) and request.user.has_perm(
            f"{user_model.app_label}.change_{user_model.model_name}"
        )

    @admin.action(
        description=gettext_lazy("Deactivate the selected agents (sign them out everywhere)"),
        permissions=["deactivate"],
    )
    def deactivate(self, request, queryset):
        for profile in queryset:
            agent_deactivate(agent_id=profile.id)
            # Offline at once: the conversations go back to the queue now,
            # not after the grace period of an agent who may come back.
            if profile.status != AgentStatus.OFFLINE:
                actions.run_from_sync(
                    supervision.agent_set_offline, actor_id=request.user.id, agent_id=profile.id
                )
            else:
                actions.run_from_sync(
                    presence.agent_set_status, agent_id=profile.id, status=AgentStatus.OFFLINE
                )
        self.message_user(
            request,
            ngettext(
                "%(count)d agent deactivated; their sockets are disconnected.",
                "%(count)d agents deactivated; their sockets are disconnected.",
                len(queryset),
            )
            % {"count": len(queryset)},
            messages.SUCCESS,
        )


@admin.register(SupervisorAction)
class SupervisorActionAdmin(ReadOnlyAdmin):
    """The audit log: read only, for supervisors and administrators alike."""

    list_display = ("created_at", "actor_name", "action", "conversation_id", "agent_id", "detail")
    list_filter = ("action", "actor_name")
    search_fields = ("actor_name", "detail", "=conversation_id")
    date_hierarchy = "created_at"
