from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    name = "desk"
    verbose_name = _("Sales desk")

    def ready(self) -> None:
        from crm.events import event_subscribe
        from desk.inbox import EVENT_TYPES, inbox_event_forward

        # The open inboxes of a tenant hear of its new, flagged and changed conversations.
        event_subscribe(inbox_event_forward, types=EVENT_TYPES)
