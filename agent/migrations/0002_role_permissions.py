"""LLM call records are read-only for both roles (reps see what the bot did)."""

from django.db import migrations

from tenants.migration_ops import grant_role_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("agent", "0001_initial"),
        ("tenants", "0002_role_groups"),
    ]

    operations = [
        grant_role_permissions(
            "agent", {"Tenant admins": ["view_llmcall"], "Sales reps": ["view_llmcall"]}
        )
    ]
