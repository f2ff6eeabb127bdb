"""The B2B hierarchy (company → division → contact) and the chat record."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tenants.i18n import label_model
from tenants.models import TenantOwnedModel
from tenants.selectors import tenant_members


class Platform(models.TextChoices):
    WIDGET = "widget", _("Web widget")
    TELEGRAM = "telegram", _("Telegram")
    WHATSAPP = "whatsapp", _("WhatsApp")
    API = "api", _("CRM API")
    CONSOLE = "console", _("Console (chat command)")


def _unique_when_set(field: str, *scope: str, name: str) -> models.UniqueConstraint:
    # NULL means "not known yet" and never collides. A plain unique index over
    # a nullable column does that on SQLite and MariaDB alike (MariaDB has no
    # partial indexes, so a condition would be silently dropped there).
    return models.UniqueConstraint(fields=["tenant", *scope, field], name=name)


class AssignedRepMixin:
    """The assigned rep must be a member of the row's tenant."""

    def clean(self) -> None:
        super().clean()  # type: ignore[misc]
        rep_id = self.assigned_rep_id  # type: ignore[attr-defined]
        if rep_id and not tenant_members(tenant=self.tenant).filter(pk=rep_id).exists():  # type: ignore[attr-defined]
            raise ValidationError(
                {"assigned_rep": _("The assigned rep must be a member of this tenant.")}
            )


class Company(TenantOwnedModel):
    name = models.CharField(max_length=200)
    fiscal_id = models.CharField(
        _("fiscal id"),
        max_length=64,
        null=True,
        blank=True,
        help_text=_("NIT, RUT, CIF, VAT number…"),
    )
    crm_company_id = models.CharField(_("CRM company id"), max_length=128, null=True, blank=True)

    class Meta:
        verbose_name_plural = _("companies")
        ordering = ["name"]
        constraints = [
            _unique_when_set("fiscal_id", name="company_unique_fiscal_id_per_tenant"),
            _unique_when_set("crm_company_id", name="company_unique_crm_id_per_tenant"),
        ]
        indexes = [
            models.Index(fields=["tenant", "name"], name="company_tenant_name"),
            # The REST API's pages and incremental sync: (updated_at, id) in a tenant.
            models.Index(fields=["tenant", "updated_at"], name="company_tenant_updated"),
        ]

    def __str__(self) -> str:
        return self.name


class CompanyDivision(TenantOwnedModel):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="divisions")
    name = models.CharField(max_length=200, help_text='For example "Lab Aguas" or "Compras".')
    crm_division_id = models.CharField(_("CRM division id"), max_length=128, null=True, blank=True)

    class Meta:
        ordering = ["company__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "company", "name"], name="division_unique_name_per_company"
            ),
            _unique_when_set("crm_division_id", name="division_unique_crm_id_per_tenant"),
        ]
        indexes = [models.Index(fields=["tenant", "updated_at"], name="division_tenant_updated")]

    def __str__(self) -> str:
        return f"{self.company.name} / {self.name}"


class Contact(TenantOwnedModel):
    """The person the bot talks to (not a staff user: those are auth users)."""

    division = models.ForeignKey(
        CompanyDivision,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
        help_text=_("Unknown until the customer says where they work."),
    )
    full_name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone_number = models.CharField(max_length=32, blank=True)
    crm_contact_id = models.CharField(_("CRM contact id"), max_length=128, null=True, blank=True)
    platform = models.CharField(max_length=16, choices=Platform.choices)
    platform_user_id = models.CharField(
        _("platform user id"),
        max_length=128,
        null=True,
        blank=True,
        help_text=_("Telegram user id, WhatsApp wa_id, widget visitor id…"),
    )
    problem_statement = models.TextField(blank=True)

    class Meta:
        ordering = ["full_name", "pk"]
        constraints = [
            _unique_when_set(
                "platform_user_id", "platform", name="contact_unique_platform_user_per_tenant"
            ),
            _unique_when_set("crm_contact_id", name="contact_unique_crm_id_per_tenant"),
        ]
        indexes = [
            models.Index(fields=["tenant", "email"], name="contact_tenant_email"),
            models.Index(fields=["tenant", "full_name"], name="contact_tenant_name"),
            models.Index(fields=["tenant", "updated_at"], name="contact_tenant_updated"),
        ]

    def __str__(self) -> str:
        label = self.full_name or self.email or self.platform_user_id or f"contact {self.pk}"
        return f"{label} ({self.get_platform_display()})"

    @property
    def company(self) -> Company | None:
        return self.division.company if self.division is not None else None


