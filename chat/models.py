from django.db import models
from django.db.models import Q


class ConversationStatus(models.TextChoices):
    QUEUED = "queued"
    ACTIVE = "active"
    ENDED = "ended"


class EndReason(models.TextChoices):
    AGENT_ENDED = "agent_ended"
    CUSTOMER_LEFT = "customer_left"
    CUSTOMER_IDLE = "customer_idle"
    AGENT_OFFLINE = "agent_offline"
    CLOSED_BY_SUPERVISOR = "closed_by_supervisor"


class Conversation(models.Model):
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="conversations")
    agent = models.ForeignKey(
        "agents.AgentProfile",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
    )
    status = models.CharField(max_length=8, choices=ConversationStatus.choices)
    topic = models.CharField(max_length=80, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Queue order: smaller is served first. Requeued conversations get a
    # value below every waiting one, so they go back to the head.
    queue_order = models.BigIntegerField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=24, choices=EndReason.choices, null=True, blank=True)
    # The customer's and agents' messages stored by the message writer, which
    # keeps this count in the same transaction and refuses a message past
    # CONVERSATION_MAX_MESSAGES (system notes are not counted nor refused).
    message_count = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "queue_order"], name="conv_queue_idx"),
            models.Index(fields=["agent", "status"], name="conv_agent_status_idx"),
            models.Index(fields=["customer", "status"], name="conv_customer_status_idx"),
        ]
        constraints = [
            # One open conversation per customer, enforced by the database.
            models.UniqueConstraint(
                fields=["customer"],
                condition=~Q(status="ended"),
                name="one_open_conversation_per_customer",
            ),
            models.CheckConstraint(
                condition=Q(status="queued", agent__isnull=True)
                | Q(status="active", agent__isnull=False)
                | Q(status="ended"),
                name="conversation_agent_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return f"Conversation #{self.pk} ({self.status})"


class LiveQueue(Conversation):
    """The waiting conversations, as supervisors see them in admin."""

    class Meta:
        proxy = True
        verbose_name = "queued conversation (live queue)"
        verbose_name_plural = "live queue"


class Sender(models.TextChoices):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


class DeliveryStatus(models.IntegerChoices):
    SENT = 0, "sent"
    DELIVERED = 1, "delivered"
    READ = 2, "read"


class Message(models.Model):
    # Every index is written with each message. The foreign keys' own indexes
    # are left out: msg_conv_id_idx starts with the conversation, and agents'
    # messages have a partial index (customers' messages have no agent).
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    sender = models.CharField(max_length=8, choices=Sender.choices)
    sender_agent = models.ForeignKey(
        "agents.AgentProfile", on_delete=models.SET_NULL, null=True, blank=True, db_index=False
    )
    sender_name = models.CharField(max_length=80)
    text = models.TextField()
    client_id = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField()
    status = models.PositiveSmallIntegerField(choices=DeliveryStatus.choices, default=DeliveryStatus.SENT)
    # System messages: what happened, as a code and its parameters
    # (chat.system_notes), shown in each reader's language. `text` keeps the
    # default language's wording for reading the table as it is. Database
    # defaults: the message writer's own INSERT leaves these out.
    system_code = models.CharField(max_length=40, blank=True, default="", db_default="")
    system_params = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["conversation", "id"], name="msg_conv_id_idx"),
            models.Index(fields=["conversation", "sender", "status"], name="msg_conv_unread_idx"),
            models.Index(
                fields=["sender_agent"], condition=Q(sender_agent__isnull=False), name="msg_sender_agent_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "sender", "client_id"],
                condition=Q(client_id__isnull=False),
                name="message_client_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sender} #{self.pk}: {self.text[:40]}"


class InternalMessage(models.Model):
    """Agent-to-agent chat: team-wide when `to_agent` is empty."""

    sender = models.ForeignKey("agents.AgentProfile", on_delete=models.CASCADE, related_name="internal_sent")
    to_agent = models.ForeignKey(
        "agents.AgentProfile",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="internal_received",
    )
    conversation = models.ForeignKey(Conversation, on_delete=models.SET_NULL, null=True, blank=True)
    text = models.TextField()
    client_id = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["to_agent", "id"], name="internal_to_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "client_id"],
                condition=Q(client_id__isnull=False),
                name="internal_client_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sender} -> {self.to_agent or 'team'}: {self.text[:40]}"
