"""Tenant admins run the webhook endpoints and read their delivery log (redelivering needs
the endpoint's change permission); sales reps do neither."""

from django.db import migrations

from tenants.migration_ops import grant_role_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_webhooks"),
        ("tenants", "0002_role_groups"),
    ]

    operations = [
        grant_role_permissions(
            "integrations",
            {
                "Tenant admins": [
                    *(f"{a}_webhookendpoint" for a in ("view", "add", "change", "delete")),
                    "view_webhookdelivery",
                    "view_webhookattempt",
                ],
            },
        )
    ]
