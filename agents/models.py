from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def default_capacity() -> int:
    return settings.CHAT["DEFAULT_CAPACITY"]


class AgentStatus(models.TextChoices):
    # Labels are read (admin, the console); values are stored and on the wire.
    ONLINE = "online", pgettext_lazy("agent status", "Online")
    BUSY = "busy", pgettext_lazy("agent status", "Busy")
    OFFLINE = "offline", pgettext_lazy("agent status", "Offline")


class AgentProfileQuerySet(models.QuerySet):
    def active(self) -> AgentProfileQuerySet:
        """Agents whose user may still sign in and act (a deactivated user's may not)."""
        return self.filter(user__is_active=True)

    def with_api_token(self, token: str) -> AgentProfileQuerySet:
        """The agent this API token was issued to (only its hash is stored)."""
        return self.filter(api_token_hash=hash_token(token))


class AgentProfile(models.Model):
    """An agent: a Django user who answers customers."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent", verbose_name=_("user")
    )
    display_name = models.CharField(
        _("display name"), max_length=80, help_text=_("The name customers and other agents see.")
    )
    capacity = models.PositiveSmallIntegerField(
        _("capacity"),
        default=default_capacity,
        help_text=_("How many conversations the agent serves at once."),
    )
    skills = models.JSONField(
        _("skills"),
        default=list,
        blank=True,
        help_text=_(
            'Topics the agent serves, as a JSON list such as ["billing"]: a topic that names a skill'
            " goes only to agents with that skill."
        ),
    )
    status = models.CharField(
        _("status"), max_length=8, choices=AgentStatus.choices, default=AgentStatus.ONLINE
    )
    # True when the server, not the agent, set `offline` (grace period over):
    # the next login brings the agent back online.
    auto_offline = models.BooleanField(
        _("offline by the server"),
        default=False,
        help_text=_(
            "Set offline by the server after a disconnection: the next sign-in brings the agent back online."
        ),
    )
    # Logged-in sockets across all server processes.
    sockets = models.PositiveIntegerField(
        _("connections"), default=0, help_text=_("Signed-in connections, across every server process.")
    )
    last_disconnect_at = models.DateTimeField(_("last disconnected at"), null=True, blank=True)
    last_assigned_at = models.DateTimeField(_("last assigned at"), null=True, blank=True)
    # sha256 of the API token; the token itself is shown once, when issued.
    api_token_hash = models.CharField(
        _("API token hash"),
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text=_("The SHA-256 of the API token; the token itself is shown once, when issued."),
    )
    # The console's language, chosen with its switcher; blank: the browser's.
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        default="",
        help_text=_("The console's language; empty: the browser's."),
    )

    objects = AgentProfileQuerySet.as_manager()

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name

    def issue_api_token(self) -> str:
        """Set a new API token and return it; the caller saves the profile."""
        token = secrets.token_urlsafe(32)
        self.api_token_hash = hash_token(token)
        return token


class SupervisorActionKind(models.TextChoices):
    REASSIGN = "reassign", _("Reassigned a conversation")
    REQUEUE = "requeue", _("Returned a conversation to the queue")
    CLOSE = "close", _("Closed a conversation")
    SET_OFFLINE = "set_offline", _("Set an agent offline")


class SupervisorAction(models.Model):
    """The audit log: what a supervisor did, who and when.

    Conversations and agents are kept by id, not by foreign key: the log
    outlives what retention and admin delete, and a deleted actor keeps
    their name here.
    """

    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("supervisor"),
    )
    actor_name = models.CharField(_("supervisor's name"), max_length=150)
    action = models.CharField(_("action"), max_length=16, choices=SupervisorActionKind.choices)
    conversation_id = models.PositiveBigIntegerField(_("conversation"), null=True, blank=True)
    # The agent the action is about: the one set offline, or given the conversation.
    agent_id = models.PositiveBigIntegerField(_("agent"), null=True, blank=True)
    # Who held the conversation before (reassign, requeue, close).
    previous_agent_id = models.PositiveBigIntegerField(_("previous agent"), null=True, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("supervisor action")
        verbose_name_plural = _("supervisor actions")
        ordering = ["-created_at", "-id"]
        # Rights with no model of their own; the Supervisors group holds them.
        permissions = [
            ("view_wallboard", _("Can see the wallboard")),
            ("view_reports", _("Can see the reports")),
        ]

    def __str__(self) -> str:
        return f"{self.actor_name}: {self.get_action_display()}"
