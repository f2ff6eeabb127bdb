"""Tenants, their members, and the abstract bases every tenant-owned model inherits."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, validate_slug
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tenants.branding import LOGO_MAX_BYTES, logo_upload_to, validate_logo
from tenants.i18n import label_model
from tenants.scoping import ScopeError, TenantScopedManager, active_tenant


class AuditModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class SoftDeleteModel(models.Model):
    """`delete()` marks the row; `hard_delete()` (operators) removes it; `restore()` undoes."""

    is_deleted = models.BooleanField(default=False, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def delete(self, using: Any = None, keep_parents: bool = False) -> tuple[int, dict[str, int]]:
        self.is_deleted = True
        self.deleted_at = timezone.now()
        self.save(using=using, update_fields=["is_deleted", "deleted_at", "updated_at"])
        return 1, {self._meta.label: 1}

    def hard_delete(
        self, using: Any = None, keep_parents: bool = False
    ) -> tuple[int, dict[str, int]]:
        return super().delete(using=using, keep_parents=keep_parents)

    def restore(self) -> None:
        self.is_deleted = False
        self.deleted_at = None
        self.save(update_fields=["is_deleted", "deleted_at", "updated_at"])


def _logo_help() -> str:
    return gettext("Shown in the desk's header. PNG, JPEG, SVG or WebP, at most %(size)s KB.") % {
        "size": LOGO_MAX_BYTES // 1024
    }


class Tenant(AuditModel):
    """A B2B seller using the product; the unit of isolation."""

    class Language(models.TextChoices):
        SPANISH = "es", "Español"
        ENGLISH = "en", "English"
        PORTUGUESE = "pt", "Português"

    slug = models.SlugField(max_length=64, unique=True, validators=[validate_slug])
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    persona = models.TextField(
        blank=True,
        help_text=_("Who the agent is: name, tone, how it presents itself to customers."),
    )
    default_language = models.CharField(
        max_length=8, choices=Language.choices, default=Language.SPANISH
    )
    sales_instructions = models.TextField(
        blank=True,
        help_text=_("What the agent should push, avoid, and when to hand off to a rep."),
    )
    logo = models.FileField(
        upload_to=logo_upload_to,
        blank=True,
        validators=[validate_logo],
        help_text=lazy(_logo_help, str)(),
    )

    class Formality(models.TextChoices):
        FORMAL = "formal", _("Formal (usted)")
        INFORMAL = "informal", _("Informal (tú)")

    formality = models.CharField(
        max_length=16,
        choices=Formality.choices,
        default=Formality.FORMAL,
        help_text=_(
            "How the agent addresses customers when it answers without an LLM "
            "(and how the widget speaks): usted or tú."
        ),
    )
    fallback_wording = models.JSONField(
        default=dict,
        blank=True,
        help_text=_(
            "The tenant's own wording for the replies given without an LLM, by key; "
            "a missing key uses the built-in text."
        ),
    )
    two_factor_required = models.BooleanField(
        _("require two-factor sign-in"),
        default=False,
        help_text=_(
            "Every member must sign in with a code from an authenticator app as well "
            "as their password; members without one set it up at their next sign-in."
        ),
    )

    quote_tax_rate = models.DecimalField(
        _("quote tax rate (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text=_("Added to every new quote's subtotal, e.g. 21 for Spanish VAT."),
    )
    quote_validity_days = models.PositiveSmallIntegerField(
        _("quote validity (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("How long a new quote can be accepted."),
    )
    quotes_send_without_approval = models.BooleanField(
        _("send quotes without approval"),
        default=False,
        help_text=_(
            "The agent sends the quotes it prepares at once. Off: a sales rep approves "
            "each draft before the customer receives it."
        ),
    )
    quote_terms = models.TextField(
        _("quote terms"),
        blank=True,
        help_text=_("Printed at the foot of every quote: payment, delivery, warranty."),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def logo_url(self) -> str:
        """Where the logo is served (not MEDIA_URL: media is not served in production)."""
        if not self.logo:
            return ""
        return reverse("tenant-logo", args=[self.logo.name.rsplit("/", 1)[-1]])


class TenantModel(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_index=True)

    class Meta:
        abstract = True


class CrossTenantReferenceError(ScopeError):
    """A row would point at a row of another tenant, or be written outside its scope."""


class TenantOwnedModel(TenantModel, SoftDeleteModel, AuditModel):
    """Base of every tenant-owned model: tenant, soft delete and audit fields.

    ``objects`` hides soft-deleted rows, ``all_objects`` shows them; both raise
    when no tenant scope is active. Saving checks that the row belongs to the
    active scope and that its foreign keys stay inside its tenant.
    """

    objects = TenantScopedManager()
    all_objects = TenantScopedManager(include_deleted=True)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        scoped = active_tenant()
        if scoped is not None and self.tenant_id != scoped.pk:
            raise CrossTenantReferenceError(
                f"{type(self).__name__} of tenant {self.tenant_id} cannot be saved "
                f"inside the scope of tenant {scoped.pk}."
            )
        update_fields = kwargs.get("update_fields")
        if update_fields is None or any(
            self._meta.get_field(name).is_relation for name in update_fields
        ):
            wrong = self.cross_tenant_fields()
            if wrong:
                raise CrossTenantReferenceError(
                    f"{type(self).__name__}.{', '.join(wrong)} points at another tenant's row."
                )
        super().save(*args, **kwargs)

    def cross_tenant_fields(self) -> list[str]:
        """Names of foreign keys that point at another tenant's rows."""
        wrong = []
        for field in self._meta.concrete_fields:
            # A concrete relation is a ForeignKey (or a OneToOneField, its subclass).
            if not isinstance(field, models.ForeignKey) or field.name == "tenant":
                continue
            related_model = field.related_model
            if not (
                isinstance(related_model, type) and issubclass(related_model, TenantOwnedModel)
            ):
                continue
            value = getattr(self, field.attname)
            if value is None:
                continue
            cached = field.get_cached_value(self) if field.is_cached(self) else None
            related_tenant_id: int | None
            if isinstance(cached, TenantOwnedModel):
                related_tenant_id = cached.tenant_id
            else:
                related_tenant_id = (
                    related_model._base_manager.filter(pk=value)
                    .values_list("tenant_id", flat=True)
                    .first()
                )
            if related_tenant_id != self.tenant_id:
                wrong.append(field.name)
        return wrong

    def clean(self) -> None:
        super().clean()
        if self.tenant_id is None:
            return
        wrong = self.cross_tenant_fields()
        if wrong:
            labels = {field.name: field.verbose_name for field in self._meta.concrete_fields}
            names = ", ".join(str(labels[name]) for name in wrong)
            raise ValidationError(
                _("%(fields)s: must belong to the same tenant as this record.") % {"fields": names}
            )


