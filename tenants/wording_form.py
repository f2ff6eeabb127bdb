"""The tenant's settings form with its fallback wording (``Tenant.fallback_wording``) as one
labelled text box per text and language instead of raw JSON: each box shows the built-in
text as its placeholder (Spanish in the tenant's usted or tú) and says which placeholders it
may use; an empty box keeps the built-in text. A text with an unknown placeholder, unbalanced
braces or without a placeholder it must keep is refused with the reason."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from tenants.models import Tenant
from tenants.wording import LANGUAGES, MAX_CHARS, TEXTS, default_text, stored_key, wording_problems

LANGUAGE_NAMES = dict(Tenant.Language.choices)


def field_name(language: str, key: str) -> str:
    return f"wording_{language}_{key}"


def _help(key: str) -> Any:
    spec = TEXTS[key]
    if not spec.placeholders:
        return _("No placeholders.")
    allowed = ", ".join(f"{{{p}}}" for p in spec.placeholders)
    if not spec.required:
        return format_lazy(_("May use {allowed}."), allowed=allowed)
    kept = ", ".join(f"{{{p}}}" for p in spec.required)
    return format_lazy(_("May use {allowed}. Must keep {kept}."), allowed=allowed, kept=kept)


def _wording_fields() -> dict[str, forms.Field]:
    return {
        field_name(language, key): forms.CharField(
            label=spec.label,
            required=False,
            max_length=MAX_CHARS,
            help_text=_help(key),
            widget=forms.Textarea(attrs={"rows": 2, "cols": 90}),
        )
        for language in LANGUAGES
        for key, spec in TEXTS.items()
    }


def wording_fieldsets() -> list[tuple[Any, dict[str, Any]]]:
    """One collapsed fieldset of text boxes per language, for ``ModelAdmin.get_fieldsets``."""
    return [
        (
            _("Replies without an LLM: %(language)s") % {"language": LANGUAGE_NAMES[language]},
            {
                "classes": ["collapse"],
                "description": _(
                    "What the agent says when no LLM can answer. Leave a box empty to use the "
                    "built-in text shown in it."
                ),
                "fields": [field_name(language, key) for key in TEXTS],
            },
        )
        for language in LANGUAGES
    ]


class _TenantFormBase(forms.ModelForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stored = self.instance.fallback_wording if isinstance(self.instance, Tenant) else {}
        stored = stored if isinstance(stored, dict) else {}
        formality = getattr(self.instance, "formality", "") or Tenant.Formality.FORMAL
        if "formality" in self.fields:
            # Left out of a post (an older form, a script): unchanged.
            self.fields["formality"].required = False
        for language in LANGUAGES:
            for key in TEXTS:
                name = field_name(language, key)
                if name not in self.fields:
                    continue
                field = self.fields[name]
                field.widget.attrs["placeholder"] = default_text(
                    language=language, formality=formality, key=key
                )
                own = stored.get(stored_key(language, key))
                if isinstance(own, str) and not self.is_bound:
                    self.initial[name] = own

    def clean_formality(self) -> str:
        value: str = self.cleaned_data.get("formality") or ""
        return value or self.instance.formality or Tenant.Formality.FORMAL

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # a ModelForm's clean() returns its cleaned_data
        wording: dict[str, str] = {}
        shown = False
        for language in LANGUAGES:
            for key in TEXTS:
                name = field_name(language, key)
                if name not in self.fields:
                    continue
                shown = shown or name in self.data  # a post without the boxes keeps it
                text = (cleaned.get(name) or "").strip()
                if not text:
                    continue
                problems = wording_problems(stored_key(language, key), text)
                for problem in problems:
                    self.add_error(name, problem)
                if not problems:
                    wording[stored_key(language, key)] = text
        if shown:
            self.instance.fallback_wording = wording
        return cleaned


TenantForm: type[forms.ModelForm] = type("TenantForm", (_TenantFormBase,), _wording_fields())
