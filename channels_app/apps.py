from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsAppConfig(AppConfig):
    name = "channels_app"
    verbose_name = _("Channels")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from channels_app.models import ChannelAccount
        from channels_app.selectors import webhook_accounts_forget
        from channels_app.services import contact_channel_data_erase
        from channels_app.widget.services import advisor_joined_announce
        from crm.events import EventType, event_subscribe
        from tenants.models import Tenant
        from tenants.redaction import loggers_redact

        # httpx logs each request's URL (at INFO), and a Telegram URL holds the bot token.
        loggers_redact("httpx", "httpcore")

        # An erased contact (GDPR) is erased from the raw webhook events too.
        event_subscribe(contact_channel_data_erase, types=[EventType.CONTACT_ERASED])
        # A rep who takes a widget conversation over is announced in the open widget.
        event_subscribe(advisor_joined_announce, types=[EventType.CONVERSATION_HANDED_OFF])

        # A saved or deleted account or tenant must not be served from the webhook cache.
        for model in (ChannelAccount, Tenant):
            post_save.connect(webhook_accounts_forget, sender=model, dispatch_uid=f"forget-{model}")
            post_delete.connect(
                webhook_accounts_forget, sender=model, dispatch_uid=f"forget-del-{model}"
            )