class Conversation(AssignedRepMixin, TenantOwnedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        HANDED_OFF = "handed_off", _("Handed off to a rep")
        CLOSED = "closed", _("Closed")

    class Intent(models.TextChoices):
        SALES = "sales", _("Sales")
        SUPPORT = "support", _("Support")

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="conversations")
    channel = models.CharField(
        max_length=16,
        choices=Platform.choices,
        help_text=_("The channel the conversation runs on."),
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    intent_category = models.CharField(
        _("intent"), max_length=16, choices=Intent.choices, default=Intent.SALES
    )
    assigned_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    last_activity_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    needs_attention = models.BooleanField(
        _("needs a rep"),
        default=False,
        db_index=True,
        help_text=_(
            "Flagged for a rep: a fallback answer, a failed delivery or a handoff request."
        ),
    )
    attention_reason = models.CharField(max_length=300, blank=True)
    summary = models.TextField(
        blank=True, help_text=_("What this conversation was about; the next one starts from it.")
    )
    prompt_tokens = models.PositiveIntegerField(
        default=0, help_text=_("LLM input tokens, all calls.")
    )
    completion_tokens = models.PositiveIntegerField(
        default=0, help_text=_("LLM output tokens, all calls.")
    )
    turn_lease_until = models.DateTimeField(
        null=True, blank=True, editable=False, help_text=_("A worker is answering until then.")
    )
    turn_lease_token = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        ordering = ["-last_activity_at", "-pk"]
        indexes = [
            models.Index(
                fields=["tenant", "status", "-last_activity_at"], name="conv_tenant_status_activity"
            ),
            models.Index(fields=["tenant", "-last_activity_at"], name="conv_tenant_activity"),
            models.Index(fields=["tenant", "updated_at"], name="conv_tenant_updated"),
        ]

    def __str__(self) -> str:
        return gettext("Conversation %(id)s with %(contact)s") % {
            "id": self.pk,
            "contact": self.contact,
        }


class Message(TenantOwnedModel):
    class Role(models.TextChoices):
        USER = "user", _("Customer")
        ASSISTANT = "assistant", _("Bot")
        SYSTEM = "system", _("System")
        AGENT = "agent", _("Sales rep")

    class Delivery(models.TextChoices):
        RECEIVED = "received", _("Received")
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        READ = "read", _("Read")
        FAILED = "failed", _("Failed")

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField()
    external_id = models.CharField(
        _("provider message id"),
        max_length=255,
        null=True,
        blank=True,
        help_text=_("The id Telegram, WhatsApp or the CRM gave this message."),
    )
    delivery_status = models.CharField(
        max_length=16, choices=Delivery.choices, default=Delivery.PENDING
    )
    delivery_error = models.TextField(blank=True)
    delivery_attempts = models.PositiveSmallIntegerField(
        default=0, help_text=_("Sends tried so far (a transient failure is tried again later).")
    )
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When a reply waiting for a retry is tried again.")
    )
    pieces_sent = models.PositiveSmallIntegerField(
        default=0, help_text=_("Parts of a long reply already delivered (a retry sends the rest).")
    )
    metadata = models.JSONField(
        default=dict,
        blank=True,
        help_text=_(
            "What an integration passed with the message (data for the agent, never orders)."
        ),
    )
    handled_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When a bot turn took this customer message (answered, or left to a rep)."),
    )
    answer_mode = models.CharField(
        max_length=16,
        blank=True,
        choices=[("llm", "LLM"), ("fallback", "Catalog fallback")],
        help_text=_("For bot messages: which mode wrote it."),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("For sales rep messages: the rep who wrote it."),
    )
    author_name = models.CharField(
        max_length=150,
        blank=True,
        help_text=_("The rep's name as the customer saw it (kept if the user is removed)."),
    )

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            # A provider's redelivery of the same message is recognised, not stored twice.
            _unique_when_set("external_id", name="message_unique_external_id_per_tenant"),
        ]
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="message_conv_created"),
            models.Index(
                fields=["conversation", "role", "handled_at"], name="message_conv_pending"
            ),
        ]

    def __str__(self) -> str:
        text = self.content if len(self.content) <= 60 else self.content[:57] + "…"
        return f"{self.get_role_display()}: {text}"


class LeadOpportunity(AssignedRepMixin, TenantOwnedModel):
    class Status(models.TextChoices):
        QUALIFIED = "qualified", _("Qualified")
        NEEDS_EXPERT = "needs_expert", _("Needs an expert")
        QUOTED = "quoted", _("Quote sent")
        WON = "won", _("Won (quote accepted)")
        CLOSED = "closed", _("Closed")

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="opportunities")
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="opportunities",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUALIFIED)
    problem_statement = models.TextField()
    assigned_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    value = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Expected deal value, in the currency below."),
    )
    currency = models.CharField(
        max_length=3, blank=True, help_text=_("ISO 4217 code of the value, e.g. EUR.")
    )
    expected_close_date = models.DateField(null=True, blank=True)
    next_step = models.CharField(max_length=255, blank=True)
    crm_opportunity_id = models.CharField(
        _("CRM opportunity id"),
        max_length=128,
        blank=True,
        db_index=True,
        help_text=_("The id of this opportunity in the tenant's CRM, set by the CRM integration."),
    )

    class Meta:
        verbose_name = _("lead opportunity")
        verbose_name_plural = _("lead opportunities")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["tenant", "status", "-created_at"], name="opp_tenant_status_created"
            ),
            models.Index(fields=["tenant", "updated_at"], name="opp_tenant_updated"),
        ]

    def __str__(self) -> str:
        return gettext("Opportunity %(id)s: %(need)s") % {
            "id": self.pk,
            "need": self.problem_statement[:60],
        }


