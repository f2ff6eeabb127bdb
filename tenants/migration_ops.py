"""Migration operations the apps share, each a one-liner in their own migrations.

* :func:`grant_role_permissions`: "these role groups get these permissions of my app".
  Permissions are created on the spot (Django normally creates them only after
  ``migrate`` finishes).
* :func:`encrypt_fields`: the plain values of fields that just became
  ``EncryptedTextField`` are encrypted (and decrypted again when migrating back).
"""

from __future__ import annotations

from collections.abc import Callable

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from tenants.fields import (
    SecretDecryptionError,
    encrypted_columns_rewrite,
    secret_decrypt,
    secret_encrypt,
)


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


def _encrypt_plain(value: str, label: str) -> str:
    try:
        secret_decrypt(value, label=label)
    except SecretDecryptionError:
        return secret_encrypt(value)  # plain text (the usual case)
    return value  # already encrypted: migrating forward twice changes nothing


def _decrypt(value: str, label: str) -> str:
    return secret_decrypt(value, label=label)


def encrypt_fields(app_label: str, model_name: str, field_names: list[str]) -> migrations.RunPython:
    """Encrypt every row's plain values of ``field_names`` with the newest key of
    ``FIELD_ENCRYPTION_KEY`` (soft-deleted rows and every tenant's too); backwards,
    decrypt them (a value no key decrypts stops the migration, nothing changed). Put it
    after the ``AlterField`` operations that make the fields ``EncryptedTextField``."""

    def rewrite(
        convert: Callable[[str, str], str],
    ) -> Callable[[Apps, BaseDatabaseSchemaEditor], None]:
        def run(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
            model = apps.get_model(app_label, model_name)
            encrypted_columns_rewrite(schema_editor.connection, model, field_names, convert)

        return run

    return migrations.RunPython(rewrite(_encrypt_plain), rewrite(_decrypt))
