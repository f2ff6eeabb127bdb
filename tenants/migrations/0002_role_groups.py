"""The two role groups and the permissions of the foundation's models.

Later apps add the permissions of their own models to these groups in their
own migrations. Permissions are created here (they normally appear only after
``migrate`` finishes) so that the groups can reference them.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CRM_MODELS = [
    "company",
    "companydivision",
    "contact",
    "conversation",
    "message",
    "leadopportunity",
    "opportunityproductrecommendation",
]
ACTIONS = ["view", "add", "change", "delete"]

ROLE_PERMISSIONS = {
    "Sales reps": [("crm", f"{action}_{model}") for model in CRM_MODELS for action in ACTIONS],
    "Tenant admins": [("crm", f"{action}_{model}") for model in CRM_MODELS for action in ACTIONS]
    + [("tenants", f"{action}_membership") for action in ACTIONS]
    + [("tenants", "view_tenant"), ("tenants", "change_tenant")],
}


def create_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, wanted in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        for app_label, codename in wanted:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLE_PERMISSIONS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("tenants", "0001_initial"),
        ("crm", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
