"""The texts the agent answers with when no LLM can (``agent.fallback``), and a tenant's own
wording of them (``Tenant.fallback_wording``).

Each text has a key (``greeting``, ``handoff``, …), the placeholders it may use
(``{name}``, ``{email}``, ``{budget}``, …) and a built-in default per language: Spanish in
a formal (usted) and an informal (tú) variant, chosen by ``Tenant.formality``; English and
Portuguese in one. A tenant rewords a text under ``"<language>.<key>"`` (``"es.greeting"``);
a key it did not reword uses the default. Stored wording is checked by
:func:`wording_problems` (the tenant admin form does), and a stored text that still does not
render falls back to the default (:func:`tenant_text`), so the customer always gets a reply.

Pure data and string handling: no database. It lives here, under the tenant it belongs to,
so that the tenant's admin form (``tenants.admin``) and the agent above it both read it.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

LANGUAGES = ("es", "en", "pt")
FORMAL, INFORMAL = "formal", "informal"
MAX_CHARS = 600  # a reworded text


@dataclass(frozen=True)
class Text:
    key: str
    label: Any  # what the admin form calls it (a lazy translation)
    placeholders: tuple[str, ...] = ()
    required: tuple[str, ...] = ()  # placeholders a reworded text must keep


TEXTS: dict[str, Text] = {
    t.key: t
    for t in (
        Text("greeting", _("Answer to a greeting"), ("tenant",)),
        Text("thanks", _("Answer to thanks")),
        Text(
            "saved_named",
            _("Contact details saved, the customer's name known"),
            ("name", "fields"),
            ("fields",),
        ),
        Text("saved", _("Contact details saved"), ("fields",), ("fields",)),
        Text("field_name", _("…their name (in the list of saved details)")),
        Text(
            "field_email", _("…their e-mail (in the list of saved details)"), ("email",), ("email",)
        ),
        Text(
            "field_phone", _("…their phone (in the list of saved details)"), ("phone",), ("phone",)
        ),
        Text("and", _("The word joining the last two saved details")),
        Text("handoff", _("The customer asked for a person: handed to a rep")),
        Text("handoff_ask_contact", _("After the handoff, when no e-mail or phone is known")),
        Text("products", _("Before the list of matching products")),
        Text(
            "products_in_budget",
            _("Before the list of products within the customer's budget"),
            ("budget",),
        ),
        Text(
            "products_unpriced",
            _("Before a list of products whose price cannot be compared with the budget"),
            ("budget",),
        ),
        Text("no_products", _("No product matches")),
        Text("no_products_in_budget", _("No product matches within the budget"), ("budget",)),
        Text("price_on_request", _("A product without a price")),
        Text("repeat", _("The same products as just listed: asks for details instead")),
        Text("noted", _("Nothing new to list, already asked for details")),
        Text("ask_need", _("Nothing recognised: asks what the customer needs")),
        Text("ask_contact", _("After products, when no contact detail is known")),
        Text("outro", _("After products, when the contact is known")),
        Text("opportunity", _("The need and the contact are known: an opportunity is registered")),
        Text("quote_accepted", _("The customer accepted a quote"), ("ref",)),
        Text("quote_expired", _("The customer tried to accept an expired quote"), ("ref", "date")),
        Text("quote_not_open", _("The customer tried to accept a quote no longer open"), ("ref",)),
        Text("quote_unknown", _("The customer tried to accept a quote that is not theirs")),
        Text("quote_request", _("The customer asked for a quote: a rep will prepare it")),
    )
}

_ES_FORMAL = {
    "greeting": "¡Hola! Soy el asistente virtual de {tenant}. ¿En qué puedo ayudarle? Cuénteme "
    "qué producto busca o qué necesita resolver y, si lo tiene, su presupuesto.",
    "thanks": "¡De nada! Si necesita algo más, aquí estoy.",
    "saved_named": "Gracias, {name}: he guardado {fields}.",
    "saved": "Gracias: he guardado {fields}.",
    "field_name": "su nombre",
    "field_email": "su e-mail {email}",
    "field_phone": "su teléfono {phone}",
    "and": "y",
    "handoff": "Por supuesto. He pedido a un asesor comercial que continúe esta conversación; "
    "le responderá por aquí en breve.",
    "handoff_ask_contact": "Si lo prefiere, déjeme su e-mail o su teléfono y le contactará "
    "directamente.",
    "quote_request": "Con gusto. Un asesor comercial le preparará el presupuesto con los precios "
    "de nuestro catálogo y se lo enviará en breve.",
    "products": "Gracias por su mensaje. Estos productos de nuestro catálogo encajan con lo que "
    "busca:",
    "products_in_budget": "Dentro de su presupuesto de {budget}, estos productos de nuestro "
    "catálogo encajan con lo que busca:",
    "products_unpriced": "Estos productos encajan con lo que busca; un asesor le confirmará si "
    "entran en su presupuesto de {budget}:",
    "no_products": "Gracias por su mensaje. No encontré en nuestro catálogo un producto que "
    "coincida con su consulta.",
    "no_products_in_budget": "No encontré en nuestro catálogo un producto para lo que busca "
    "dentro de su presupuesto de {budget}; un asesor comercial revisará alternativas con usted.",
    "price_on_request": "precio a consultar",
    "repeat": "Los productos que le indiqué arriba siguen siendo los que mejor encajan. Para "
    "afinar la propuesta, ¿me indica el uso, el rango o la cantidad que necesita, o su "
    "presupuesto?",
    "noted": "Anotado. Un asesor comercial lo tendrá en cuenta.",
    "ask_need": "¿En qué puedo ayudarle? Cuénteme qué producto busca o qué necesita resolver y, "
    "si lo tiene, su presupuesto.",
    "ask_contact": "Si me deja su nombre y su e-mail o teléfono, un asesor comercial le enviará "
    "una propuesta.",
    "outro": "Un asesor comercial revisará su consulta y le responderá en breve.",
    "opportunity": "He registrado su consulta: un asesor comercial le preparará una propuesta y "
    "le contactará en breve.",
    "quote_accepted": "¡Gracias! Hemos recibido su aceptación del presupuesto {ref}. Un asesor "
    "comercial le contactará para los siguientes pasos.",
    "quote_expired": "El presupuesto {ref} caducó el {date} y ya no se puede aceptar. Un asesor "
    "comercial le enviará uno nuevo en breve.",
    "quote_not_open": "El presupuesto {ref} ya no está abierto, así que no se puede aceptar. Un "
    "asesor comercial le contactará en breve.",
    "quote_unknown": "No encuentro ese presupuesto en esta conversación. Un asesor comercial lo "
    "revisará y le contactará en breve.",
}
_ES_INFORMAL = {
    **_ES_FORMAL,
    "greeting": "¡Hola! Soy el asistente virtual de {tenant}. ¿En qué puedo ayudarte? Cuéntame "
    "qué producto buscas o qué necesitas resolver y, si lo tienes, tu presupuesto.",
    "thanks": "¡De nada! Si necesitas algo más, aquí estoy.",
    "field_name": "tu nombre",
    "field_email": "tu e-mail {email}",
    "field_phone": "tu teléfono {phone}",
    "handoff": "¡Claro! He pedido a un asesor comercial que continúe esta conversación; te "
    "responderá por aquí en breve.",
    "handoff_ask_contact": "Si lo prefieres, déjame tu e-mail o tu teléfono y te contactará "
    "directamente.",
    "quote_request": "¡Claro! Un asesor comercial te preparará el presupuesto con los precios de "
    "nuestro catálogo y te lo enviará en breve.",
    "products": "Gracias por tu mensaje. Estos productos de nuestro catálogo encajan con lo que "
    "buscas:",
    "products_in_budget": "Dentro de tu presupuesto de {budget}, estos productos de nuestro "
    "catálogo encajan con lo que buscas:",
    "products_unpriced": "Estos productos encajan con lo que buscas; un asesor te confirmará si "
    "entran en tu presupuesto de {budget}:",
    "no_products": "Gracias por tu mensaje. No encontré en nuestro catálogo un producto que "
    "coincida con tu consulta.",
    "no_products_in_budget": "No encontré en nuestro catálogo un producto para lo que buscas "
    "dentro de tu presupuesto de {budget}; un asesor comercial revisará alternativas contigo.",
    "repeat": "Los productos que te indiqué arriba siguen siendo los que mejor encajan. Para "
    "afinar la propuesta, ¿me dices el uso, el rango o la cantidad que necesitas, o tu "
    "presupuesto?",
    "ask_need": "¿En qué puedo ayudarte? Cuéntame qué producto buscas o qué necesitas resolver y, "
    "si lo tienes, tu presupuesto.",
    "ask_contact": "Si me dejas tu nombre y tu e-mail o teléfono, un asesor comercial te enviará "
    "una propuesta.",
    "outro": "Un asesor comercial revisará tu consulta y te responderá en breve.",
    "opportunity": "He registrado tu consulta: un asesor comercial te preparará una propuesta y "
    "te contactará en breve.",
    "quote_accepted": "¡Gracias! Hemos recibido tu aceptación del presupuesto {ref}. Un asesor "
    "comercial te contactará para los siguientes pasos.",
    "quote_expired": "El presupuesto {ref} caducó el {date} y ya no se puede aceptar. Un asesor "
    "comercial te enviará uno nuevo en breve.",
    "quote_not_open": "El presupuesto {ref} ya no está abierto, así que no se puede aceptar. Un "
    "asesor comercial te contactará en breve.",
    "quote_unknown": "No encuentro ese presupuesto en esta conversación. Un asesor comercial lo "
    "revisará y te contactará en breve.",
}
_EN = {
    "greeting": "Hello! I'm the virtual assistant of {tenant}. How can I help? Tell me which "
    "product you are looking for or what you need to solve and, if you have one, your budget.",
    "thanks": "You're welcome! If you need anything else, I'm here.",
    "saved_named": "Thank you, {name}: I've saved {fields}.",
    "saved": "Thank you: I've saved {fields}.",
    "field_name": "your name",
    "field_email": "your e-mail {email}",
    "field_phone": "your phone number {phone}",
    "and": "and",
    "handoff": "Of course. I've asked a sales representative to take over this conversation; "
    "they will reply here shortly.",
    "handoff_ask_contact": "If you prefer, leave me your e-mail or phone number and they will "
    "contact you directly.",
    "quote_request": "Of course. A sales representative will prepare your quote with our catalog "
    "prices and send it to you shortly.",
    "products": "Thank you for your message. These products from our catalog match what you "
    "are looking for:",
    "products_in_budget": "Within your budget of {budget}, these products from our catalog "
    "match what you are looking for:",
    "products_unpriced": "These products match what you are looking for; a sales representative "
    "will confirm whether they fit your budget of {budget}:",
    "no_products": "Thank you for your message. I could not find a product in our catalog that "
    "matches your request.",
    "no_products_in_budget": "I could not find a product in our catalog for what you need within "
    "your budget of {budget}; a sales representative will look at alternatives with you.",
    "price_on_request": "price on request",
    "repeat": "The products I listed above are still the best match. To refine the proposal, "
    "could you tell me the application, range or quantity you need, or your budget?",
    "noted": "Noted. A sales representative will take it into account.",
    "ask_need": "How can I help? Tell me which product you are looking for or what you need to "
    "solve and, if you have one, your budget.",
    "ask_contact": "If you leave me your name and your e-mail or phone number, a sales "
    "representative will send you a proposal.",
    "outro": "A sales representative will review your request and get back to you shortly.",
    "opportunity": "I've registered your request: a sales representative will prepare a "
    "proposal and contact you shortly.",
    "quote_accepted": "Thank you! We have received your acceptance of quote {ref}. A sales "
    "representative will contact you about the next steps.",
    "quote_expired": "Quote {ref} expired on {date} and can no longer be accepted. A sales "
    "representative will send you a new one shortly.",
    "quote_not_open": "Quote {ref} is no longer open, so it cannot be accepted. A sales "
    "representative will contact you shortly.",
    "quote_unknown": "I cannot find that quote in this conversation. A sales representative will "
    "look into it and contact you shortly.",
}
_PT = {
    "greeting": "Olá! Sou o assistente virtual de {tenant}. Como posso ajudar? Diga-me que "
    "produto procura ou o que precisa de resolver e, se tiver, o seu orçamento.",
    "thanks": "De nada! Se precisar de mais alguma coisa, estou aqui.",
    "saved_named": "Obrigado, {name}: guardei {fields}.",
    "saved": "Obrigado: guardei {fields}.",
    "field_name": "o seu nome",
    "field_email": "o seu e-mail {email}",
    "field_phone": "o seu telefone {phone}",
    "and": "e",
    "handoff": "Com certeza. Pedi a um consultor comercial que continue esta conversa; vai "
    "responder aqui em breve.",
    "handoff_ask_contact": "Se preferir, deixe-me o seu e-mail ou telefone e será contactado "
    "diretamente.",
    "quote_request": "Com certeza. Um consultor comercial vai preparar o seu orçamento com os "
    "preços do nosso catálogo e enviá-lo em breve.",
    "products": "Obrigado pela sua mensagem. Estes produtos do nosso catálogo correspondem ao "
    "que procura:",
    "products_in_budget": "Dentro do seu orçamento de {budget}, estes produtos do nosso "
    "catálogo correspondem ao que procura:",
    "products_unpriced": "Estes produtos correspondem ao que procura; um consultor vai confirmar "
    "se cabem no seu orçamento de {budget}:",
    "no_products": "Obrigado pela sua mensagem. Não encontrei no nosso catálogo um produto que "
    "corresponda à sua consulta.",
    "no_products_in_budget": "Não encontrei no nosso catálogo um produto para o que procura "
    "dentro do seu orçamento de {budget}; um consultor comercial vai analisar alternativas "
    "consigo.",
    "price_on_request": "preço sob consulta",
    "repeat": "Os produtos que indiquei acima continuam a ser os mais adequados. Para afinar a "
    "proposta, pode indicar a aplicação, a gama ou a quantidade de que precisa, ou o seu "
    "orçamento?",
    "noted": "Anotado. Um consultor comercial vai tê-lo em conta.",
    "ask_need": "Como posso ajudar? Diga-me que produto procura ou o que precisa de resolver e, "
    "se tiver, o seu orçamento.",
    "ask_contact": "Se me deixar o seu nome e o seu e-mail ou telefone, um consultor comercial "
    "vai enviar-lhe uma proposta.",
    "outro": "Um consultor comercial vai analisar a sua consulta e responder em breve.",
    "opportunity": "Registei a sua consulta: um consultor comercial vai preparar uma proposta e "
    "contactá-lo em breve.",
    "quote_accepted": "Obrigado! Recebemos a sua aceitação do orçamento {ref}. Um consultor "
    "comercial vai contactá-lo sobre os próximos passos.",
    "quote_expired": "O orçamento {ref} expirou em {date} e já não pode ser aceite. Um consultor "
    "comercial vai enviar-lhe um novo em breve.",
    "quote_not_open": "O orçamento {ref} já não está aberto, por isso não pode ser aceite. Um "
    "consultor comercial vai contactá-lo em breve.",
    "quote_unknown": "Não encontro esse orçamento nesta conversa. Um consultor comercial vai "
    "analisar e contactá-lo em breve.",
}
DEFAULTS: dict[tuple[str, str], dict[str, str]] = {
    ("es", FORMAL): _ES_FORMAL,
    ("es", INFORMAL): _ES_INFORMAL,
    ("en", FORMAL): _EN,
    ("en", INFORMAL): _EN,
    ("pt", FORMAL): _PT,
    ("pt", INFORMAL): _PT,
}


def stored_key(language: str, key: str) -> str:
    """Where a tenant's own wording of ``key`` in ``language`` is kept: ``"es.greeting"``."""
    return f"{language}.{key}"


