from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """The CRM's side of the product: the REST API v1 (``integrations.api``) and the
    signed outbound webhooks (``integrations.webhooks``) that follow crm's domain events.

    It sits above ``channels_app`` (the API's ``POST /api/v1/messages`` hands messages to
    the inbox) and below ``desk``; nothing below imports it.
    """

    name = "integrations"
    verbose_name = "Integrations"
