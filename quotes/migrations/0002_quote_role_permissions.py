"""Both roles work quotes in the desk: sales reps view, prepare and change them (a draft's
lines, approve, send, reject); tenant admins may also delete them. A quote's lines are
edited on the quote's page (their own admin is read-only), so both roles only view them."""

from django.db import migrations

from tenants.migration_ops import grant_role_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("quotes", "0001_initial"),
        ("tenants", "0002_role_groups"),
    ]

    operations = [
        grant_role_permissions(
            "quotes",
            {
                "Tenant admins": [
                    *(f"{a}_quote" for a in ("view", "add", "change", "delete")),
                    "view_quoteline",
                ],
                "Sales reps": [
                    *(f"{a}_quote" for a in ("view", "add", "change")),
                    "view_quoteline",
                ],
            },
        )
    ]
