"""WebSocket routes of the widget."""

from django.urls import path

from channels_app.widget.consumers import WidgetConsumer

websocket_urlpatterns: list = [
    # Channels' URLRouter takes ASGI apps in Django's path(); django-stubs expects a view.
    path("ws/widget/<str:key>/", WidgetConsumer.as_asgi()),  # type: ignore[arg-type]
]
