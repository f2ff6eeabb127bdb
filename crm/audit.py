"""The CRM's one audit trail: :func:`audit_record` is the only writer of ``AuditEntry``.

Every state change of an opportunity, a conversation or a contact made through
``crm.services`` is recorded with its actor (:class:`Actor`: a sales rep, the AI agent,
an integration, or the system) and what changed (``{field: [before, after]}``), in the
same transaction as the change. The opportunity and conversation pages of the desk
show the entries (``crm.selectors.audit_trail``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from crm.models import AuditEntry, Contact, Conversation, LeadOpportunity
from tenants.models import Tenant

Kind = AuditEntry.ActorKind


def user_display_name(user: Any) -> str:
    """How a rep is named to customers, in the transcript and in the audit trail."""
    return str(user.get_full_name() or user.get_username()).strip()


def user_first_name(user: Any) -> str:
    """How a rep introduces themself to a customer in a chat: their first name, else the
    part of their e-mail (or user name) before the @, capitalised ("laura.gomez@…" →
    "Laura")."""
    first = str(getattr(user, "first_name", "") or "").strip()
    if first:
        return first
    login = str(getattr(user, "email", "") or user.get_username()).strip()
    return name_from_login(login)


def name_from_login(login: str) -> str:
    """A first name made from an e-mail or a user name: "ana.ruiz@x" → "Ana", "jean-luc" →
    "Jean-Luc"; a full name keeps its first word ("Laura Gómez" → "Laura")."""
    local = login.split("@", 1)[0].strip()
    word = re.split(r"[\s._+]+", local, maxsplit=1)[0] if local else ""
    return "-".join(part[:1].upper() + part[1:] for part in word.split("-"))


@dataclass(frozen=True)
class Actor:
    """Who makes a change: build one with :meth:`rep`, :meth:`agent`, :meth:`integration`
    or :meth:`system`."""

    kind: str
    user: Any = None  # the rep's user, for kind "rep"
    name: str = ""

    @classmethod
    def rep(cls, user: Any) -> Actor:
        return cls(kind=Kind.REP, user=user, name=user_display_name(user)[:150])

    @classmethod
    def agent(cls) -> Actor:
        return cls(kind=Kind.AGENT, name="AI agent")

    @classmethod
    def integration(cls, name: str) -> Actor:
        return cls(kind=Kind.INTEGRATION, name=name[:150] or "Integration")

    @classmethod
    def system(cls, name: str = "System") -> Actor:
        return cls(kind=Kind.SYSTEM, name=name[:150])

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user is not None else None


SYSTEM = Actor.system()


def as_actor(actor: Actor | Any) -> Actor:
    """An :class:`Actor`; a staff user given instead acts as a rep."""
    return actor if isinstance(actor, Actor) else Actor.rep(actor)


class Action:
    """The dotted names of the audit trail."""

    CONTACT_UPDATED = "crm.contact.updated"
    CONTACT_EXPORTED = "crm.contact.exported"
    CONTACT_ERASED = "crm.contact.erased"
    CONVERSATION_TAKEN_OVER = "crm.conversation.taken_over"
    CONVERSATION_HANDED_OFF = "crm.conversation.handed_off"
    CONVERSATION_HANDED_BACK = "crm.conversation.handed_back"
    CONVERSATION_CLOSED = "crm.conversation.closed"
    CONVERSATION_REOPENED = "crm.conversation.reopened"
    CONVERSATION_ASSIGNED = "crm.conversation.assigned"
    CONVERSATION_FLAGGED = "crm.conversation.flagged"
    CONVERSATION_UPDATED = "crm.conversation.updated"
    OPPORTUNITY_CREATED = "crm.opportunity.created"
    OPPORTUNITY_UPDATED = "crm.opportunity.updated"
    OPPORTUNITY_STATUS_CHANGED = "crm.opportunity.status_changed"
    OPPORTUNITY_ASSIGNED = "crm.opportunity.assigned"
    RECOMMENDATION_CREATED = "crm.opportunity.recommendation_created"
    RECOMMENDATION_UPDATED = "crm.opportunity.recommendation_updated"
    CONVERSATION_DELETED = "crm.conversation.deleted"
    CONVERSATION_RESTORED = "crm.conversation.restored"
    OPPORTUNITY_DELETED = "crm.opportunity.deleted"
    OPPORTUNITY_RESTORED = "crm.opportunity.restored"
    QUOTE_CREATED = "quotes.quote.created"
    QUOTE_UPDATED = "quotes.quote.updated"
    QUOTE_APPROVED = "quotes.quote.approved"
    QUOTE_SENT = "quotes.quote.sent"
    QUOTE_ACCEPTED = "quotes.quote.accepted"
    QUOTE_REJECTED = "quotes.quote.rejected"
    QUOTE_EXPIRED = "quotes.quote.expired"


LABELS: dict[str, Any] = {
    Action.CONTACT_UPDATED: _("Contact updated"),
    Action.CONTACT_EXPORTED: _("Data exported (GDPR)"),
    Action.CONTACT_ERASED: _("Personal data erased (GDPR)"),
    Action.CONVERSATION_TAKEN_OVER: _("Taken over"),
    Action.CONVERSATION_HANDED_OFF: _("Handed off to a rep"),
    Action.CONVERSATION_HANDED_BACK: _("Handed back to the bot"),
    Action.CONVERSATION_CLOSED: _("Closed"),
    Action.CONVERSATION_REOPENED: _("Reopened"),
    Action.CONVERSATION_ASSIGNED: _("Assigned"),
    Action.CONVERSATION_FLAGGED: _("Flagged for a rep"),
    Action.CONVERSATION_UPDATED: _("Edited"),
    Action.OPPORTUNITY_CREATED: _("Created"),
    Action.OPPORTUNITY_UPDATED: _("Updated"),
    Action.OPPORTUNITY_STATUS_CHANGED: _("Status changed"),
    Action.OPPORTUNITY_ASSIGNED: _("Assigned"),
    Action.RECOMMENDATION_CREATED: _("Product recommended"),
    Action.RECOMMENDATION_UPDATED: _("Recommendation updated"),
    Action.CONVERSATION_DELETED: _("Deleted"),
    Action.CONVERSATION_RESTORED: _("Restored"),
    Action.OPPORTUNITY_DELETED: _("Deleted"),
    Action.OPPORTUNITY_RESTORED: _("Restored"),
    Action.QUOTE_CREATED: _("Quote prepared"),
    Action.QUOTE_UPDATED: _("Quote edited"),
    Action.QUOTE_APPROVED: _("Quote approved"),
    Action.QUOTE_SENT: _("Quote sent"),
    Action.QUOTE_ACCEPTED: _("Quote accepted"),
    Action.QUOTE_REJECTED: _("Quote rejected"),
    Action.QUOTE_EXPIRED: _("Quote expired"),
}


def action_label(action: str) -> str:
    return str(LABELS.get(action, action))


def _text(value: Any) -> str:
    return "" if value is None else str(value)[:150]


def audit_record(
    *,
    tenant: Tenant,
    action: str,
    actor: Actor,
    opportunity: LeadOpportunity | None = None,
    conversation: Conversation | None = None,
    contact: Contact | None = None,
    from_value: Any = "",
    to_value: Any = "",
    changes: dict[str, list[Any]] | None = None,
    note: str = "",
) -> AuditEntry:
    """Record one change with its actor. Call it inside the change's transaction."""
    return AuditEntry.objects.create(
        tenant=tenant,
        action=action,
        actor_kind=actor.kind,
        actor=actor.user,
        actor_name=actor.name[:150],
        opportunity=opportunity,
        conversation=conversation,
        contact=contact,
        from_value=_text(from_value),
        to_value=_text(to_value),
        changes=changes or {},
        note=note[:300],
    )