class OpportunityProductRecommendation(TenantOwnedModel):
    opportunity = models.ForeignKey(
        LeadOpportunity, on_delete=models.CASCADE, related_name="recommendations"
    )
    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="recommendations",
        help_text=_("The catalog product; the SKU and name below stay if it is removed."),
    )
    product_sku = models.CharField(_("product SKU"), max_length=128)
    product_name = models.CharField(max_length=300)
    justification = models.TextField(help_text=_("Why the agent recommends it for this need."))

    class Meta:
        verbose_name = _("product recommendation")
        ordering = ["opportunity", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "opportunity", "product_sku"],
                name="recommendation_unique_sku_per_opportunity",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "product_sku"], name="recommendation_tenant_sku"),
        ]

    def __str__(self) -> str:
        return f"{self.product_sku} · {self.product_name}"


class AuditEntry(TenantOwnedModel):
    """One entry of the CRM's audit trail: who changed what on an opportunity, a
    conversation or a contact, from what to what. Written only by ``crm.audit``."""

    class ActorKind(models.TextChoices):
        REP = "rep", _("Sales rep")
        AGENT = "agent", _("AI agent")
        INTEGRATION = "integration", _("Integration")
        SYSTEM = "system", _("System")

    action = models.CharField(max_length=64, help_text=_("What happened, as a dotted name."))
    actor_kind = models.CharField(
        _("by"), max_length=16, choices=ActorKind.choices, default=ActorKind.SYSTEM
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_(
            "The user who made the change (empty for the agent, an integration or the "
            "system, or a removed user)."
        ),
    )
    actor_name = models.CharField(
        max_length=150,
        blank=True,
        help_text=_("Who it was as shown then: the rep's name, the integration's name…"),
    )
    opportunity = models.ForeignKey(
        LeadOpportunity,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="audit_entries",
    )
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="audit_entries",
    )
    contact = models.ForeignKey(
        Contact,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="audit_entries",
    )
    from_value = models.CharField(max_length=150, blank=True)
    to_value = models.CharField(max_length=150, blank=True)
    changes = models.JSONField(
        default=dict, blank=True, help_text=_("Every field changed: {field: [before, after]}.")
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["opportunity", "created_at"], name="audit_opp_created"),
            models.Index(fields=["conversation", "created_at"], name="audit_conv_created"),
            models.Index(fields=["contact", "created_at"], name="audit_contact_created"),
        ]

    def __str__(self) -> str:
        change = f"{self.from_value or '—'} → {self.to_value or '—'}"
        return f"{self.action} by {self.actor_name or self.get_actor_kind_display()}: {change}"


# The names the desk shows, translated (tenants.i18n: no migration changes).
label_model(Company, name=_("company"))
label_model(
    CompanyDivision,
    {"company": _("company")},
    name=_("company division"),
    plural=_("company divisions"),
)
label_model(
    Contact,
    {
        "division": _("division"),
        "full_name": _("full name"),
        "email": _("email"),
        "phone_number": _("phone number"),
        "platform": _("platform"),
        "problem_statement": _("problem statement"),
    },
    name=_("contact"),
    plural=_("contacts"),
)
label_model(
    Conversation,
    {
        "contact": _("contact"),
        "channel": _("channel"),
        "status": _("status"),
        "assigned_rep": _("assigned rep"),
        "last_activity_at": _("last activity at"),
        "closed_at": _("closed at"),
        "attention_reason": _("attention reason"),
        "summary": _("summary"),
        "prompt_tokens": _("prompt tokens"),
        "completion_tokens": _("completion tokens"),
    },
    name=_("conversation"),
    plural=_("conversations"),
)
label_model(
    Message,
    {
        "conversation": _("conversation"),
        "role": _("role"),
        "content": _("content"),
        "delivery_status": _("delivery status"),
        "delivery_error": _("delivery error"),
        "delivery_attempts": _("delivery attempts"),
        "next_attempt_at": _("next attempt at"),
        "handled_at": _("handled at"),
        "answer_mode": _("answer mode"),
        "author": _("author"),
        "author_name": _("author name"),
    },
    name=_("message"),
    plural=_("messages"),
)
label_model(
    LeadOpportunity,
    {
        "contact": _("contact"),
        "conversation": _("conversation"),
        "status": _("status"),
        "problem_statement": _("problem statement"),
        "assigned_rep": _("assigned rep"),
        "value": _("value"),
        "currency": _("currency"),
        "expected_close_date": _("expected close date"),
        "next_step": _("next step"),
    },
)
label_model(
    OpportunityProductRecommendation,
    {
        "opportunity": _("opportunity"),
        "product": _("product"),
        "product_name": _("product name"),
        "justification": _("justification"),
    },
)
label_model(
    AuditEntry,
    {
        "action": _("action"),
        "actor": _("actor"),
        "actor_name": _("actor name"),
        "opportunity": _("opportunity"),
        "conversation": _("conversation"),
        "contact": _("contact"),
        "from_value": _("from value"),
        "to_value": _("to value"),
        "changes": _("changes"),
        "note": _("note"),
    },
)
