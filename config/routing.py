"""WebSocket routes: the web widget, and the sales desk's live conversation page."""

from channels_app.widget.routing import websocket_urlpatterns as widget_routes
from desk.routing import websocket_urlpatterns as desk_routes

websocket_urlpatterns: list = [*widget_routes, *desk_routes]
