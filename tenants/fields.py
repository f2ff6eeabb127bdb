"""Secrets encrypted at rest: :class:`EncryptedTextField` and the Fernet keys behind it.

A value is a Fernet token (AES-128-CBC with an HMAC-SHA256, from the ``cryptography``
package) made with the first key of ``settings.FIELD_ENCRYPTION_KEYS`` and read with any
of them (``MultiFernet``), so keys can be rotated: put the new key first, run
``manage.py reencrypt_secrets``, then drop the old one. Python code sees plain text; the
column holds only ciphertext. "" stays "" (an unset secret is not a secret).

Encryption is randomised: the same secret never gives the same ciphertext, so a row can
not be found by its secret. Filtering on an encrypted field by a value is refused (only
``isnull`` and ``= ""`` work): find the row by a non-secret key (an account's URL key)
and compare the secret with ``hmac.compare_digest``.

A value that none of the keys decrypts raises :class:`SecretDecryptionError`: a wrong or
missing key is an error an operator sees, never a secret silently read as empty.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldError
from django.core.validators import MaxLengthValidator
from django.db import models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.lookups import Exact, IsNull, Lookup, Transform


class SecretDecryptionError(RuntimeError):
    """A stored secret that no key of ``FIELD_ENCRYPTION_KEY`` decrypts."""


@functools.cache
def _fernets(keys: tuple[str, ...]) -> tuple[Fernet, MultiFernet]:
    fernets = [Fernet(key) for key in keys]
    return fernets[0], MultiFernet(fernets)


def _keys() -> tuple[str, ...]:
    keys = tuple(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        raise SecretDecryptionError("FIELD_ENCRYPTION_KEYS is empty: no key to encrypt with.")
    return keys


def secret_encrypt(plain: str) -> str:
    """``plain`` as a Fernet token made with the newest key ("" stays "")."""
    if not plain:
        return ""
    return _fernets(_keys())[1].encrypt(plain.encode()).decode()


def _undecryptable(label: str) -> SecretDecryptionError:
    where = f"{label} " if label else ""
    return SecretDecryptionError(
        f"The stored secret {where}cannot be decrypted with FIELD_ENCRYPTION_KEY: the key is "
        "wrong, or the key it was encrypted with is no longer listed (keep the old key after "
        "the new one until `manage.py reencrypt_secrets` has run), or the value was written "
        "unencrypted."
    )


def secret_decrypt(token: str, *, label: str = "") -> str:
    """The plain text of a stored token ("" stays ""); ``label`` names it in the error."""
    if not token:
        return ""
    try:
        return _fernets(_keys())[1].decrypt(token.encode()).decode()
    except InvalidToken:
        raise _undecryptable(label) from None


def secret_is_current(token: str) -> bool:
    """Whether ``token`` is empty or already encrypted with the newest key."""
    if not token:
        return True
    try:
        _fernets(_keys())[0].decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def secret_rotate(token: str, *, label: str = "") -> str:
    """``token`` re-encrypted with the newest key (read with any key)."""
    if not token:
        return ""
    try:
        return _fernets(_keys())[1].rotate(token.encode()).decode()
    except InvalidToken:
        raise _undecryptable(label) from None


class EncryptedTextField(models.TextField):
    """A secret string, encrypted in the column and plain in Python.

    ``max_length`` limits the plain text (forms and ``full_clean``); the column is a text
    column because the ciphertext is longer than the secret.
    """

    description = "A secret string, encrypted at rest"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            self.validators.append(MaxLengthValidator(self.max_length))

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None:
            return None
        return secret_decrypt(value, label=f"{self.model._meta.label}.{self.name}")

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or not isinstance(value, str):
            return value
        return secret_encrypt(value)

    def get_lookup(self, lookup_name: str) -> type[Lookup[Any]] | None:
        """``= ""`` and ``isnull`` only: anything else would compare ciphertext."""
        if lookup_name == "exact":
            return EncryptedExact
        return IsNull if lookup_name == "isnull" else None

    def get_transform(self, lookup_name: str) -> type[Transform] | None:
        return None


class EncryptedExact(Exact):
    """``= ""`` only: a secret's ciphertext differs on every write, so no value matches."""

    def get_prep_lookup(self) -> Any:
        if self.rhs not in ("", None):
            raise FieldError(
                f"{self.lhs.output_field} is encrypted and cannot be looked up by value: find "
                "the row by a non-secret key and compare with hmac.compare_digest."
            )
        return super().get_prep_lookup()


def encrypted_columns_rewrite(
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    field_names: Sequence[str],
    convert: Callable[[str, str], str],
) -> int:
    """Rewrite the stored values of ``field_names`` of every row of ``model`` (soft-deleted
    and every tenant's too: this reads the table, not a manager) with ``convert(value,
    label)``; returns how many values changed. "" is left alone.

    Every value is converted before anything is written, so a value that cannot be
    converted (a wrong key) fails with nothing changed. A row is only rewritten where it
    still holds what was read, so a secret saved meanwhile is not overwritten.
    """
    quote = connection.ops.quote_name
    meta = model._meta
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    columns = {f.name: f.column for f in meta.concrete_fields if f.name in field_names}
    if len(columns) != len(field_names):
        raise FieldError(f"{meta.label} has no column for some of {list(field_names)}")
    select = ", ".join(quote(column) for column in columns.values())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {pk}, {select} FROM {table}")  # noqa: S608 (quoted names)
        rows = cursor.fetchall()
        updates: list[tuple[Any, dict[str, tuple[str, str]]]] = []
        for pk_value, *values in rows:
            changes: dict[str, tuple[str, str]] = {}
            for (name, column), old in zip(columns.items(), values, strict=True):
                if old:
                    new = convert(old, f"{meta.label}.{name} (pk {pk_value})")
                    if new != old:
                        changes[column] = (old, new)
            if changes:
                updates.append((pk_value, changes))
        for pk_value, changes in updates:
            sets = ", ".join(f"{quote(column)} = %s" for column in changes)
            same = " AND ".join(f"{quote(column)} = %s" for column in changes)
            cursor.execute(
                f"UPDATE {table} SET {sets} WHERE {pk} = %s AND {same}",  # noqa: S608
                [
                    *(new for _, new in changes.values()),
                    pk_value,
                    *(old for old, _ in changes.values()),
                ],
            )
    return sum(len(changes) for _, changes in updates)


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every installed model with encrypted fields, and their names."""
    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            found.append((model, names))
    return found


def encrypted_fields_rotate() -> dict[str, int]:
    """Re-encrypt every stored secret with the newest key (``MultiFernet.rotate``), in one
    transaction: ``{"<app>.<Model>.<field>"...: values rotated, ...}``. A value already
    under the newest key is left alone, so a second run rotates nothing; a value no key
    decrypts raises :class:`SecretDecryptionError` and nothing is changed."""

    def rotate(value: str, label: str) -> str:
        return value if secret_is_current(value) else secret_rotate(value, label=label)

    rotated: dict[str, int] = {}
    with transaction.atomic():
        connection = transaction.get_connection()
        for model, names in encrypted_fields():
            for name in names:
                count = encrypted_columns_rewrite(connection, model, [name], rotate)
                rotated[f"{model._meta.label}.{name}"] = count
    return rotated
