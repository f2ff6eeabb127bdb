"""One migration operation for "these role groups get these permissions of my app".

Apps add the permissions of their own models to the role groups in their own
migrations; this keeps that a one-liner. Permissions are created on the spot
(Django normally creates them only after ``migrate`` finishes).
"""

from __future__ import annotations

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def grant_role_permissions(
    app_label: str, role_permissions: dict[str, list[str]]
) -> migrations.RunPython:
    """``role_permissions``: group name -> permission codenames of ``app_label``."""

    def grant(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        app_config = apps.get_app_config(app_label)
        # create_permissions() skips an app without models; it only tests this for truth.
        app_config.models_module = True  # type: ignore[assignment]
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
        for group_name, codenames in role_permissions.items():
            group, _ = Group.objects.get_or_create(name=group_name)
            group.permissions.add(
                *Permission.objects.filter(
                    content_type__app_label=app_label, codename__in=codenames
                )
            )

    def revoke(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
        for group in Group.objects.filter(name__in=list(role_permissions)):
            group.permissions.remove(*Permission.objects.filter(content_type__app_label=app_label))

    return migrations.RunPython(grant, revoke)
