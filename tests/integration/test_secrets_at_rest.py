"""Channel secrets encrypted at rest: the columns hold Fernet tokens, Python sees plain
text, keys rotate (``reencrypt_secrets``), a wrong key is a clear error, and the
migration encrypts the plain rows an older release stored (and decrypts them back)."""

from __future__ import annotations

import io
import json

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError, ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from channels_app.models import ChannelAccount
from tenants.fields import SecretDecryptionError
from tenants.scoping import scopes_disabled, tenant_scope
from tests.factories import ChannelAccountFactory

pytestmark = pytest.mark.django_db

OLD_KEY, NEW_KEY, STRANGER_KEY = (Fernet.generate_key().decode() for _ in range(3))
SECRETS = {
    "bot_token": "123456:AAsecret-bot-token",
    "webhook_secret": "telegram-webhook-secret",
    "access_token": "EAAGsecret-access-token",
    "app_secret": "meta-app-secret",
    "verify_token": "meta-verify-token",
}
FIELDS = tuple(SECRETS)


def stored(account_pk: int) -> dict[str, str]:
    """The raw column values, read with SQL."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(quote(f) for f in FIELDS)} "
            f"FROM {quote(ChannelAccount._meta.db_table)} WHERE id = %s",
            [account_pk],
        )
        return dict(zip(FIELDS, cursor.fetchone(), strict=True))


def reload(account: ChannelAccount) -> ChannelAccount:
    with scopes_disabled():
        return ChannelAccount.objects.get(pk=account.pk)


@pytest.fixture
def account(tenant_a) -> ChannelAccount:
    with tenant_scope(tenant_a):
        return ChannelAccountFactory(tenant=tenant_a, kind="whatsapp", **SECRETS)


def reencrypt() -> dict:
    out = io.StringIO()
    call_command("reencrypt_secrets", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_the_columns_hold_ciphertext_and_python_sees_plain_text(account, settings):
    raw = stored(account.pk)
    fernet = Fernet(settings.FIELD_ENCRYPTION_KEYS[0])
    for name, secret in SECRETS.items():
        assert secret not in raw[name]
        assert raw[name].startswith("gAAAAA")  # a Fernet token
        assert fernet.decrypt(raw[name].encode()).decode() == secret
    fresh = reload(account)
    assert {name: getattr(fresh, name) for name in FIELDS} == SECRETS
    with scopes_disabled():
        assert (
            ChannelAccount.objects.filter(pk=account.pk).values_list("bot_token", flat=True).get()
            == (SECRETS["bot_token"])
        )


def test_every_write_gives_new_ciphertext_and_empty_stays_empty(account):
    first = stored(account.pk)
    account.save()
    assert all(stored(account.pk)[name] != first[name] for name in FIELDS)
    with scopes_disabled():
        ChannelAccount.objects.filter(pk=account.pk).update(app_secret="", bot_token="new:1")
        assert ChannelAccount.objects.filter(app_secret="").count() == 1
    assert stored(account.pk)["app_secret"] == ""
    assert stored(account.pk)["bot_token"] != "new:1"
    assert reload(account).bot_token == "new:1"


def test_an_encrypted_field_cannot_be_looked_up_by_value(account):
    with scopes_disabled(), pytest.raises(FieldError, match="cannot be looked up by value"):
        ChannelAccount.objects.filter(webhook_secret=SECRETS["webhook_secret"]).exists()
    with scopes_disabled(), pytest.raises(FieldError, match="Unsupported lookup"):
        ChannelAccount.objects.filter(bot_token__startswith="123").exists()


def test_a_secret_longer_than_its_limit_is_refused_by_validation(account, tenant_a):
    account.app_secret = "x" * 201
    with tenant_scope(tenant_a), pytest.raises(ValidationError, match="at most 200 characters"):
        account.full_clean(exclude=["tenant"])


def test_rotation_reads_with_both_keys_and_reencrypts_with_the_newest(settings, tenant_a):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    with tenant_scope(tenant_a):
        account = ChannelAccountFactory(tenant=tenant_a, kind="whatsapp", **SECRETS)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert reload(account).access_token == SECRETS["access_token"]  # old ciphertext read

    summary = reencrypt()

    assert summary["rotated"] == len(FIELDS) and summary["keys"] == 2
    assert summary["fields"]["channels_app.ChannelAccount.access_token"] == 1
    for name, token in stored(account.pk).items():
        assert Fernet(NEW_KEY).decrypt(token.encode()).decode() == SECRETS[name]
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # the old key is dropped
    assert reload(account).bot_token == SECRETS["bot_token"]
    assert reencrypt()["rotated"] == 0  # a second run changes nothing


def test_the_command_prints_a_summary_for_people(account):
    out = io.StringIO()
    call_command("reencrypt_secrets", stdout=out)
    assert "0 secret(s) re-encrypted with the newest of 1 key(s)" in out.getvalue()


def test_a_wrong_key_is_a_clear_error_not_an_empty_secret(account, settings):
    before = stored(account.pk)
    settings.FIELD_ENCRYPTION_KEYS = [STRANGER_KEY]

    with pytest.raises(SecretDecryptionError, match=r"channels_app\.ChannelAccount\.bot_token"):
        reload(account)
    with pytest.raises(CommandError, match=r"cannot be decrypted.*Nothing was changed"):
        reencrypt()
    assert stored(account.pk) == before
    for secret in SECRETS.values():  # the error names the field, never a value
        with pytest.raises(SecretDecryptionError) as raised:
            reload(account)
        assert secret not in str(raised.value)


# The migration ----------------------------------------------------------------------------

BEFORE = [("channels_app", "0004_inbound_event_permissions")]
AFTER = [("channels_app", "0005_encrypt_channel_secrets")]


def migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_existing_plain_rows_and_reverses(tenant_a, settings):
    quote = connection.ops.quote_name
    table = quote(ChannelAccount._meta.db_table)
    migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            for number, (kind, deleted) in enumerate([("whatsapp", False), ("telegram", True)]):
                values = {**SECRETS, "app_secret": "" if kind == "telegram" else "meta-app-secret"}
                columns = [
                    "tenant_id", "kind", "name", "key", "is_active", "is_deleted",
                    "allowed_origins", "greeting", "color", "phone_number_id",
                    "api_key_hash", "api_key_prefix", "created_at", "updated_at", *values,
                ]  # fmt: skip
                row = [
                    tenant_a.pk, kind, f"Old {number}", f"old-key-{number}", True, deleted,
                    "", "", "#0b6e4f", "1098", "", "", "2026-01-01", "2026-01-01",
                    *values.values(),
                ]  # fmt: skip
                cursor.execute(
                    f"INSERT INTO {table} ({', '.join(quote(c) for c in columns)}) "
                    f"VALUES ({', '.join(['%s'] * len(row))})",
                    row,
                )
            cursor.execute(f"SELECT id FROM {table} ORDER BY id")
            live, deleted = (pk for (pk,) in cursor.fetchall())

        migrate(AFTER)

        for pk in (live, deleted):  # soft-deleted rows too
            raw = stored(pk)
            assert not any(secret in raw.values() for secret in SECRETS.values())
        assert stored(deleted)["app_secret"] == ""
        fresh = reload(ChannelAccount(pk=live))
        assert {name: getattr(fresh, name) for name in FIELDS} == SECRETS
        migrate(AFTER)  # applied already: nothing happens twice

        migrate(BEFORE)  # backwards: plain again, as the old release reads them

        assert stored(live) == SECRETS
        assert stored(deleted) == {**SECRETS, "app_secret": ""}
    finally:
        migrate(AFTER)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table}")


def test_the_migration_forwards_leaves_ciphertext_alone(account):
    """Running the encryption step again (a re-run after a partial failure) is harmless."""
    from tenants.migration_ops import _encrypt_plain

    token = stored(account.pk)["bot_token"]
    assert _encrypt_plain(token, "label") == token
    assert _encrypt_plain("plain", "label") != "plain"
