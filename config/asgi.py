"""ASGI entry point: Daphne serves HTTP (Django) and WebSocket (Channels) from here."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from config.routing import websocket_urlpatterns  # noqa: E402
from config.worker import start_in_process_worker  # noqa: E402

start_in_process_worker()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Origins are checked per widget account (its allowed origins), not globally.
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
