"""``manage.py reencrypt_secrets [--json]``: every secret encrypted with the newest key.

Rotating ``FIELD_ENCRYPTION_KEY``: put the new key first (``new,old``) everywhere, run
this once, then drop the old key. A second run rotates nothing.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from tenants.fields import SecretDecryptionError, encrypted_fields_rotate
from tenants.management.base import JsonSummaryCommand


class Command(JsonSummaryCommand):
    help = (
        "Re-encrypt every stored secret with the newest FIELD_ENCRYPTION_KEY (the first one); "
        "run it after putting a new key in front, before dropping the old one."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            fields = encrypted_fields_rotate()
        except SecretDecryptionError as exc:
            raise CommandError(f"{exc} Nothing was changed.") from exc
        rotated = sum(fields.values())
        keys = len(settings.FIELD_ENCRYPTION_KEYS)
        lines = [f"{rotated} secret(s) re-encrypted with the newest of {keys} key(s)."]
        lines += [f"  {label}: {count}" for label, count in fields.items()]
        if keys > 1:
            lines.append("Every secret now uses the first key: the others can be dropped.")
        self.summarize(
            options, {"rotated": rotated, "fields": fields, "keys": keys}, "\n".join(lines)
        )
