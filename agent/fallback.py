"""The reply when no LLM can answer: grounded in the catalog, in the customer's language.

The customer is never left unanswered: they get the products that best match
what they wrote and word that a sales rep will follow up; the conversation is
flagged for a rep (``agent.services``).
"""

from __future__ import annotations

from agent.prompt import ProductBrief

TEXTS = {
    "es": {
        "intro": "Gracias por tu mensaje. Estos productos de nuestro catálogo coinciden con lo "
        "que buscas:",
        "none": "Gracias por tu mensaje. No encontré en nuestro catálogo un producto que "
        "coincida con tu consulta.",
        "outro": "Un asesor comercial revisará tu consulta y te responderá en breve.",
        "on_request": "precio a consultar",
    },
    "en": {
        "intro": "Thank you for your message. These products from our catalog match what you "
        "are looking for:",
        "none": "Thank you for your message. I could not find a product in our catalog that "
        "matches your request.",
        "outro": "A sales representative will review your request and get back to you shortly.",
        "on_request": "price on request",
    },
    "pt": {
        "intro": "Obrigado pela sua mensagem. Estes produtos do nosso catálogo correspondem ao "
        "que procura:",
        "none": "Obrigado pela sua mensagem. Não encontrei no nosso catálogo um produto que "
        "corresponda à sua consulta.",
        "outro": "Um consultor comercial vai analisar a sua consulta e responder em breve.",
        "on_request": "preço sob consulta",
    },
}
MAX_PRODUCTS = 3


def fallback_reply(*, language: str, products: list[ProductBrief]) -> str:
    texts = TEXTS.get(language, TEXTS["es"])
    if not products:
        return f"{texts['none']}\n{texts['outro']}"
    lines = [texts["intro"]]
    for product in products[:MAX_PRODUCTS]:
        price = product.price or texts["on_request"]
        line = f"- {product.name} (SKU {product.sku}), {price}"
        if product.url:
            line += f": {product.url}"
        lines.append(line)
    lines.append(texts["outro"])
    return "\n".join(lines)
