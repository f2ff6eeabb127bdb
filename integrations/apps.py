from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    """The CRM's side of the product: the REST API v1 (``integrations.api``) and the
    signed outbound webhooks (``integrations.webhooks``) that follow crm's domain events.

    It sits above ``channels_app`` (the API's ``POST /api/v1/messages`` hands messages to
    the inbox) and below ``desk``; nothing below imports it.
    """

    name = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from crm.events import EventType, event_subscribe
        from integrations.webhooks.events import WEBHOOK_EVENT_TYPES
        from integrations.webhooks.tasks import webhook_contact_erased, webhook_event_handle

        # A GDPR erasure reaches the payloads already stored (before they are sent).
        event_subscribe(webhook_contact_erased, types=[EventType.CONTACT_ERASED])
        # Each committed event a tenant's endpoints subscribed to becomes their deliveries.
        event_subscribe(webhook_event_handle, types=WEBHOOK_EVENT_TYPES)
