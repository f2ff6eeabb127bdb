"""The widget's visitors: signed visitor tokens, their history, and storing their messages;
and telling an open widget that a sales rep joined its conversation.

The consumer (``consumers.py``) is the edge: it checks the socket and the frames and calls
these. A visitor is identified by a token signed with ``django.core.signing`` and salted
with the account, so a token of one account never opens another's visitor.

A quote sent in the chat is shown with a fresh signed link to its PDF and its accept
button, also in the history; a press of the button is stored as the visitor's message
(:func:`visitor_quote_accept_store`) only when the quote is one of this visitor's.

A rep is shown to the visitor by first name (``crm.audit.user_first_name``): on each of
their messages, in the history, and in the "joined" line the widget shows when
:func:`advisor_joined_announce` (subscribed to ``conversation.handed_off``) reports a
take-over.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.core import signing
from django.utils.translation import gettext, override

from channels_app.inbox import Inbound, inbound_store
from channels_app.inbox.acceptance import accept_text
from channels_app.models import ChannelAccount, ConversationRoute
from channels_app.quotes import accept_payload, accepted_key, quote_reference
from channels_app.widget import schemas
from channels_app.widget.transport import transport
from crm.audit import name_from_login, user_first_name
from crm.events import DomainEvent
from crm.models import Contact, Conversation, Message, Platform
from quotes.links import quote_download_url
from quotes.models import Quote
from quotes.selectors import quote_by_key
from tenants.models import Tenant
from tenants.redaction import redact
from tenants.scoping import tenant_scope

logger = logging.getLogger(__name__)

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


def _latest_conversation(account: ChannelAccount, visitor_id: str) -> Conversation | None:
    """The visitor's latest widget conversation; the caller holds the tenant's scope."""
    contact = Contact.objects.filter(platform=Platform.WIDGET, platform_user_id=visitor_id).first()
    if contact is None:
        return None
    return (
        Conversation.objects.filter(contact=contact, channel=Platform.WIDGET)
        .select_related("assigned_rep")
        .order_by("-created_at", "-pk")
        .first()
    )


def message_author(message: Message) -> str:
    """The first name a rep's message is shown with ("" for the bot and the visitor)."""
    if message.role != Message.Role.AGENT:
        return ""
    if message.author is not None:
        return user_first_name(message.author)
    return name_from_login(message.author_name)  # the user was removed since


def visitor_history(*, account: ChannelAccount, visitor_id: str) -> list[schemas.HistoryItem]:
    """The visitor's latest widget conversation, oldest first (bot replies not sent left out)."""
    with tenant_scope(account.tenant):
        conversation = _latest_conversation(account, visitor_id)
        if conversation is None:
            return []
        messages = list(
            conversation.messages.filter(role__in=SHOWN_ROLES)
            .exclude(delivery_status=Message.Delivery.FAILED, role=Message.Role.ASSISTANT)
            .select_related("author")
            .order_by("-created_at", "-pk")[:HISTORY_LIMIT]
        )
        quotes = _attachments(account.tenant, messages)
    prefix = f"{_external_prefix(account, visitor_id)}:"
    return [
        schemas.HistoryItem(
            role=m.role,  # type: ignore[arg-type]
            text=m.content,
            time=m.created_at,
            id=m.external_id.removeprefix(prefix)
            if m.external_id and m.external_id.startswith(prefix)
            else None,
            author=message_author(m),
            quote=quotes.get(m.pk),
        )
        for m in reversed(messages)
    ]


def visitor_advisor(*, account: ChannelAccount, visitor_id: str) -> str:
    """The first name of the rep who has the visitor's conversation now, or ""."""
    with tenant_scope(account.tenant):
        conversation = _latest_conversation(account, visitor_id)
    if (
        conversation is None
        or conversation.status != Conversation.Status.HANDED_OFF
        or conversation.assigned_rep is None
    ):
        return ""
    return user_first_name(conversation.assigned_rep)


