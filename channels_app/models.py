"""Channel accounts (one per bot, number, widget or integration) and conversation routes."""

from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.fields import EncryptedTextField
from tenants.i18n import label_model
from tenants.models import TenantOwnedModel
from tenants.public_urls import public_url, public_websocket_url
from tenants.redaction import redact


def new_key() -> str:
    """A public, unguessable identifier for URLs (webhook paths, widget key)."""
    return secrets.token_urlsafe(18)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ChannelAccount(TenantOwnedModel):
    """One Telegram bot, WhatsApp number, web widget or CRM integration of a tenant.

    Secrets (tokens, app secret, verify token, API key) are write-only: the admin
    never renders them and nothing logs them. The ``SECRET_FIELDS`` are encrypted at rest
    (``EncryptedTextField``): an account is found by its public ``key``, never by a secret,
    and the secret is then compared in constant time. The API key is stored hashed.
    """

    class Kind(models.TextChoices):
        TELEGRAM = "telegram", _("Telegram bot")
        WHATSAPP = "whatsapp", _("WhatsApp number")
        WIDGET = "widget", _("Web widget")
        API = "api", _("CRM API")

    SECRET_FIELDS = ("bot_token", "webhook_secret", "access_token", "app_secret", "verify_token")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100, help_text=_("For you: e.g. 'Ventas Colombia'."))
    key = models.CharField(
        max_length=64,
        unique=True,
        default=new_key,
        editable=False,
        help_text=_("Public key in the webhook URL or the widget's script tag."),
    )
    is_active = models.BooleanField(default=True)
    # Telegram
    bot_token = EncryptedTextField(max_length=200, blank=True)
    webhook_secret = EncryptedTextField(
        max_length=256,
        blank=True,
        default=new_secret,
        help_text=_("Telegram sends it back in X-Telegram-Bot-Api-Secret-Token."),
    )
    # WhatsApp Cloud API
    phone_number_id = models.CharField(max_length=64, blank=True)
    access_token = EncryptedTextField(max_length=500, blank=True)
    app_secret = EncryptedTextField(max_length=200, blank=True)
    verify_token = EncryptedTextField(max_length=200, blank=True, default=new_secret)
    # Web widget
    allowed_origins = models.TextField(
        blank=True, help_text=_("One origin per line, e.g. https://www.example.com")
    )
    greeting = models.CharField(max_length=500, blank=True)
    color = models.CharField(
        max_length=7, default="#0b6e4f", help_text=_("Bubble colour (#rrggbb).")
    )
    # CRM API
    api_key_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    api_key_prefix = models.CharField(max_length=12, blank=True, editable=False)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "name"], name="channel_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"

    @property
    def origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.allowed_origins.splitlines() if o.strip()]

    def secret_values(self) -> list[str]:
        """The account's secrets as they could be echoed back: what :func:`redact` masks
        in an error or a log line (the bot token also by its secret half)."""
        values = [getattr(self, name) for name in self.SECRET_FIELDS]
        values.append(self.bot_token.partition(":")[2])
        return [value for value in values if value]

    def redact(self, text: str) -> str:
        """``text`` without this account's secrets or anything shaped like a credential."""
        return redact(text, self.secret_values())

    def public_endpoint(self) -> str:
        """Where this account is reached on ``PUBLIC_BASE_URL``: the webhook URL, the
        widget's WebSocket (``ws://``/``wss://``) or the CRM API's endpoint."""
        if self.kind == self.Kind.WIDGET:
            return public_websocket_url(self.webhook_path())
        return public_url(self.webhook_path())

    def embed_snippet(self) -> str:
        """The widget's ``<script>`` tag for a customer's site."""
        return (
            f'<script src="{public_url("/static/widget/widget.js")}" '
            f'data-key="{self.key}" async></script>'
        )

    def webhook_path(self) -> str:
        if self.kind in (self.Kind.TELEGRAM, self.Kind.WHATSAPP):
            return f"/webhooks/{self.kind}/{self.key}/"
        if self.kind == self.Kind.WIDGET:
            return f"/ws/widget/{self.key}/"
        return "/api/v1/messages"

    def set_api_key(self) -> str:
        """A new API key for this account; returns it once (only its hash is kept)."""
        raw = f"sk_{secrets.token_urlsafe(32)}"
        self.api_key_hash = hash_api_key(raw)
        self.api_key_prefix = raw[:10]
        return raw


class ConversationRoute(TenantOwnedModel):
    """Where a conversation's replies go: the account and the platform address."""

    conversation = models.OneToOneField(
        "crm.Conversation", on_delete=models.CASCADE, related_name="route"
    )
    account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="routes")
    address = models.CharField(
        max_length=128, help_text=_("Telegram chat id, WhatsApp wa_id, widget visitor id.")
    )

    def __str__(self) -> str:
        return f"{self.account} → {self.address}"


class InboundEvent(TenantOwnedModel):
    """A customer message exactly as a webhook received it, before anything is resolved.

    The webhook stores it in one insert and answers 200: the provider's id is unique per
    account, so a redelivery is recognised. A worker then resolves the events of one chat
    (``account`` + ``address``) in arrival order into contact, conversation, route and
    message, marks them processed, and answers the conversation.
    """

    account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="+")
    external_id = models.CharField(max_length=255, help_text=_("The provider's id, namespaced."))
    address = models.CharField(max_length=128, help_text=_("The chat: where replies go."))
    text = models.TextField(help_text=_("What the bot reads, or '[photo]' for what it cannot."))
    readable = models.BooleanField(default=True, help_text=_("False: answered with a note."))
    display_name = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=16, blank=True, help_text=_("The platform's hint."))
    metadata = models.JSONField(default=dict, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "account", "external_id"], name="inbound_event_unique_per_account"
            ),
        ]
        indexes = [
            models.Index(fields=["account", "address", "processed_at"], name="inbound_event_chat"),
            models.Index(fields=["processed_at", "created_at"], name="inbound_event_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} ({'processed' if self.processed_at else 'waiting'})"


# The names the desk shows, translated (tenants.i18n: no migration changes).
label_model(
    ChannelAccount,
    {
        "kind": _("kind"),
        "key": _("key"),
        "bot_token": _("bot token"),
        "webhook_secret": _("webhook secret"),
        "phone_number_id": _("phone number id"),
        "access_token": _("access token"),
        "app_secret": _("app secret"),
        "verify_token": _("verify token"),
        "allowed_origins": _("allowed origins"),
        "greeting": _("greeting"),
        "color": _("color"),
    },
    name=_("channel account"),
    plural=_("channel accounts"),
)
label_model(
    ConversationRoute,
    {"conversation": _("conversation"), "account": _("account"), "address": _("address")},
    name=_("conversation route"),
    plural=_("conversation routes"),
)
label_model(
    InboundEvent,
    {
        "account": _("account"),
        "external_id": _("external id"),
        "address": _("address"),
        "text": _("text"),
        "readable": _("readable"),
        "display_name": _("display name"),
        "language": _("language"),
        "metadata": _("metadata"),
        "processed_at": _("processed at"),
    },
    name=_("inbound event"),
    plural=_("inbound events"),
)