class Membership(TenantOwnedModel):
    """A staff user's place in one tenant. A staff user belongs to one tenant."""

    class Role(models.TextChoices):
        TENANT_ADMIN = "tenant_admin", _("Tenant admin")
        SALES_REP = "sales_rep", _("Sales rep")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.SALES_REP)
    language = models.CharField(
        max_length=8,
        choices=Tenant.Language.choices,
        blank=True,
        help_text=_("The desk's language for this member; blank follows the tenant's language."),
    )

    class Meta:
        ordering = ["user__email"]
        constraints = [
            # One tenant per staff user: groups (and so permissions) are global in
            # Django, so a user with roles in two tenants could not be modelled.
            models.UniqueConstraint(fields=["user"], name="membership_one_tenant_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.get_role_display()})"

    @property
    def is_tenant_admin(self) -> bool:
        return self.role == self.Role.TENANT_ADMIN


label_model(
    Tenant,
    {
        "slug": _("slug"),
        "persona": _("persona"),
        "default_language": _("default language"),
        "sales_instructions": _("sales instructions"),
        "logo": _("logo"),
        "formality": _("formality"),
        "fallback_wording": _("fallback wording"),
    },
    name=_("tenant"),
    plural=_("tenants"),
)
label_model(
    Membership,
    {"user": _("user"), "role": _("role"), "language": _("language")},
    name=_("membership"),
    plural=_("memberships"),
)
