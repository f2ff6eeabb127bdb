"""Both roles can see what the webhooks received (read only), like conversation routes."""

from django.db import migrations

from tenants.migration_ops import grant_role_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("channels_app", "0003_inbound_events"),
        ("tenants", "0002_role_groups"),
    ]

    operations = [
        grant_role_permissions("channels_app", {"Tenant admins": ["view_inboundevent"], "Sales reps": ["view_inboundevent"]}),
    ]
