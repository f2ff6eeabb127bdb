"""The HTML of the desk's admin pages: each fragment is a template under
``templates/admin/desk/``, rendered here from the objects it shows. Autoescaping escapes
every value (a contact's name, a message, the CRM's metadata); nothing is marked safe but a
rendered template. The transcript's table is ``desk/transcript.py``'s, the audit trail's
``desk/audit.py``'s.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.formats import date_format as localized_date
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from crm.models import (
    Contact,
    Conversation,
    LeadOpportunity,
    Message,
    OpportunityProductRecommendation,
)

EMPTY = "—"
NO_REASON = gettext_lazy("needs a rep")


def render(name: str, context: Mapping[str, Any]) -> SafeString:
    """``templates/admin/desk/<name>.html``, without the whitespace around it."""
    html = render_to_string(f"admin/desk/{name}.html", dict(context))
    return mark_safe(html.strip())  # noqa: S308 - the template escapes every value


# ---- the conversations ----------------------------------------------------------------


# ---- the inbox: one line per conversation ----------------------------------------------


def inbox_contact(
    *, label: str, anonymous: bool, company: str, channel: str, speaker: str, excerpt: str
) -> SafeString:
    return render(
        "conversation_inbox_contact",
        {
            "label": label,
            "anonymous": anonymous,
            "company": company,
            "channel": channel,
            "speaker": speaker,
            "excerpt": excerpt,
        },
    )


def inbox_status(conversation: Conversation) -> SafeString:
    """A short badge: "Flagged" when flagged (the reason on hover), else who has it; and
    "Quote needs approval" while a draft quote waits for a rep."""
    short: dict[str, str] = {
        Conversation.Status.ACTIVE: pgettext("conversation status", "Bot"),
        Conversation.Status.HANDED_OFF: pgettext("conversation status", "With a rep"),
        Conversation.Status.CLOSED: pgettext("conversation status", "Closed"),
    }
    flagged = conversation.needs_attention
    label = (
        pgettext("conversation status", "Flagged")
        if flagged
        else short.get(conversation.status, conversation.status)
    )
    reason = (conversation.attention_reason or NO_REASON) if flagged else ""
    return render(
        "conversation_inbox_status",
        {
            "status": conversation.status,
            "flagged": flagged,
            "label": label,
            "reason": reason,
            "quote_draft": bool(getattr(conversation, "quote_draft", False)),
        },
    )


def inbox_unread(count: int) -> SafeString:
    return render("conversation_inbox_unread", {"count": count})


def ago_short(when: datetime, now: datetime | None = None) -> str:
    """ "just now", "3 min ago", "2 h ago", "4 d ago", then the date ("5 Dec")."""
    seconds = int(((now or timezone.now()) - when).total_seconds())
    if seconds < 60:
        return _("just now")
    if seconds < 3600:
        return _("%(count)s min ago") % {"count": seconds // 60}
    if seconds < 86400:
        return _("%(count)s h ago") % {"count": seconds // 3600}
    if seconds < 7 * 86400:
        return _("%(count)s d ago") % {"count": seconds // 86400}
    return date_format(timezone.localtime(when), "j M")


def inbox_when(when: datetime | None) -> str:
    if when is None:
        return EMPTY
    local = timezone.localtime(when)
    return render(
        "conversation_inbox_when",
        {
            "iso": local.isoformat(),
            "exact": local.strftime("%Y-%m-%d %H:%M"),
            "ago": ago_short(when),
        },
    )


def attention(conversation: Conversation) -> str:
    if not conversation.needs_attention:
        return _("Not flagged.")
    return render("flag", {"reason": conversation.attention_reason or NO_REASON})


def contact_card(contact: Contact) -> SafeString:
    details = " · ".join(v for v in (contact.email, contact.phone_number) if v)
    return render(
        "contact_card", {"contact": contact, "details": details, "division": contact.division}
    )


def opportunity_links(opportunities: Iterable[LeadOpportunity]) -> SafeString:
    return render("opportunity_links", {"opportunities": opportunities})


# ---- the opportunities ----------------------------------------------------------------


def quote_links(quotes: Iterable[Any]) -> SafeString:
    """An opportunity's quotes: reference (linked to its page), status badge, total, validity."""
    from desk.admin.opportunities import money_display

    rows = [
        {
            "reference": quote.reference,
            "url": reverse("admin:quotes_quote_change", args=[quote.pk]),
            "badge": quote_badge(quote),
            "total": money_display(quote.total, quote.currency),
            "valid_until": localized_date(quote.valid_until, "SHORT_DATE_FORMAT"),
        }
        for quote in quotes
    ]
    return render("quote_links", {"quotes": rows})


def quote_badge(quote: Any) -> SafeString:
    return render("quote_status", {"status": quote.status, "label": quote.get_status_display()})


def product_link(recommendation: OpportunityProductRecommendation) -> SafeString:
    return render("product_link", {"recommendation": recommendation})


def crm_ids(contact: Contact) -> SafeString:
    """The contact, its company and division with the ids the CRM gave them."""
    division = contact.division
    company = division.company if division is not None else None
    rows = [
        (_("Contact"), str(contact), contact.crm_contact_id),
        (_("Company"), company.name if company else EMPTY, company and company.crm_company_id),
        (
            _("Division"),
            division.name if division else EMPTY,
            division and division.crm_division_id,
        ),
    ]
    return render("crm_ids", {"rows": rows})


def crm_metadata(messages: Iterable[Message]) -> SafeString:
    """Every field of the metadata the CRM passed with the messages, a row each."""
    rows = [
        (message.created_at, str(key), _metadata_value(value))
        for message in messages
        if isinstance(message.metadata, dict)
        for key, value in message.metadata.items()
    ]
    return render("crm_metadata", {"rows": rows})


def conversation_link(conversation_id: int | None) -> SafeString:
    return render("conversation_link", {"conversation_id": conversation_id})


def _metadata_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
