from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from . import system_notes


# Labels are what people read (admin, the console); the values are stored
# and on the wire, the same in every language.
class ConversationStatus(models.TextChoices):
    QUEUED = "queued", pgettext_lazy("conversation status", "Queued")
    ACTIVE = "active", pgettext_lazy("conversation status", "Active")
    ENDED = "ended", pgettext_lazy("conversation status", "Ended")


class EndReason(models.TextChoices):
    AGENT_ENDED = "agent_ended", _("Ended by the agent")
    CUSTOMER_LEFT = "customer_left", _("The customer left")
    CUSTOMER_IDLE = "customer_idle", _("The customer was idle")
    AGENT_OFFLINE = "agent_offline", _("The agent went offline")
    CLOSED_BY_SUPERVISOR = "closed_by_supervisor", _("Closed by a supervisor")


class Conversation(models.Model):
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="conversations",
        verbose_name=_("customer"),
    )
    agent = models.ForeignKey(
        "agents.AgentProfile",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
        verbose_name=_("agent"),
        help_text=_("The agent serving it; empty while it waits in the queue."),
    )
    status = models.CharField(_("status"), max_length=8, choices=ConversationStatus.choices)
    topic = models.CharField(
        _("topic"),
        max_length=80,
        null=True,
        blank=True,
        help_text=_(
            "What the customer chose; a topic that names an agent skill goes to agents with that skill."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Queue order: smaller is served first. Requeued conversations get a
    # value below every waiting one, so they go back to the head.
    queue_order = models.BigIntegerField(
        _("queue order"), null=True, blank=True, help_text=_("Smaller is served first.")
    )
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    # The latest assignment (a transfer or a requeue sets it again) and the
    # first: the reports measure the wait to the first and the duration from it.
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    first_assigned_at = models.DateTimeField(_("first assigned at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(
        _("end reason"), max_length=24, choices=EndReason.choices, null=True, blank=True
    )
    # The customer's and agents' messages stored by the message writer, which
    # keeps this count in the same transaction and refuses a message past
    # CONVERSATION_MAX_MESSAGES (system notes are not counted nor refused).
    message_count = models.PositiveIntegerField(
        _("message count"),
        default=0,
        db_default=0,
        help_text=_("Messages of the customer and agents; system messages are not counted."),
    )
    # Its transfers (the `transferred` system notes), kept by the transfer.
    transfer_count = models.PositiveIntegerField(
        _("transfer count"),
        default=0,
        db_default=0,
        help_text=_("How many times an agent handed it to another."),
    )
    # For the reports (docs/REPORTS.md), set once by the message writer in
    # the UPDATE that keeps message_count: the conversation's first agent
    # message (the smallest id), when it was stored and who sent it.
    first_agent_message_at = models.DateTimeField(
        _("first agent message at"),
        null=True,
        blank=True,
        help_text=_("When the first agent message was stored: the first response."),
    )
    first_agent_message_agent = models.ForeignKey(
        "agents.AgentProfile",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        related_name="+",
        verbose_name=_("first responding agent"),
        help_text=_("The agent who sent the first agent message."),
    )

    # Satisfaction (CSAT): the customer's rating once the conversation ended,
    # 1 (very unhappy) to 5 (very happy), given once (`customer:rating`).
    rating = models.PositiveSmallIntegerField(
        _("rating"), null=True, blank=True, help_text=_("The customer's satisfaction, 1 to 5.")
    )
    rating_comment = models.TextField(_("rating comment"), blank=True, default="", db_default="")
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "queue_order"], name="conv_queue_idx"),
            models.Index(fields=["agent", "status"], name="conv_agent_status_idx"),
            models.Index(fields=["customer", "status"], name="conv_customer_status_idx"),
            # Reports: the conversations started in a period.
            models.Index(fields=["created_at"], name="conv_created_idx"),
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
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5, status="ended"),
                name="conversation_rating_1_to_5_when_ended",
            ),
        ]

    def __str__(self) -> str:
        return _("Conversation #%(id)s (%(status)s)") % {"id": self.pk, "status": self.get_status_display()}


class LiveQueue(Conversation):
    """The waiting conversations, as supervisors see them in admin."""

    class Meta:
        proxy = True
        verbose_name = _("queued conversation (live queue)")
        verbose_name_plural = _("live queue")


class Sender(models.TextChoices):
    CUSTOMER = "customer", pgettext_lazy("message sender", "Customer")
    AGENT = "agent", pgettext_lazy("message sender", "Agent")
    SYSTEM = "system", pgettext_lazy("message sender", "System")


class DeliveryStatus(models.IntegerChoices):
    # The wire names are chat.selectors.STATUS_NAMES, not these labels.
    SENT = 0, pgettext_lazy("delivery status", "sent")
    DELIVERED = 1, pgettext_lazy("delivery status", "delivered")
    READ = 2, pgettext_lazy("delivery status", "read")