def advisor_joined_announce(event: DomainEvent) -> None:
    """A rep took a widget conversation over: tell the visitor's open widgets who joined.

    Subscribed to ``conversation.handed_off`` (a take-over carries ``taken_over``); best
    effort: a channel layer that is down is logged, never raised to the take-over.
    """
    if not event.data.get("taken_over") or event.actor_user_id is None:
        return
    tenant = Tenant.objects.filter(pk=event.tenant_id).first()
    if tenant is None:
        return
    with tenant_scope(tenant):
        route = (
            ConversationRoute.objects.select_related("account")
            .filter(conversation_id=event.subject_id, account__kind=ChannelAccount.Kind.WIDGET)
            .first()
        )
    rep: Any = get_user_model().objects.filter(pk=event.actor_user_id).first()
    if route is None or rep is None:
        return
    try:
        async_to_sync(transport.advisor_joined)(route, user_first_name(rep))
    except Exception as exc:  # e.g. called from a thread that runs an event loop
        logger.warning("widget: advisor notice not sent: %s", redact(str(exc)))


def _external_prefix(account: ChannelAccount, visitor_id: str) -> str:
    return f"w:{account.pk}:{visitor_id}"


def visitor_message_store(
    *, account: ChannelAccount, visitor_id: str, text: str, client_id: str
) -> tuple[int, bool]:
    """Store the visitor's message in the inbox; ``(conversation id, created)``."""
    external_id = f"{_external_prefix(account, visitor_id)}:{client_id}"
    with tenant_scope(account.tenant):
        return _inbound(account, visitor_id, text, external_id)


def visitor_quote_accept_store(
    *, account: ChannelAccount, visitor_id: str, payload: str
) -> tuple[int, bool] | None:
    """Store a press of a quote's accept button as the visitor's message (``metadata
    {"quote_accept": key}``, the content "Acepto el presupuesto Q-00042" in the tenant's
    language); ``(conversation id, created)``, or None when the payload names no quote of
    this visitor (nothing stored). The inbox accepts it before the agent runs
    (``channels_app.inbox.acceptance``); a second press of the same quote is recognised."""
    key = accepted_key(payload)
    if key is None:
        return None
    with tenant_scope(account.tenant):
        quote = quote_by_key(tenant=account.tenant, key=key)
        conversation = quote.conversation if quote is not None else None
        if (
            quote is None
            or conversation is None
            or conversation.channel != Platform.WIDGET
            or conversation.contact.platform != Platform.WIDGET
            or conversation.contact.platform_user_id != visitor_id
        ):
            return None
        text = accept_text(tenant=account.tenant, reference=quote.reference)
        external_id = f"{_external_prefix(account, visitor_id)}:quote-accept:{key}"
        return _inbound(account, visitor_id, text, external_id, {"quote_accept": key})


def _inbound(
    account: ChannelAccount,
    visitor_id: str,
    text: str,
    external_id: str,
    metadata: dict[str, Any] | None = None,
) -> tuple[int, bool]:
    inbound = Inbound(
        address=visitor_id,
        text=text,
        external_id=external_id,
        # A name reps can tell apart until the agent learns the real one.
        display_name=f"Web visitor {visitor_id[:6]}",
        metadata=metadata or {},
    )
    message, created = inbound_store(account=account, inbound=inbound)
    return message.conversation_id, created


def quote_attachment(quote: Quote) -> schemas.QuoteAttachment:
    """How the widget shows a quote sent in the chat (a fresh signed link each time)."""
    with override(quote.language):
        label = gettext("Accept quote")
    return schemas.QuoteAttachment(
        reference=quote.reference,
        download_url=quote_download_url(quote),
        accept_payload=accept_payload(quote.public_key),
        accept_label=label,
        status=quote.status,  # type: ignore[arg-type]
    )


def _attachments(tenant: Tenant, messages: list[Message]) -> dict[int, schemas.QuoteAttachment]:
    """The quote of each message that carries one (a deleted quote: none). In scope."""
    keys = {m.pk: ref["key"] for m in messages if (ref := quote_reference(m.metadata))}
    if not keys:
        return {}
    quotes = {q.public_key: q for q in Quote.objects.filter(public_key__in=set(keys.values()))}
    return {pk: quote_attachment(quotes[key]) for pk, key in keys.items() if key in quotes}
