import hashlib
import secrets

from django.conf import settings
from django.db import models


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def default_capacity() -> int:
    return settings.CHAT["DEFAULT_CAPACITY"]


class AgentStatus(models.TextChoices):
    ONLINE = "online"
    BUSY = "busy"
    OFFLINE = "offline"


class AgentProfile(models.Model):
    """An agent: a Django user who answers customers."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent")
    display_name = models.CharField(max_length=80)
    capacity = models.PositiveSmallIntegerField(default=default_capacity)
    skills = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=8, choices=AgentStatus.choices, default=AgentStatus.ONLINE)
    # True when the server, not the agent, set `offline` (grace period over):
    # the next login brings the agent back online.
    auto_offline = models.BooleanField(default=False)
    # Logged-in sockets across all server processes.
    sockets = models.PositiveIntegerField(default=0)
    last_disconnect_at = models.DateTimeField(null=True, blank=True)
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    # sha256 of the API token; the token itself is shown once, when issued.
    api_token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    # The console's language, chosen with its switcher; blank: the browser's.
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, blank=True, default="")

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name

    def issue_api_token(self) -> str:
        """Set a new API token and return it; the caller saves the profile."""
        token = secrets.token_urlsafe(32)
        self.api_token_hash = hash_token(token)
        return token
