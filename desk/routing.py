"""WebSocket routes of the sales desk: session-authenticated, same-origin only."""

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from desk.consumers import ConversationConsumer, InboxConsumer

websocket_urlpatterns: list = [
    path(
        "ws/desk/conversations/<int:conversation_id>/",
        AllowedHostsOriginValidator(AuthMiddlewareStack(ConversationConsumer.as_asgi())),
    ),
    path(
        "ws/desk/inbox/",
        AllowedHostsOriginValidator(AuthMiddlewareStack(InboxConsumer.as_asgi())),
    ),
]