class Message(models.Model):
    # Every index is written with each message. The foreign keys' own indexes
    # are left out: msg_conv_id_idx starts with the conversation, and agents'
    # messages have a partial index (customers' messages have no agent).
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.CASCADE,
        related_name="messages",
        db_index=False,
        verbose_name=_("conversation"),
    )
    sender = models.CharField(_("sender"), max_length=8, choices=Sender.choices)
    sender_agent = models.ForeignKey(
        "agents.AgentProfile",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        verbose_name=_("sending agent"),
    )
    sender_name = models.CharField(_("sender name"), max_length=80)
    text = models.TextField(_("text"))
    client_id = models.CharField(
        _("client id"),
        max_length=64,
        null=True,
        blank=True,
        help_text=_("The sender's own id for the message: a resend with the same id is stored once."),
    )
    created_at = models.DateTimeField(_("created at"))
    status = models.PositiveSmallIntegerField(
        _("delivery status"), choices=DeliveryStatus.choices, default=DeliveryStatus.SENT
    )
    # System messages: what happened, as a code and its parameters
    # (chat.system_notes), shown in each reader's language. `text` keeps the
    # default language's wording for reading the table as it is. Database
    # defaults: the message writer's own INSERT leaves these out.
    system_code = models.CharField(
        _("system message code"),
        max_length=40,
        blank=True,
        default="",
        db_default="",
        help_text=_("What a system message says, shown in each reader's language."),
    )
    system_params = models.JSONField(_("system message parameters"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
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
        # A system message as agents read it, in the active language (admin).
        text = self.text_for(system_notes.AGENT)
        return _("%(sender)s #%(id)s: %(text)s") % {
            "sender": self.get_sender_display(),
            "id": self.pk,
            "text": text[:40],
        }

    def text_for(self, reader: str) -> str:
        """The text as `reader` (system_notes.CUSTOMER or AGENT) reads it, in
        the active language: a system message worded from its code, any other
        message as written."""
        return system_notes.wording(self.system_code, self.system_params, reader, self.text)


class InternalMessage(models.Model):
    """Agent-to-agent chat: team-wide when `to_agent` is empty."""

    sender = models.ForeignKey(
        "agents.AgentProfile",
        on_delete=models.CASCADE,
        related_name="internal_sent",
        verbose_name=_("sender"),
    )
    to_agent = models.ForeignKey(
        "agents.AgentProfile",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="internal_received",
        verbose_name=_("to agent"),
        help_text=_("Empty: to the whole team."),
    )
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("conversation"),
        help_text=_("The conversation it is about, if any."),
    )
    text = models.TextField(_("text"))
    client_id = models.CharField(_("client id"), max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("internal message")
        verbose_name_plural = _("internal messages")
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
        return _("%(sender)s -> %(to)s: %(text)s") % {
            "sender": self.sender,
            "to": self.to_agent or _("the team"),
            "text": self.text[:40],
        }


class Attachment(models.Model):
    """A file uploaded by a customer or an agent, sent in at most one message.

    Uploaded first (`POST /api/uploads/`), then sent: `message` is set once,
    in the transaction that stores the message. Never sent within
    UPLOAD_UNSENT_MAX_AGE, it is deleted; its files go with it
    (chat.attachments.files, on commit).
    """

    file = models.FileField(_("file"), max_length=255)
    thumbnail = models.FileField(_("thumbnail"), max_length=255, blank=True, default="")
    name = models.CharField(_("name"), max_length=200, help_text=_("The file's name as it was uploaded."))
    size = models.PositiveBigIntegerField(_("size in bytes"))
    content_type = models.CharField(_("content type"), max_length=100)
    width = models.PositiveIntegerField(_("width"), null=True, blank=True)
    height = models.PositiveIntegerField(_("height"), null=True, blank=True)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
        verbose_name=_("uploaded by customer"),
    )
    agent = models.ForeignKey(
        "agents.AgentProfile",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="attachments",
        verbose_name=_("uploaded by agent"),
    )
    message = models.OneToOneField(
        Message,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachment",
        verbose_name=_("message"),
        help_text=_("The message it was sent in; empty until it is sent."),
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["-id"]
        indexes = [
            # The sweeper's question: uploads never sent, oldest first.
            models.Index(
                fields=["created_at"], condition=Q(message__isnull=True), name="attachment_unsent_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(customer__isnull=True) | Q(agent__isnull=True),
                name="attachment_one_uploader",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ServerProcess(models.Model):
    """A running server process, alive as long as it keeps heartbeating.

    Each process writes its row every PROCESS_HEARTBEAT_SECONDS. One silent
    for PROCESS_TIMEOUT_SECONDS (killed, frozen, its machine gone) is taken
    for dead by the others: they take its agents' sockets back
    (chat.services.processes), and the grace period starts for those agents
    as if they had disconnected.
    """

    # host:pid:random, made at start (chat.realtime.this_process).
    id = models.CharField(_("process"), primary_key=True, max_length=120)
    host = models.CharField(_("host"), max_length=100)
    pid = models.PositiveIntegerField(_("process id"))
    started_at = models.DateTimeField(_("started at"))
    heartbeat_at = models.DateTimeField(_("last heartbeat"))

    class Meta:
        verbose_name = _("server process")
        verbose_name_plural = _("server processes")
        ordering = ["started_at"]

    def __str__(self) -> str:
        return self.id


class ProcessAgentSockets(models.Model):
    """How many of an agent's logged-in sockets one process holds.

    Kept in the same transactions as `AgentProfile.sockets` (their sum over
    processes), so that what a dead process held can be taken back exactly.
    """

    process = models.ForeignKey(
        ServerProcess, on_delete=models.CASCADE, related_name="agent_sockets", verbose_name=_("process")
    )
    agent = models.ForeignKey(
        "agents.AgentProfile", on_delete=models.CASCADE, related_name="+", verbose_name=_("agent")
    )
    sockets = models.PositiveIntegerField(_("connections"), default=0)

    class Meta:
        verbose_name = _("agent connections of a process")
        verbose_name_plural = _("agent connections of processes")
        constraints = [
            models.UniqueConstraint(fields=["process", "agent"], name="process_agent_sockets_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.process_id}: agent {self.agent_id}, {self.sockets}"
