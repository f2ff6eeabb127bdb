"""The tenant's product catalog, the uploads that fill it, and the synonyms its search uses."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.glossary import parse_groups
from tenants.i18n import label_model
from tenants.models import TenantOwnedModel


class Product(TenantOwnedModel):
    sku = models.CharField(_("SKU"), max_length=128)
    name = models.CharField(max_length=300)
    category = models.CharField(max_length=200, blank=True)
    brand = models.CharField(max_length=200, blank=True)
    price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    description_html = models.TextField(_("description (as uploaded)"), blank=True)
    specs_html = models.TextField(_("specifications (as uploaded)"), blank=True)
    clean_text = models.TextField(
        blank=True,
        help_text=_(
            "Readable text from the description and specs: what search and the agent read."
        ),
    )
    specs_text = models.TextField(
        blank=True,
        help_text=_(
            "Readable text from the specs alone (the end of the clean text): search "
            "weighs it apart from the description."
        ),
    )
    url = models.URLField(max_length=500, blank=True)
    is_active = models.BooleanField(default=True)
    content_hash = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("Hash of the uploaded fields: unchanged rows are skipped."),
    )

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "sku"], name="product_unique_sku_per_tenant"),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "is_active", "category"], name="product_tenant_active_cat"
            ),
            models.Index(fields=["tenant", "name"], name="product_tenant_name"),
            # Covers the catalog version that every search reads (catalog.search).
            models.Index(
                fields=["tenant", "is_active", "is_deleted", "updated_at"],
                name="product_tenant_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} · {self.name}"

    @property
    def is_searchable(self) -> bool:
        return self.is_active and not self.is_deleted


def upload_path(instance: CatalogUpload, filename: str) -> str:
    return f"catalog_uploads/{instance.tenant_id}/{filename}"


class CatalogUpload(TenantOwnedModel):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        PROCESSING = "processing", _("Processing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    file = models.FileField(upload_to=upload_path)
    original_name = models.CharField(max_length=255, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    full_sync = models.BooleanField(
        default=False, help_text=_("Deactivate the products that are not in this file.")
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    deactivated_count = models.PositiveIntegerField(_("deactivated"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    errors = models.JSONField(default=list, blank=True, help_text=_("[{row, sku, reason}]"))
    error_message = models.TextField(
        blank=True, help_text=_("Why the whole file failed, if it did.")
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Upload {self.pk}: {self.original_name or self.file.name}"

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(100, int(100 * self.processed_rows / self.total_rows))


class SynonymGroup(TenantOwnedModel):
    """Terms that mean the same for one tenant's customers ("pHmetro = medidor de pH").

    Applied to that tenant's search queries only, when they are searched: an edit takes
    effect on the next search, with no reindexing (``catalog.synonyms``).
    """

    terms = models.TextField(
        help_text='Words or phrases that mean the same, separated by "=" (or commas), e.g. '
        '"pHmetro = medidor de pH = pH meter". A query that names one also searches the others.'
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["terms", "pk"]
        verbose_name = _("synonym group")

    def __str__(self) -> str:
        return " = ".join(self.term_list())

    def term_list(self) -> list[str]:
        groups = parse_groups(self.terms.replace("\n", " = "))
        return groups[0] if groups else []

    def clean(self) -> None:
        super().clean()
        if len(self.term_list()) < 2:
            raise ValidationError({"terms": _('Write at least two terms separated by "=".')})


# The names the desk shows, translated (tenants.i18n: no migration changes).
label_model(
    Product,
    {
        "category": _("category"),
        "brand": _("brand"),
        "price": _("price"),
        "currency": _("currency"),
        "clean_text": _("clean text"),
        "specs_text": _("specs text"),
        "url": _("url"),
    },
    name=_("product"),
    plural=_("products"),
)
label_model(
    CatalogUpload,
    {
        "file": _("file"),
        "original_name": _("original name"),
        "uploaded_by": _("uploaded by"),
        "full_sync": _("full sync"),
        "status": _("status"),
        "total_rows": _("total rows"),
        "processed_rows": _("processed rows"),
        "errors": _("errors"),
        "error_message": _("error message"),
        "started_at": _("started at"),
        "finished_at": _("finished at"),
    },
    name=_("catalog upload"),
    plural=_("catalog uploads"),
)
label_model(SynonymGroup, {"terms": _("terms")}, plural=_("synonym groups"))
