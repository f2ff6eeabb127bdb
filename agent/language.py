"""Which language a customer writes in: enough to answer a fallback reply in it."""

from __future__ import annotations

from catalog.text import fold

_MARKERS = {
    "es": """de la que el en y los las para por con una un necesito busco quiero hola gracias
    buenas buenos dias tardes medidor agua cuanto cuesta precio tienen puedo como donde
    sonda equipo laboratorio medir llamo nombre hablar persona presupuesto correo soy mi
    euros comercial asesor""",
    "en": """the and to of for with is are need looking want hello hi thanks please price
    how much do you have can my water meter measure sensor lab what which name talk speak
    person budget under i'm im am thank call""",
    "pt": """nao voce obrigado obrigada ola preciso quero gostaria agua medidor do da dos das
    para com um uma quanto custa preco voces tem bom dia tarde equipamento meu nome falar
    pessoa orcamento chamo""",
}
MARKERS = {lang: frozenset(words.split()) for lang, words in _MARKERS.items()}


def detect_language(text: str, *, default: str) -> str:
    """``es``, ``en`` or ``pt`` by marker words; ``default`` when unclear."""
    words = [w.strip(".,;:!?¿¡()\"'") for w in fold(text).split()]
    scores = {lang: sum(w in markers for w in words) for lang, markers in MARKERS.items()}
    if "ç" in text.lower() or "ã" in text.lower() or "õ" in text.lower():
        scores["pt"] += 2
    if "ñ" in text.lower() or "¿" in text or "¡" in text:
        scores["es"] += 2
    best = max(scores, key=lambda lang: scores[lang])
    ranked = sorted(scores.values(), reverse=True)
    if ranked[0] == 0 or ranked[0] == ranked[1]:
        return default
    return best
