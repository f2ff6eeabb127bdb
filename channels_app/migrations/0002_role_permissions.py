"""Tenant admins run the channel accounts; both roles can see where a conversation goes."""

from django.db import migrations

from tenants.migration_ops import grant_role_permissions

ACTIONS = ["view", "add", "change", "delete"]


class Migration(migrations.Migration):
    dependencies = [
        ("channels_app", "0001_initial"),
        ("tenants", "0002_role_groups"),
    ]

    operations = [
        grant_role_permissions(
            "channels_app",
            {
                "Tenant admins": [f"{a}_channelaccount" for a in ACTIONS]
                + ["view_conversationroute"],
                "Sales reps": ["view_conversationroute"],
            },
        )
    ]
