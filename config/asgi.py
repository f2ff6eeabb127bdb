"""ASGI entry point: Daphne serves HTTP (Django, with a lean route in front for the
Telegram and WhatsApp webhooks) and WebSocket (Channels) from here."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels_app.ingest import webhook_app  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402
from config.worker import start_in_process_worker  # noqa: E402

start_in_process_worker()

application = ProtocolTypeRouter(
    {
        # Telegram and WhatsApp webhook POSTs take a lean route (no middleware, batched
        # commits); everything else is Django.
        "http": webhook_app(django_asgi_app),
        # Origins are checked per widget account (its allowed origins), not globally.
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
