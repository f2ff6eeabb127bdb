"""Catalog permissions for the role groups: admins run the catalog, reps read it."""

from django.db import migrations

from tenants.migration_ops import grant_role_permissions

ACTIONS = ["view", "add", "change", "delete"]
ROLE_PERMISSIONS = {
    "Tenant admins": [f"{a}_{m}" for m in ("product", "catalogupload") for a in ACTIONS],
    "Sales reps": ["view_product"],
}


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
        ("tenants", "0002_role_groups"),
    ]

    operations = [grant_role_permissions("catalog", ROLE_PERMISSIONS)]
