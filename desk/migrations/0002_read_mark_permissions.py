"""Both roles read the read marks (who opened which conversation when); only the desk writes them."""

from django.db import migrations

from tenants.migration_ops import grant_role_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("desk", "0001_conversation_read_marks"),
        ("tenants", "0002_role_groups"),
    ]

    operations = [
        grant_role_permissions(
            "desk",
            {
                "Tenant admins": ["view_conversationreadmark"],
                "Sales reps": ["view_conversationreadmark"],
            },
        )
    ]
