"""Conversations between a visitor (through the widget or the API) and a bot, and their messages."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from tenants.models import TenantOwnedModel

NEGATIVE_CSAT = 2  # a rating of 1 or 2 (out of 5) is a complaint


class ConversationStatus(models.TextChoices):
    BOT = "bot", "Bot answering"
    WAITING = "waiting", "Waiting for a person"
    AGENT = "agent", "With a person"
    CLOSED = "closed", "Closed"


class ConversationChannel(models.TextChoices):
    WIDGET = "widget", "Widget"
    API = "api", "API"


class Conversation(TenantOwnedModel):
    """One visitor's thread with a bot; `last_seq` numbers its messages, one counter per conversation."""

    bot = models.ForeignKey("bots.Bot", on_delete=models.CASCADE, related_name="conversations")
    visitor_id = models.CharField(max_length=64, db_index=True)
    channel = models.CharField(max_length=10, choices=ConversationChannel.choices, default=ConversationChannel.WIDGET)
    status = models.CharField(max_length=10, choices=ConversationStatus.choices, default=ConversationStatus.BOT)
    handoff_reason = models.CharField(max_length=40, blank=True)
    handed_off_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    csat = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1 (bad) to 5 (great).")
    failed_streak = models.PositiveSmallIntegerField(default=0, help_text="Bot answers in a row that failed.")
    last_seq = models.PositiveIntegerField(default=0)
    visitor_acked_seq = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Handoff: when the agent took it, when their last socket dropped (the claim lapses after a grace
    # period), the visitor's email and message left while no one was available, and how it was resolved.
    claimed_at = models.DateTimeField(null=True, blank=True)
    agent_disconnected_at = models.DateTimeField(null=True, blank=True)
    visitor_email = models.EmailField(blank=True)
    contact_left_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    # How long the visitor waited in the queue before their last live claim: the expected-wait estimate
    # reads the tenant's recent ones.
    queue_wait_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        db_table = "bots_conversation"
        indexes = [
            models.Index(fields=["bot", "status", "-updated_at"], name="conversation_bot_status"),
            models.Index(fields=["bot", "visitor_id"], name="conversation_bot_visitor"),
            models.Index(fields=["tenant", "status", "handed_off_at"], name="conversation_queue"),
            models.Index(fields=["tenant", "-claimed_at"], name="conversation_claims"),
        ]

    def __str__(self) -> str:
        return f"{self.bot} / {self.visitor_id[:8]} ({self.status})"


class MessageSender(models.TextChoices):
    VISITOR = "visitor", "Visitor"
    BOT = "bot", "Bot"
    AGENT = "agent", "Agent"
    SYSTEM = "system", "System"


class MessageKind(models.TextChoices):
    TEXT = "text", "Text"
    ANSWER = "answer", "Answer"
    CLARIFY = "clarify", "Clarifying question"
    HANDOFF = "handoff", "Handoff notice"
    NOTICE = "notice", "Notice"
    NOTE = "note", "Internal note"  # agents only: never sent to the visitor
    OFFLINE = "offline", "Left while no one was available"  # the visitor's message with their email


class Feedback(models.TextChoices):
    UP = "up", "Helpful"
    DOWN = "down", "Not helpful"


class Message(TenantOwnedModel):
    """A stored message; stored (with its sequence number) before anything answers it."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    sender = models.CharField(max_length=10, choices=MessageSender.choices)
    kind = models.CharField(max_length=10, choices=MessageKind.choices, default=MessageKind.TEXT)
    text = models.TextField()
    client_msg_id = models.CharField(max_length=64, blank=True)
    in_reply_to = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replies")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Why the bot said this: {rule, intent, confidence, top_intents, ticket_ids, version_id, model}.
    decision = models.JSONField(default=dict, blank=True)
    quick_replies = models.JSONField(default=list, blank=True)
    feedback = models.CharField(max_length=4, choices=Feedback.choices, blank=True)
    corrected_intent = models.CharField(max_length=100, blank=True, help_text="An agent's label for this message.")
    # A visitor message the bot owes a reply (an answer, a clarifying question or a notice): set when it is
    # stored, cleared in the transaction that stores the reply or hands it to a person. Whatever process dies
    # in between, the socket's resume or the periodic sweep finds it here.
    answer_due = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "bots_message"
        indexes = [
            models.Index(fields=["created_at"], condition=Q(answer_due=True), name="message_answer_due"),
        ]
        constraints = [
            # At most one bot reply per visitor message: a retried answer can never be sent twice.
            models.UniqueConstraint(fields=["in_reply_to"], condition=Q(sender="bot"),
                                    name="message_one_bot_reply_per_message"),
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_seq_unique_per_conversation"),
            models.UniqueConstraint(
                fields=["conversation", "client_msg_id"], condition=~Q(client_msg_id=""),
                name="message_client_id_unique_per_conversation",
            ),
        ]
        ordering = ["conversation", "seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.sender}: {self.text[:40]}"


class DataRightsKind(models.TextChoices):
    EXPORT = "export", "Export"
    ERASE = "erase", "Erasure"


class DataRightsRequest(TenantOwnedModel):
    """The audit of a visitor's data exported or erased: who asked, when, and how much it covered.

    The visitor is kept as a keyed hash, never as given: after an erasure the audit must not be the one place
    their id survives. Hashing the same id again (`visitor_data.visitor_hash`) finds their requests."""

    kind = models.CharField(max_length=10, choices=DataRightsKind.choices)
    visitor_hash = models.CharField(max_length=64, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    counts = models.JSONField(default=dict, help_text="What the request covered: {conversations, messages, …}.")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "-at"], name="data_rights_recent")]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.kind} {self.visitor_hash[:12]} at {self.at:%Y-%m-%d %H:%M}"
