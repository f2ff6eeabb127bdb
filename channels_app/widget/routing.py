"""WebSocket routes of the widget."""

from django.urls import path

from channels_app.widget.consumers import WidgetConsumer

websocket_urlpatterns: list = [
    path("ws/widget/<str:key>/", WidgetConsumer.as_asgi()),
]
