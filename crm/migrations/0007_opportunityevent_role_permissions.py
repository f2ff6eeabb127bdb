"""Both roles read an opportunity's audit trail; only services write it."""

from django.db import migrations

from tenants.migration_ops import grant_role_permissions

ROLE_PERMISSIONS = {
    "Tenant admins": ["view_opportunityevent"],
    "Sales reps": ["view_opportunityevent"],
}


def revoke(apps, schema_editor):
    # Only this migration's permission: the helper's own reverse would take every crm
    # permission away from the groups.
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.filter(
        content_type__app_label="crm", codename="view_opportunityevent"
    )
    for group in Group.objects.filter(name__in=list(ROLE_PERMISSIONS)):
        group.permissions.remove(*permission)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0006_opportunityevent"),
        ("tenants", "0002_role_groups"),
    ]

    operations = [
        migrations.RunPython(grant_role_permissions("crm", ROLE_PERMISSIONS).code, revoke),
    ]
