"""Quotes: a priced offer built from the tenant's catalog for one opportunity.

A quote's lines copy the product's SKU, name and price at the moment they are added, so
a later catalog change never rewrites a quote a customer has seen. Prices come from the
catalog only: no code path takes a unit price from outside (the agent, the desk, the
API); a rep may give a discount on a draft's line, nothing else.

Status: ``draft → approved → sent → accepted | rejected | expired``. With the tenant's
``quotes_send_without_approval`` a draft can be sent at once. Writes go through
:mod:`quotes.services` only.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.models import TenantModel, TenantOwnedModel


def new_public_key() -> str:
    return secrets.token_urlsafe(18)


class QuoteCounter(TenantModel):
    """The last quote number given in a tenant: numbers are taken under a row lock."""

    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="quote_counter_tenant")]


class Quote(TenantOwnedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        SENT = "sent", _("Sent")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        EXPIRED = "expired", _("Expired")

    class CreatedBy(models.TextChoices):
        AGENT = "agent", _("AI agent")
        REP = "rep", _("Sales rep")
        INTEGRATION = "integration", _("Integration")

    number = models.PositiveIntegerField(_("number"), editable=False)
    public_key = models.CharField(
        max_length=32, default=new_public_key, unique=True, editable=False
    )
    opportunity = models.ForeignKey(
        "crm.LeadOpportunity", on_delete=models.PROTECT, related_name="quotes"
    )
    contact = models.ForeignKey("crm.Contact", on_delete=models.PROTECT, related_name="quotes")
    conversation = models.ForeignKey(
        "crm.Conversation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="quotes",
        help_text=_("Where the quote is delivered and accepted."),
    )
    currency = models.CharField(max_length=3)
    language = models.CharField(max_length=8, help_text=_("The language of the PDF."))
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    tax_rate = models.DecimalField(
        _("tax rate (%)"), max_digits=5, decimal_places=2, default=Decimal("0")
    )
    tax_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    valid_until = models.DateField(_("valid until"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    notes = models.TextField(blank=True, help_text=_("Shown on the quote, under the lines."))
    created_by_kind = models.CharField(max_length=16, choices=CreatedBy.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by_name = models.CharField(max_length=150, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="quote_tenant_number")
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"], name="quote_tenant_status"),
            models.Index(fields=["tenant", "updated_at"], name="quote_tenant_updated"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        """How people name the quote: ``Q-00042``."""
        return f"Q-{self.number:05d}"

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT


class QuoteLine(TenantOwnedModel):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="quote_lines"
    )
    sku = models.CharField(_("SKU"), max_length=128, editable=False)
    name = models.CharField(max_length=300, editable=False)
    quantity = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(1_000_000)]
    )
    unit_price = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        editable=False,
        help_text=_("The catalog price when the line was added."),
    )
    discount_percent = models.DecimalField(
        _("discount (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    line_total = models.DecimalField(max_digits=14, decimal_places=2, editable=False)

    class Meta:
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"
