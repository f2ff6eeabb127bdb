"""Reads of the sales desk that are not an admin page's own: the live sockets' (the
conversation page's and the inbox's) and the inbox's rows, which the list and the
inbox socket share.

A conversation's contact is labelled for the inbox by :func:`contact_label`: the name, else
the e-mail or phone; a visitor nobody knows yet (the widget names them "Web visitor
a1b2c3") is "Web visitor · #<contact id>", so two of them never look alike. Unread
messages (:func:`inbox_annotate`) are the customer messages after the member's read mark
(``desk.models.ConversationReadMark``), all of them when the member never opened it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypedDict

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from crm.models import Contact, Conversation, Message
from desk.models import ConversationReadMark
from desk.transcript import MessageRow, message_row
from quotes.models import Quote
from tenants.models import Tenant
from tenants.scoping import scopes_disabled, tenant_scope
from tenants.selectors import membership_for_user

VIEW_PERMISSION = "crm.view_conversation"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SHOWN_ROLES = [Message.Role.USER, Message.Role.ASSISTANT, Message.Role.AGENT]
EXCERPT_CHARS = 90
# The names the widget gives visitors until the agent learns theirs.
PLACEHOLDER_PREFIXES = ("Web visitor ",)


def _may_watch(user: Any) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm(VIEW_PERMISSION)
    )


def conversation_for_watcher(*, user: Any, conversation_id: int) -> Conversation | None:
    """The conversation if ``user`` may watch it, else None.

    A member of the conversation's tenant whose role can view conversations may; so
    may an active platform operator (a superuser, who sees every tenant in the admin).
    """
    if not _may_watch(user):
        return None
    membership = membership_for_user(user=user)
    if membership is not None:
        with tenant_scope(membership.tenant):
            return Conversation.objects.select_related("tenant").filter(pk=conversation_id).first()
    if user.is_superuser:
        with scopes_disabled():
            return Conversation.objects.select_related("tenant").filter(pk=conversation_id).first()
    return None


def inbox_tenant_for_watcher(*, user: Any) -> Tenant | None:
    """The tenant whose live inbox ``user`` may watch: their own, if their role can view
    conversations; None for anyone else (operators read the list without live updates:
    they belong to no tenant's group)."""
    if not _may_watch(user):
        return None
    membership = membership_for_user(user=user)
    return membership.tenant if membership is not None else None


def conversation_message_row(
    *, tenant: Tenant, conversation_id: int, message_id: int
) -> MessageRow | None:
    """One message of the conversation as the transcript shows it, or None."""
    with tenant_scope(tenant):
        message = (
            Message.objects.select_related("conversation__contact")
            .filter(pk=message_id, conversation_id=conversation_id)
            .first()
        )
        if message is None:
            return None
        return message_row(message, message.conversation)


# ---- the inbox ------------------------------------------------------------------------


def contact_is_anonymous(contact: Contact) -> bool:
    """Nobody knows yet who this is: no real name, e-mail, phone or CRM id."""
    name = contact.full_name.strip()
    placeholder = not name or name.startswith(PLACEHOLDER_PREFIXES)
    return placeholder and not (contact.email or contact.phone_number or contact.crm_contact_id)


def contact_label(contact: Contact) -> str:
    """How the inbox names a conversation's contact (anonymous visitors by their id)."""
    if contact_is_anonymous(contact):
        return _("Web visitor · #%(id)s") % {"id": contact.pk}
    return contact.full_name.strip() or contact.email or contact.phone_number or str(contact)


def excerpt(text: str | None, chars: int = EXCERPT_CHARS) -> str:
    return Truncator(" ".join((text or "").split())).chars(chars)


def inbox_annotate(
    queryset: QuerySet[Conversation], *, user_id: int | None
) -> QuerySet[Conversation]:
    """The inbox's figures on each conversation: the last message (``last_text``,
    ``last_role``), the member's unread customer messages (``unread_total``) and whether a
    draft quote waits for a rep's approval (``quote_draft``)."""
    latest = Message.objects.filter(conversation=OuterRef("pk"), role__in=SHOWN_ROLES).order_by(
        "-created_at", "-pk"
    )
    marks = ConversationReadMark.objects.filter(conversation=OuterRef("pk"))
    mine = marks.filter(user_id=user_id) if user_id is not None else marks.none()
    read_at = mine.values("last_read_at")[:1]
    unread = (
        Message.objects.filter(conversation=OuterRef("pk"), role=Message.Role.USER)
        .filter(created_at__gt=Coalesce(OuterRef("read_at"), Value(EPOCH)))
        .order_by()
        .values("conversation")
        .annotate(total=Count("pk"))
        .values("total")
    )
    annotated: QuerySet[Conversation] = queryset.annotate(
        last_text=Subquery(latest.values("content")[:1]),
        last_role=Subquery(latest.values("role")[:1]),
        read_at=Subquery(read_at),
        quote_draft=Exists(quote_drafts()),
    ).annotate(unread_total=Coalesce(Subquery(unread, output_field=IntegerField()), Value(0)))
    return annotated


def quote_drafts() -> QuerySet[Quote]:
    """The draft quotes of the outer query's conversation (for ``Exists``)."""
    return Quote.objects.filter(conversation=OuterRef("pk"), status=Quote.Status.DRAFT)


class InboxItem(TypedDict):
    id: int
    title: str
    body: str
    channel: str
    status: str
    flagged: bool
    quote_draft: bool
    unread: int
    url: str


def inbox_item(*, tenant: Tenant, conversation_id: int, user: Any) -> InboxItem | None:
    """One conversation of the tenant as the member's inbox announces it (a browser
    notification's title and body, the unread count), or None when it is not there."""
    with tenant_scope(tenant):
        conversation = (
            inbox_annotate(Conversation.objects.all(), user_id=user.pk)
            .select_related("contact")
            .filter(pk=conversation_id)
            .first()
        )
        if conversation is None:
            return None
        contact = contact_label(conversation.contact)
    channel = str(conversation.get_channel_display())
    if conversation.needs_attention:
        body = conversation.attention_reason or _("needs a rep")
    else:
        body = excerpt(getattr(conversation, "last_text", ""))
    return {
        "id": conversation.pk,
        "title": f"{contact} · {channel}",
        "body": body,
        "channel": conversation.channel,
        "status": conversation.status,
        "flagged": conversation.needs_attention,
        "quote_draft": bool(getattr(conversation, "quote_draft", False)),
        "unread": int(getattr(conversation, "unread_total", 0) or 0),
        "url": reverse("admin:crm_conversation_change", args=[conversation.pk]),
    }
