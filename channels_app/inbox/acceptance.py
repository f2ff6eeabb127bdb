"""Quote acceptance in the chat, before the agent runs: a press of an "Accept quote" button
or a typed "acepto".

:func:`quote_answers_handle` looks at a conversation's waiting customer messages, oldest
first. A message is a quote acceptance when

* its metadata has ``quote_accept`` (the key an accept button carried: Telegram's
  callback, WhatsApp's reply button, the widget's frame; ``channels_app.quotes``), or
* its text is a plain acceptance and nothing else (:func:`is_plain_acceptance`: "acepto",
  "lo acepto", "I accept"…) while the conversation has a sent quote awaiting an answer
  (the newest one, or the one whose reference the text names).

Such a message is taken (marked handled, so the agent does not answer it) and answered
here, in the tenant's language and formality with the tenant's own wording
(``tenants.wording``): the quote is accepted (``quotes.services.quote_accept``: the
opportunity is won and a rep is told); an expired one is refused politely and the
conversation flagged for a rep to send a new one; a key that is not a quote of this
conversation is never accepted. A typed "acepto" with no quote awaiting goes to the agent.

The caller (``channels_app.inbox.answer``) holds the conversation's lease and the tenant's
scope, and delivers the replies stored here.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

from django.db import transaction
from django.utils import formats
from django.utils.translation import gettext, override

from crm.audit import Actor
from crm.models import Conversation, Message
from crm.services import conversation_flag, message_add, messages_mark_handled
from quotes.models import Quote
from quotes.selectors import quote_by_key, quotes_awaiting_answer
from quotes.services import QuoteRefused, quote_accept
from tenants.models import Tenant
from tenants.wording import tenant_text

logger = logging.getLogger(__name__)

CUSTOMER = Actor.system("Customer")
MAX_TYPED_CHARS = 60  # a longer message says something else too: the agent answers it

# What a customer types to accept, once lowercased, without accents and punctuation.
_ACCEPTANCES = frozenset(
    {
        "acepto",
        "lo acepto",
        "la acepto",
        "aceptado",
        "acepto el presupuesto",
        "acepto la cotizacion",
        "acepto la oferta",
        "aceptamos",
        "lo aceptamos",
        "la aceptamos",
        "aceptamos el presupuesto",
        "aceptamos la cotizacion",
        "aceptamos la oferta",
        "accept",
        "accepted",
        "i accept",
        "we accept",
        "i accept it",
        "we accept it",
        "i accept the quote",
        "we accept the quote",
        "aceito",
        "aceitamos",
        "aceito o orcamento",
        "aceitamos o orcamento",
    }
)
_BEFORE = ("si", "ok", "okay", "vale", "perfecto", "yes", "sim")  # "sí, acepto"
_AFTER = ("gracias", "muchas gracias", "thanks", "thank you", "obrigado", "obrigada")
_REFERENCE = re.compile(r"\bq-?0*(\d{1,9})\b")

# The customer's words of a button press stored as their message (the widget's; Telegram
# and WhatsApp store the button's label).
ACCEPT_TEXT = {
    "es": "Acepto el presupuesto {ref}",
    "en": "I accept quote {ref}",
    "pt": "Aceito o orçamento {ref}",
}


def accept_text(*, tenant: Tenant, reference: str) -> str:
    """What a press of the widget's accept button reads as, in the tenant's language."""
    template = ACCEPT_TEXT.get(tenant.default_language, ACCEPT_TEXT["en"])
    return template.format(ref=reference)


def _normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = _REFERENCE.sub(" ", plain)  # "acepto el presupuesto Q-00042"
    plain = re.sub(r"[^\w\s]", " ", plain)
    return " ".join(plain.split())


def is_plain_acceptance(text: str) -> bool:
    """True for a short message that only accepts ("Acepto.", "Sí, lo acepto", "I accept!",
    "acepto el presupuesto Q-00042"); False for a sentence with anything else in it."""
    if not text or len(text) > MAX_TYPED_CHARS:
        return False
    words = _normalise(text)
    for after in _AFTER:
        if words.endswith(" " + after):
            words = words[: -len(after) - 1]
            break
    for before in _BEFORE:
        if words.startswith(before + " "):
            words = words[len(before) + 1 :]
            break
    return words in _ACCEPTANCES


def _named_number(text: str) -> int | None:
    match = _REFERENCE.search(text.lower())
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class _Answer:
    key: str  # tenants.wording key of the reply
    quote: Quote | None
    flag: str = ""  # why a rep must look, "" when no flag beyond quote_accept's own


def quote_answers_handle(*, tenant: Tenant, conversation_id: int) -> int:
    """Answer the conversation's waiting quote acceptances; returns the replies stored.

    The caller holds the tenant's scope and the conversation's lease, and delivers them.
    """
    waiting = list(
        Message.objects.filter(
            conversation_id=conversation_id, role=Message.Role.USER, handled_at__isnull=True
        ).order_by("created_at", "pk")
    )
    replies = 0
    for message in waiting:
        key = _pressed_key(message)
        if key is None and not is_plain_acceptance(message.content):
            continue
        with transaction.atomic():
            conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
            conversation.tenant = tenant
            if key is None:
                quote = _awaiting(conversation, message.content)
                if quote is None:
                    continue  # "acepto" with nothing to accept: the agent answers it
            else:
                quote = quote_by_key(tenant=tenant, key=key)
            if not messages_mark_handled(message_ids=[message.pk]):
                continue  # another run took it
            via = _via(conversation, typed=key is None)
            answer = _answer(tenant, conversation, quote, via)
            reply = _reply_text(tenant, answer)
            message_add(
                conversation=conversation,
                role=Message.Role.ASSISTANT,
                content=reply,
                metadata={
                    "quote_answer": {
                        "status": answer.key,
                        **({"key": answer.quote.public_key} if answer.quote else {}),
                    }
                },
            )
            if answer.flag:
                conversation_flag(conversation=conversation, reason=answer.flag, actor=CUSTOMER)
            replies += 1
        logger.info(
            "conversation %s: quote answer %s (%s)",
            conversation_id,
            answer.key,
            answer.quote.reference if answer.quote else "unknown quote",
        )
    return replies


def _pressed_key(message: Message) -> str | None:
    metadata = message.metadata if isinstance(message.metadata, dict) else {}
    key = metadata.get("quote_accept")
    if key is None:
        return None
    return str(key)[:64]


def _awaiting(conversation: Conversation, text: str) -> Quote | None:
    """The quote a typed acceptance answers: the one it names, else the newest sent one."""
    awaiting = quotes_awaiting_answer(conversation=conversation)
    number = _named_number(text)
    if number is not None:
        named = awaiting.filter(number=number).first()
        if named is not None:
            return named
    return awaiting.first()


def _via(conversation: Conversation, *, typed: bool) -> str:
    return "text" if typed else str(conversation.channel or "chat")


def _answer(tenant: Tenant, conversation: Conversation, quote: Quote | None, via: str) -> _Answer:
    with override(tenant.default_language):
        if quote is None or quote.conversation_id != conversation.pk:
            # Forged, of another conversation, or deleted: never accepted here.
            return _Answer(
                "quote_unknown",
                None,
                gettext("The customer tried to accept a quote that is not in this conversation."),
            )
        try:
            quote_accept(quote=quote, actor=CUSTOMER, via=via)
        except QuoteRefused as refused:
            if refused.code == "expired":
                flag = gettext(
                    "The customer tried to accept %(ref)s, which has expired: send a new quote."
                ) % {"ref": quote.reference}
                return _Answer("quote_expired", quote, flag)
            flag = gettext("The customer tried to accept %(ref)s, which is %(status)s.") % {
                "ref": quote.reference,
                "status": quote.get_status_display(),
            }
            return _Answer("quote_not_open", quote, flag)
    return _Answer("quote_accepted", quote)


def _reply_text(tenant: Tenant, answer: _Answer) -> str:
    values: dict[str, str] = {}
    if answer.quote is not None:
        with override(tenant.default_language):
            values = {
                "ref": answer.quote.reference,
                "date": formats.date_format(
                    answer.quote.valid_until, "SHORT_DATE_FORMAT", use_l10n=True
                ),
            }
    return tenant_text(
        wording=tenant.fallback_wording or {},
        formality=tenant.formality,
        language=tenant.default_language,
        key=answer.key,
        **values,
    )
