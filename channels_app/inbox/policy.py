"""One "text only" reply for every channel: what the bot answers to a message it cannot
read (a photo, a voice note, a sticker, a location…), in the customer's language.

The language comes from the platform's hint when there is one (Telegram's
``language_code``), else from what the customer wrote before, else from the number's
country (WhatsApp), else the tenant's default language.
"""

from __future__ import annotations

from agent.language import detect_language
from channels_app.models import ChannelAccount
from crm.models import Message

ONLY_TEXT = {
    "es": (
        "Gracias por tu mensaje. Por ahora solo puedo leer mensajes de texto: "
        "¿me lo escribes, por favor?"
    ),
    "en": "Thanks for your message. For now I can only read text messages: could you type it?",
    "pt": (
        "Obrigado pela sua mensagem. Por enquanto só consigo ler mensagens de texto: "
        "pode escrevê-la, por favor?"
    ),
}
# Calling codes and BSUID country prefixes where English is the safe guess.
_ENGLISH_PREFIXES = ("1", "44", "61", "64", "353")
_SPANISH_NANP = ("1787", "1939", "1809", "1829", "1849")  # Puerto Rico, Dominican Republic
_ENGLISH_COUNTRIES = frozenset({"US", "CA", "GB", "AU", "NZ", "IE"})


def only_text_reply(*, account: ChannelAccount, address: str, hint: str = "") -> str:
    """The note for a message without text. The caller holds the tenant's scope."""
    return ONLY_TEXT[reply_language(account=account, address=address, hint=hint)]


def reply_language(*, account: ChannelAccount, address: str, hint: str = "") -> str:
    hinted = hint.lower()[:2]
    if hinted in ONLY_TEXT:
        return hinted
    default = account.tenant.default_language
    guess = default if default in ONLY_TEXT else "es"
    if hint:
        guess = "en"  # a language we do not write: English is the safest
    elif account.kind == ChannelAccount.Kind.WHATSAPP:
        guess = _guess_from_number(address, guess)
    earlier = list(
        Message.objects.filter(
            conversation__contact__platform=account.kind,
            conversation__contact__platform_user_id=address,
            role=Message.Role.USER,
        )
        .exclude(content__startswith="[")
        .order_by("-created_at", "-pk")
        .values_list("content", flat=True)[:3]
    )
    if hint or not earlier:
        return guess
    language = detect_language(" ".join(earlier), default=guess)
    return language if language in ONLY_TEXT else guess


def _guess_from_number(address: str, guess: str) -> str:
    country = address.split(".", 1)[0] if "." in address else ""
    if country in _ENGLISH_COUNTRIES:
        return "en"
    if country == "BR" or address.startswith("55"):
        return "pt"
    if address.isdigit() and address.startswith(_ENGLISH_PREFIXES):
        return "es" if address.startswith(_SPANISH_NANP) else "en"
    return guess
