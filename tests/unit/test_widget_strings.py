"""The widget's strings (the STRINGS table of static/widget/widget.js) and how a rep is
named to a visitor (crm.audit.user_first_name)."""

from __future__ import annotations

import json
import re
import typing
from dataclasses import dataclass
from pathlib import Path

import pytest

from channels_app.widget.schemas import ErrorCode, Language
from crm.audit import name_from_login, user_first_name

WIDGET_JS = Path(__file__).resolve().parents[2] / "static" / "widget" / "widget.js"


def strings() -> dict[str, dict[str, str]]:
    source = WIDGET_JS.read_text(encoding="utf-8")
    block = re.search(r"/\* strings \*/(.*?)/\* end strings \*/", source, re.S)
    assert block, "the STRINGS table lost its markers"
    return json.loads(block.group(1))


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def test_spanish_and_english_are_complete_and_portuguese_has_nothing_unknown():
    table = strings()
    assert set(typing.get_args(Language)) <= set(table)  # every language the server names
    assert table["es"].keys() == table["en"].keys()
    assert table["pt"].keys() <= table["en"].keys()  # best effort: a gap falls back to English
    assert table["es-informal"].keys() < table["es"].keys()


def test_every_error_code_the_server_sends_is_worded():
    table = strings()
    for code in typing.get_args(ErrorCode):
        assert table["es"][code] and table["en"][code]


def test_a_translation_keeps_the_parameters_of_its_english_text():
    table = strings()
    for language in ("es", "es-informal", "pt"):
        for key, text in table[language].items():
            assert placeholders(text) == placeholders(table["en"][key]), (language, key)


def test_spanish_says_usted_and_the_informal_table_says_tu():
    es, informal = strings()["es"], strings()["es-informal"]
    assert es["rate_limited"] == "Demasiados mensajes: espere {n} s."
    assert informal["rate_limited"] == "Demasiados mensajes: espera {n} s."
    assert es["cut"] == "Su mensaje se ha recortado a {max} caracteres."
    assert informal["cut"] == "Tu mensaje se ha recortado a {max} caracteres."
    assert "ayudarle" in es["greeting"] and "ayudarte" in informal["greeting"]
    assert es["placeholder"] == "Escriba su mensaje…"
    assert informal["placeholder"] == "Escribe tu mensaje…"
    for key, text in informal.items():
        assert text != es[key], key  # only what changes with tú


@dataclass
class User:
    first_name: str = ""
    email: str = ""
    username: str = ""

    def get_username(self) -> str:
        return self.username


@pytest.mark.parametrize(
    ("user", "shown"),
    [
        (User(first_name="Laura", email="lg@x.example"), "Laura"),
        (User(first_name="  María José ", email="mj@x.example"), "María José"),
        (User(email="laura.gomez@hidrolab.example"), "Laura"),
        (User(email="jean-luc_picard@x.example"), "Jean-Luc"),
        (User(username="rep@demo.example"), "Rep"),
        (User(username="ana"), "Ana"),
    ],
)
def test_a_rep_is_shown_by_first_name_else_by_the_email_before_the_at(user, shown):
    assert user_first_name(user) == shown


def test_a_stored_author_name_gives_its_first_word():
    assert name_from_login("Laura Gómez") == "Laura"
    assert name_from_login("ana.ruiz@x.example") == "Ana"
    assert name_from_login("") == ""
