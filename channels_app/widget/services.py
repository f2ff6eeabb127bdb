"""The widget's visitors: signed visitor tokens, their history, and storing their messages.

The consumer (``consumers.py``) is the edge: it checks the socket and the frames and calls
these. A visitor is identified by a token signed with ``django.core.signing`` and salted
with the account, so a token of one account never opens another's visitor.
"""

from __future__ import annotations

from django.core import signing

from channels_app.inbox import Inbound, inbound_store
from channels_app.models import ChannelAccount
from channels_app.widget import schemas
from crm.models import Contact, Conversation, Message, Platform
from tenants.scoping import tenant_scope

HISTORY_LIMIT = 50
SHOWN_ROLES = (Message.Role.USER, Message.Role.ASSISTANT, Message.Role.AGENT)


def _salt(account: ChannelAccount) -> str:
    return f"channels_app.widget.visitor:{account.pk}:{account.key}"


def visitor_token(*, account: ChannelAccount, visitor_id: str) -> str:
    return signing.Signer(salt=_salt(account)).sign(visitor_id)


def visitor_from_token(*, account: ChannelAccount, token: str) -> str | None:
    """The visitor id the token was issued for by this account, or None."""
    if not token or len(token) > 200:
        return None
    try:
        return signing.Signer(salt=_salt(account)).unsign(token)
    except signing.BadSignature:
        return None


def visitor_history(*, account: ChannelAccount, visitor_id: str) -> list[schemas.HistoryItem]:
    """The visitor's latest widget conversation, oldest first (bot replies not sent left out)."""
    with tenant_scope(account.tenant):
        contact = Contact.objects.filter(
            platform=Platform.WIDGET, platform_user_id=visitor_id
        ).first()
        if contact is None:
            return []
        conversation = (
            Conversation.objects.filter(contact=contact, channel=Platform.WIDGET)
            .order_by("-created_at", "-pk")
            .first()
        )
        if conversation is None:
            return []
        messages = list(
            conversation.messages.filter(role__in=SHOWN_ROLES)
            .exclude(delivery_status=Message.Delivery.FAILED, role=Message.Role.ASSISTANT)
            .order_by("-created_at", "-pk")[:HISTORY_LIMIT]
        )
    prefix = f"{_external_prefix(account, visitor_id)}:"
    return [
        schemas.HistoryItem(
            role=m.role,  # type: ignore[arg-type]
            text=m.content,
            time=m.created_at,
            id=m.external_id.removeprefix(prefix)
            if m.external_id and m.external_id.startswith(prefix)
            else None,
        )
        for m in reversed(messages)
    ]


def _external_prefix(account: ChannelAccount, visitor_id: str) -> str:
    return f"w:{account.pk}:{visitor_id}"


def visitor_message_store(
    *, account: ChannelAccount, visitor_id: str, text: str, client_id: str
) -> tuple[int, bool]:
    """Store the visitor's message in the inbox; ``(conversation id, created)``."""
    inbound = Inbound(
        address=visitor_id,
        text=text,
        external_id=f"{_external_prefix(account, visitor_id)}:{client_id}",
        # A name reps can tell apart until the agent learns the real one.
        display_name=f"Web visitor {visitor_id[:6]}",
    )
    with tenant_scope(account.tenant):
        message, created = inbound_store(account=account, inbound=inbound)
    return message.conversation_id, created
