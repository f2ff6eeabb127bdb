"""WebSocket routes: the web widget."""

from channels_app.widget.routing import websocket_urlpatterns as widget_routes

websocket_urlpatterns: list = [*widget_routes]
