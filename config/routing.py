"""WebSocket routes. The widget consumer arrives with the channels issue."""

websocket_urlpatterns: list = []
