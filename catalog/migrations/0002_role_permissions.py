"""Catalog permissions for the role groups: admins run the catalog, reps read it."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ACTIONS = ["view", "add", "change", "delete"]
ROLE_PERMISSIONS = {
    "Tenant admins": [f"{a}_{m}" for m in ("product", "catalogupload") for a in ACTIONS],
    "Sales reps": ["view_product"],
}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("catalog")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="catalog", codename__in=codenames)
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name__in=list(ROLE_PERMISSIONS)):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="catalog"))


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
        ("tenants", "0002_role_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