def default_text(*, language: str, formality: str, key: str) -> str:
    """The built-in text (Spanish when the language has none)."""
    language = language if language in LANGUAGES else "es"
    formality = formality if formality in (FORMAL, INFORMAL) else FORMAL
    return DEFAULTS[(language, formality)][key]


def _fields(text: str) -> list[str]:
    """The placeholders ``text`` uses; ValueError when it is not a valid template."""
    found = []
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"{{{name}}} is not a placeholder: use a name such as {{name}}")
        if spec or conversion:
            raise ValueError(f"{{{name}}}: write the placeholder alone, without ':' or '!'")
        found.append(name)
    return found


def wording_problems(stored: str, text: str) -> list[str]:
    """Why ``text`` cannot be the wording kept under ``stored`` (``"es.greeting"``); empty
    when it can."""
    language, _, key = stored.partition(".")
    spec = TEXTS.get(key)
    if language not in LANGUAGES or spec is None:
        return [f"Unknown wording key {stored!r}."]
    problems = []
    if len(text) > MAX_CHARS:
        problems.append(f"At most {MAX_CHARS} characters (this one has {len(text)}).")
    try:
        used = _fields(text)
    except ValueError as exc:
        message = str(exc)
        if "Single '" in message or "unmatched" in message or "expected '}'" in message:
            message = "Unbalanced braces: write a placeholder as {name}, a brace as {{ or }}."
        return [*problems, message]
    unknown = sorted(set(used) - set(spec.placeholders))
    if unknown:
        allowed = ", ".join(f"{{{p}}}" for p in spec.placeholders) or "none"
        problems.append(
            f"Unknown placeholder(s) {', '.join(f'{{{u}}}' for u in unknown)}; "
            f"this text may use: {allowed}."
        )
    missing = [p for p in spec.required if p not in used]
    if missing:
        problems.append(f"Keep {', '.join(f'{{{m}}}' for m in missing)} in this text.")
    return problems


def render(text: str, values: Mapping[str, Any]) -> str:
    return text.format(**{name: values.get(name, "") for name in _fields(text)})


def tenant_text(
    *, wording: Mapping[str, Any], formality: str, language: str, key: str, **values: Any
) -> str:
    """The text ``key`` in ``language`` as the tenant words it (``wording``, its
    ``fallback_wording``), else the built-in one, with ``values`` in its placeholders."""
    builtin = default_text(language=language, formality=formality, key=key)
    own = wording.get(stored_key(language, key)) if isinstance(wording, Mapping) else None
    if isinstance(own, str) and own.strip():
        own = own.strip()
        if not wording_problems(stored_key(language, key), own):
            return render(own, values)
        logger.info("fallback wording %s.%s is not valid: the built-in text is used", language, key)
    return render(builtin, values)
