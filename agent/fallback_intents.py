"""What a customer's message says, read without an LLM: their name, e-mail and phone, a
budget, a request for a person, a greeting or thanks, and what is left of it as a need.

Pure functions over text (Spanish, English and Portuguese phrasing), for the fallback
agent (``agent.fallback``). Each reader is conservative: a phrase it does not recognise
is left in the need rather than taken for a name, a phone number or a budget.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from catalog.text import fold, words

# E-mail -----------------------------------------------------------------------------------

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


def find_emails(text: str) -> list[str]:
    found = []
    for match in _EMAIL.finditer(text):
        email = match.group().strip(".-").lower()
        try:
            validate_email(email)
        except ValidationError:
            continue
        found.append(email)
    return found


# Phone --------------------------------------------------------------------------------------

# Digit groups joined by single spaces, dots, dashes or brackets, maybe after + or 00.
_PHONE = re.compile(r"(?:\+|\b00)?\s?\(?\d{1,5}\)?(?:[ .\-/]?\(?\d{1,5}\)?){1,7}")
_PHONE_WORDS = re.compile(
    r"\b(tel|telf|tfno|telefono|movil|celular|phone|mobile|cell|whatsapp|llamar|llamame|"
    r"llameme|call|numero|number|contacto|contact|telemovel|ligar)\b"
)
_MONEY_AFTER = re.compile(r"^\s?(€|\$|£|eur|usd|gbp|euros?|dolares|dollars?|k\b|mil\b|%)")
_THOUSANDS = re.compile(r"^\d{1,3}(?:[.,]\d{3})+(?:[.,]\d{1,2})?$")


def _phone_matches(text: str) -> list[tuple[str, tuple[int, int]]]:
    folded = fold(text)
    keyword = bool(_PHONE_WORDS.search(folded))
    found = []
    for match in _PHONE.finditer(text):
        raw = match.group().strip(" .-/")
        start = match.start() + match.group().find(raw[:1])
        end = start + len(raw)
        before = text[max(0, start - 2) : start]
        if before[-1:].isalnum() or before[-1:] in ("@", "_") or re.search(r"[A-Za-z]-$", before):
            continue  # part of a word, an e-mail or a model number
        if _MONEY_AFTER.match(fold(text[end:])) or _THOUSANDS.match(raw):
            continue
        if text[end : end + 1].isalnum():
            continue
        digits = re.sub(r"\D", "", raw)
        if not 9 <= len(digits) <= 15:
            continue
        international = raw.startswith("+") or raw.startswith("00")
        spanish = len(digits) == 9 and digits[0] in "6789"
        american = bool(re.fullmatch(r"(?:\+?1[ .\-]?)?\(?\d{3}\)?[ .\-]?\d{3}[ .\-]\d{4}", raw))
        if not (international or keyword or spanish or american):
            continue
        if international:
            digits = "+" + (digits[2:] if raw.startswith("00") else digits)
        found.append((digits, (start, end)))
    return found


def find_phones(text: str) -> list[str]:
    """Phone numbers, as ``+34612345678`` (international) or the digits as written.

    Nine to fifteen digits. Without a ``+``/``00`` prefix, the message must name a phone
    ("teléfono", "call me", …), or the number must look like a Spanish one (nine digits
    from 6, 7, 8 or 9) or a North American one ("(555) 123-4567"). Amounts ("3.000.000 €"),
    model numbers ("TU-5200"), dates and ranges are not phones.
    """
    return [phone for phone, _span in _phone_matches(text)]


# Name ---------------------------------------------------------------------------------------

_NAME_WORD = r"[A-Za-zÀ-ÖØ-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ'\u2019\-]*"
# Phrases that introduce a name whatever its case ("me llamo ana") ...
_STRONG = re.compile(
    r"(?i:\b(?:me\s+llamo|mi\s+nombre\s+es|mi\s+nombre\s*:|my\s+name\s+is|my\s+name's|"
    r"name\s*:|nombre\s*:|meu\s+nome\s+[eé]|chamo-me|me\s+chamo))\s+"
    rf"({_NAME_WORD}(?:\s+{_NAME_WORD}){{0,3}})"
)
# ... and phrases that need the name capitalised ("soy Ana", not "soy ingeniero").
_WEAK = re.compile(
    r"(?i:\b(?:soy|i'm|i\u2019m|i\s+am|this\s+is|aqu[ií]|sou))\s+"
    rf"({_NAME_WORD}(?:\s+{_NAME_WORD}){{0,3}})"
)
_NOT_NAME_TEXT = """
y e and de del da do dos das la el los las of from at en con with mi my me tu your
    su soy i im is es but pero que who which desde para por for in on a an the un una
    necesito need busco looking quiero want tengo have trabajo work llamo escribo writing
    interesado interesada interested aqui here nuevo nueva new cliente customer responsable
    ingeniero ingeniera engineer jefe jefa manager encargado encargada tecnico tecnica
    estudiante student sorry fine good ok okay bien not no si yes just going trying
    also tambien email correo mail telefono phone movil mobile gracias thanks hola hello
    urgent urgente important importante great perfect perfecto correct correcto right
    glad happy feliz contento contenta"""
_NOT_NAME = frozenset(_NOT_NAME_TEXT.split())
MAX_NAME_WORDS = 3


def _name_match(text: str) -> tuple[str, tuple[int, int]] | None:
    for pattern, capitalised_only in ((_STRONG, False), (_WEAK, True)):
        for match in pattern.finditer(text):
            kept: list[str] = []
            end = match.start(1)
            for word in re.finditer(r"\S+", match.group(1)):
                token = word.group()
                if fold(token).strip("'\u2019-") in _NOT_NAME or len(kept) == MAX_NAME_WORDS:
                    break
                if capitalised_only and not token[:1].isupper():
                    break
                kept.append(token)
                end = match.start(1) + word.end()
            name = " ".join(w[:1].upper() + w[1:] for w in kept).strip("'\u2019-")
            if len(name) >= 2:
                return name[:100], (match.start(), end)
    return None


def find_name(text: str) -> str:
    """The name a customer gives ("me llamo Ana Pérez", "soy Ana", "my name is John Smith",
    "I'm John"), capitalised; empty when there is none."""
    found = _name_match(text)
    return found[0] if found else ""


# Budget ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    amount: Decimal
    currency: str = ""  # ISO 4217, or "" when the customer named none

    def display(self, language: str) -> str:
        """``3.000 EUR`` (Spanish, Portuguese) or ``3,000 EUR`` (English)."""
        whole = self.amount == self.amount.to_integral_value()
        text = f"{self.amount:,.0f}" if whole else f"{self.amount:,.2f}"
        if language != "en":
            text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
        return f"{text} {self.currency}".strip()


_CURRENCY_WORDS = {
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "$": "USD",
    "us$": "USD",
    "usd": "USD",
    "dolar": "USD",
    "dolares": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "£": "GBP",
    "gbp": "GBP",
    "libras": "GBP",
    "pounds": "GBP",
    "r$": "BRL",
    "brl": "BRL",
    "reais": "BRL",
    "reales": "BRL",
    "chf": "CHF",
    "mxn": "MXN",
}
_CUR = (
    r"(?:us\$|r\$|€|\$|£|eur|euros?|usd|dolares|dollars?|gbp|libras|pounds|brl|reais|reales|"
    r"chf|mxn)"
)
_NUMBER = r"\d{1,3}(?:[.,\s]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_AMOUNT = re.compile(
    rf"(?<![\w.,])(?P<before>{_CUR}\s?)?(?P<number>{_NUMBER})(?![\d])"
    rf"(?P<mult>\s?(?:k|mil)\b)?(?P<after>\s?{_CUR}(?![a-z]))?",
)
_BUDGET_WORDS = re.compile(
    r"\b(presupuesto|budget|orcamento|hasta|under|below|less than|up to|maximo|como maximo|"
    r"no mas de|menos de|max|ate|tope|limite|limit)\W*(?:\w+\W+){0,3}$"
)


def _number(text: str) -> Decimal | None:
    """``3.000`` and ``3,000`` are three thousand, ``2,5`` and ``2.50`` decimals."""
    text = text.replace(" ", "")
    grouped = re.fullmatch(r"(\d{1,3}(?:[.,]\d{3})+)(?:[.,](\d{1,2}))?", text)
    if grouped:
        whole, cents = re.sub(r"\D", "", grouped.group(1)), grouped.group(2)
    else:
        whole, _, cents = text.replace(",", ".").partition(".")
    try:
        return Decimal(f"{whole}.{cents}" if cents else whole)
    except InvalidOperation:
        return None


def _budget_candidates(folded: str) -> list[tuple[bool, Budget, tuple[int, int]]]:
    """(after a budget word, budget, span) of each amount of the folded text that is one."""
    candidates = []
    for match in _AMOUNT.finditer(folded):
        marker = (match.group("before") or match.group("after") or "").strip()
        before = folded[max(0, match.start() - 40) : match.start()]
        keyword = bool(_BUDGET_WORDS.search(before))
        if not marker and not (keyword and re.search(r"(presupuesto|budget|orcamento)", before)):
            continue
        amount = _number(match.group("number"))
        if amount is None or amount <= 0:
            continue
        if match.group("mult"):
            amount *= 1000
        currency = _CURRENCY_WORDS.get(marker.replace(" ", ""), "")
        candidates.append((keyword, Budget(amount=amount, currency=currency), match.span()))
    return candidates


def find_budget(text: str) -> Budget | None:
    """A budget: an amount with a currency ("3.000 EUR", "3000 €", "under $5,000", "hasta
    2.500 euros", "5k€"), or after "presupuesto"/"budget" without one. Quantities with a
    unit ("hasta 1000 NTU") are not budgets. With several amounts, the one after a budget
    word, else the largest."""
    candidates = _budget_candidates(fold(text))
    if not candidates:
        return None
    pool = [c for c in candidates if c[0]] or candidates
    return max(pool, key=lambda c: c[1].amount)[1]


# A person, a greeting, thanks ---------------------------------------------------------------

_PERSON = (
    r"(?:una?\s+|alguna?\s+|el\s+|la\s+|a\s+|an\s+|some\s+|the\s+|um\s+|uma\s+)?(?:real\s+)?"
    r"(?:persona|humano|humana|ser humano|agente|comercial|asesor|asesora|vendedor|vendedora|"
    r"representante|operador|operadora|alguien|especialista|tecnico|tecnica|"
    r"human|person|agent|sales\s*rep|salesperson|sales\s+person|sales\s+team|representative|rep|"
    r"someone|somebody|operator|specialist|advisor|adviser|pessoa|consultor|alguem)\b"
)
_HUMAN = re.compile(
    r"\b(?:hablar|conversar|comunicarme|contactar|chatear|talk|speak|chat|falar)\s+"
    rf"(?:con|a|to|with|com)\s+{_PERSON}"
    r"|\b(?:pasame|paseme|pasadme|pongame|ponme|comuniqueme|comunicame|me\s+pasa[ns]?|"
    rf"me\s+pone[ns]?)\s+con\b(?:\s+{_PERSON})?"
    r"|\b(?:que\s+me\s+llamen?|llamame|llameme|llamenme|me\s+pueden?\s+llamar|"
    r"pueden?\s+llamarme|podeis\s+llamarme|call\s+me|give\s+me\s+a\s+call|phone\s+me|ring\s+me|"
    rf"me\s+ligue[m]?|ligue-me)\b(?:\s+{_PERSON})?"
    r"|\b(?:persona\s+real|atencion\s+humana|agente\s+humano|real\s+person|live\s+agent|"
    r"live\s+person|a\s+human|un\s+humano)\b"
)
_GREETING = re.compile(
    r"\b(?:hola|holi|buenas(?:\s+(?:tardes|noches))?|buenos\s+dias|saludos|que\s+tal|hello|hi|"
    r"hey|hiya|good\s+(?:morning|afternoon|evening)|greetings|how\s+are\s+you|ola|oi|"
    r"bom\s+dia|boa\s+(?:tarde|noite)|tudo\s+bem)\b"
)
_THANKS = re.compile(
    r"\b(?:(?:muchas|mil|muchisimas)\s+gracias|gracias|thanks?\s+(?:you|a\s+lot)|thank\s+you|"
    r"thanks|many\s+thanks|thx|ty|cheers|(?:muito\s+)?obrigad[oa]|perfecto|perfect|genial|"
    r"great|estupendo|excelente|vale|ok|okay|de\s+acuerdo|entendido|got\s+it|"
    r"(?:muy\s+)?amable|very\s+kind|valeu)\b"
)
# A request for a quote ("¿me envía un presupuesto?", "cotización", "send me a quote").
# "Presupuesto" and "orçamento" also mean a budget: only after a verb of asking they are one.
_QUOTE = re.compile(
    r"\b(?:coti[zc]\w*|cotac\w*|proforma|quotes?|quotation)\b"
    r"|\b(?:envi\w*|mand\w*|hac\w*|haz\w*|hag\w*|prepar\w*|ped\w*|pid\w*|solicit\w*|"
    r"necesit\w*|quier\w*|quisier\w*|querr\w*|pas[ae]\w*|dar(?:me|nos)?|dame|danos|deme|denos|"
    r"gostaria|precis\w*|fa(?:z|ca|zer)\w*)\s+(?:\w+\s+){0,2}?(?:presupuesto|orcamento)s?\b"
)
# Words that carry no need: what is left of "mi e-mail es", "¿puedo?", "por favor", ...
_FILLER_TEXT = """
mi my meu minha es is e email e-mail mail correo telefono phone movil number numero
    nombre name presupuesto budget orcamento de about around aprox aproximadamente approx
    puedo puede podria could can would like gustaria quisiera queria please favor porfa
    pls tambien also si yes no vale ok sure claro bueno well so pues entonces then
    hola gracias thanks son are sou soy im am i me le te lo it this esto eso that ese
    tengo have has tiene tenemos our nuestro nuestra su your tu hasta under up below less
    than menos mas more maximo max unos unas about approximately tienen do does there
all everyone todos folks mejor better rather actually realidad"""
_FILLER = frozenset(_FILLER_TEXT.split())


@dataclass
class Reading:
    """What one or more customer messages say."""

    name: str = ""
    email: str = ""
    phone: str = ""
    budget: Budget | None = None
    wants_human: bool = False
    wants_quote: bool = False
    greeting: bool = False
    thanks: bool = False
    needs: list[str] = field(default_factory=list)  # the messages (cleaned) that state a need

    @property
    def need(self) -> str:
        return " ".join(self.needs)

    @property
    def contact_given(self) -> bool:
        return bool(self.name or self.email or self.phone)


def _blank(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` with the spans replaced by spaces (same length: other spans stay right)."""
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def _residual_words(text: str) -> list[str]:
    """The words of ``text`` once contact details, names, budgets, requests for a person,
    greetings, thanks and filler are taken out."""
    name = _name_match(text)
    spans = [m.span() for m in _EMAIL.finditer(text)]
    spans += [span for _phone, span in _phone_matches(text)]
    text = _blank(text, [*spans, *([name[1]] if name else [])])
    folded = fold(text)
    folded = _blank(folded, [span for _k, _b, span in _budget_candidates(folded)])
    for pattern in (_HUMAN, _GREETING, _THANKS):
        folded = pattern.sub(" ", folded)
    return [w for w in words(folded) if w not in _FILLER]


def read_message(text: str) -> Reading:
    """Read one customer message."""
    folded = fold(text)
    emails, phones = find_emails(text), find_phones(text)
    wants_quote = bool(_QUOTE.search(folded))
    reading = Reading(
        name=find_name(text),
        email=emails[0] if emails else "",
        phone=phones[0] if phones else "",
        # "un presupuesto de 2 medidores" asks for a quote: the 2 is not a budget.
        budget=find_budget(_QUOTE.sub(" ", folded) if wants_quote else text),
        wants_human=bool(_HUMAN.search(folded)),
        wants_quote=wants_quote,
        greeting=bool(_GREETING.search(folded)),
        thanks=bool(_THANKS.search(folded)),
    )
    residual = _residual_words(text)
    if any(len(w) >= 3 or any(c.isdigit() for c in w) for w in residual):
        reading.needs.append(" ".join(text.split()))
    return reading


def read_messages(texts: Iterable[str]) -> Reading:
    """Read several messages as one (a burst): the latest name, e-mail, phone and budget
    stand; every need is kept, in order."""
    merged = Reading()
    for text in texts:
        one = read_message(text)
        merged.name = one.name or merged.name
        merged.email = one.email or merged.email
        merged.phone = one.phone or merged.phone
        merged.budget = one.budget or merged.budget
        merged.wants_human = merged.wants_human or one.wants_human
        merged.wants_quote = merged.wants_quote or one.wants_quote
        merged.greeting = merged.greeting or one.greeting
        merged.thanks = merged.thanks or one.thanks
        merged.needs.extend(n for n in one.needs if n not in merged.needs)
    return merged
