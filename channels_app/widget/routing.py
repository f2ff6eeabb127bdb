"""WebSocket routes of the widget (to be written)."""

websocket_urlpatterns: list = []
