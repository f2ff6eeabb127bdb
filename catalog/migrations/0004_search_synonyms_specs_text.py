"""Search (issue 11): the specs' clean text apart from the description's, and tenants'
synonym groups, which tenant admins edit and sales reps read."""

import django.db.models.deletion
from django.db import migrations, models

from tenants.migration_ops import grant_role_permissions

ACTIONS = ["view", "add", "change", "delete"]
ROLE_PERMISSIONS = {
    "Tenant admins": [f"{a}_synonymgroup" for a in ACTIONS],
    "Sales reps": ["view_synonymgroup"],
}


def fill_specs_text(apps, schema_editor):
    """The specs' clean text of the products already imported (new imports write it)."""
    from catalog.cleaning import clean_html

    Product = apps.get_model("catalog", "Product")
    batch = []
    rows = Product._base_manager.exclude(specs_html="").only("pk", "specs_html")
    for product in rows.iterator(chunk_size=500):
        product.specs_text = clean_html(product.specs_html)
        batch.append(product)
        if len(batch) >= 500:
            Product._base_manager.bulk_update(batch, ["specs_text"])
            batch = []
    if batch:
        Product._base_manager.bulk_update(batch, ["specs_text"])


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_product_version_index"),
        ("tenants", "0003_tenant_logo"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="specs_text",
            field=models.TextField(
                blank=True,
                help_text="Readable text from the specs alone (the end of the clean text): search weighs it apart from the description.",
            ),
        ),
        migrations.CreateModel(
            name="SynonymGroup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("is_deleted", models.BooleanField(db_index=True, default=False)),
                ("deleted_at", models.DateTimeField(blank=True, null=True)),
                (
                    "terms",
                    models.TextField(
                        help_text='Words or phrases that mean the same, separated by "=" (or commas), e.g. "pHmetro = medidor de pH = pH meter". A query that names one also searches the others.'
                    ),
                ),
                ("is_active", models.BooleanField(default=True)),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="tenants.tenant",
                    ),
                ),
            ],
            options={
                "verbose_name": "synonym group",
                "ordering": ["terms", "pk"],
            },
        ),
        migrations.RunPython(fill_specs_text, migrations.RunPython.noop),
        grant_role_permissions("catalog", ROLE_PERMISSIONS),
    ]
