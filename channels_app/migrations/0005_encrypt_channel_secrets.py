"""Channel secrets encrypted at rest: the five secret columns become text columns holding
Fernet tokens (tenants/fields.py), and every existing row's plain values are encrypted
with the newest FIELD_ENCRYPTION_KEY. Backwards, the values are decrypted first."""

import channels_app.models
import tenants.fields
from django.db import migrations

from tenants.migration_ops import encrypt_fields


class Migration(migrations.Migration):

    dependencies = [
        ('channels_app', '0004_inbound_event_permissions'),
    ]

    operations = [
        migrations.AlterField(
            model_name='channelaccount',
            name='access_token',
            field=tenants.fields.EncryptedTextField(blank=True, max_length=500),
        ),
        migrations.AlterField(
            model_name='channelaccount',
            name='app_secret',
            field=tenants.fields.EncryptedTextField(blank=True, max_length=200),
        ),
        migrations.AlterField(
            model_name='channelaccount',
            name='bot_token',
            field=tenants.fields.EncryptedTextField(blank=True, max_length=200),
        ),
        migrations.AlterField(
            model_name='channelaccount',
            name='verify_token',
            field=tenants.fields.EncryptedTextField(blank=True, default=channels_app.models.new_secret, max_length=200),
        ),
        migrations.AlterField(
            model_name='channelaccount',
            name='webhook_secret',
            field=tenants.fields.EncryptedTextField(blank=True, default=channels_app.models.new_secret, help_text='Telegram sends it back in X-Telegram-Bot-Api-Secret-Token.', max_length=256),
        ),
        encrypt_fields(
            "channels_app",
            "ChannelAccount",
            ["bot_token", "webhook_secret", "access_token", "app_secret", "verify_token"],
        ),
    ]
