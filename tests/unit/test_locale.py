"""The committed translations: every ``locale/*/LC_MESSAGES/django.po`` entry is translated,
and the committed ``.mo`` (what Django reads; CI has no gettext to compile it) holds exactly
those translations. A ``.po`` edited without ``make messages`` (compilemessages) fails here.
"""

from __future__ import annotations

import ast
import gettext
from dataclasses import dataclass, field
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[2] / "locale"
CATALOGS = sorted(LOCALE.glob("*/LC_MESSAGES/django.po"))


@dataclass
class Entry:
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    fuzzy: bool = False
    line: int = 0


def _unquote(text: str) -> str:
    value = ast.literal_eval(text)
    assert isinstance(value, str)
    return value


def parse_po(path: Path) -> list[Entry]:
    """The entries of a .po file (header included, obsolete ``#~`` entries left out)."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if target is not None and target[0] == "msgstr":
                entries.append(entry)
                entry, target = Entry(), None
            if line.startswith("#,") and "fuzzy" in line:
                entry.fuzzy = True
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):  # a continuation of the string above
            assert target is not None, f"{path}:{number}: a string outside an entry"
            name, index = target
            keyword = f"msgstr[{index}]" if name == "msgstr" else name
            rest = line
        elif keyword in ("msgctxt", "msgid") and target is not None and target[0] == "msgstr":
            entries.append(entry)
            entry = Entry()
        if keyword == "msgctxt":
            entry.msgctxt = (entry.msgctxt or "") + _unquote(rest)
            target = ("msgctxt", 0)
        elif keyword == "msgid":
            entry.line = entry.line or number
            entry.msgid += _unquote(rest)
            target = ("msgid", 0)
        elif keyword == "msgid_plural":
            entry.msgid_plural = (entry.msgid_plural or "") + _unquote(rest)
            target = ("msgid_plural", 0)
        elif keyword.startswith("msgstr"):
            index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
            entry.msgstr[index] = entry.msgstr.get(index, "") + _unquote(rest)
            target = ("msgstr", index)
        else:
            pytest.fail(f"{path}:{number}: unexpected line {raw!r}")
    if target is not None:
        entries.append(entry)
    return entries


def _mo_catalog(po: Path) -> dict[object, str]:
    with po.with_suffix(".mo").open("rb") as handle:
        return gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]


def _key(entry: Entry) -> str:
    return entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"


def test_there_is_a_spanish_catalog():
    assert LOCALE / "es" / "LC_MESSAGES" / "django.po" in CATALOGS


def test_the_parser_reads_entries_plurals_and_contexts(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: es\\n"\n\n'
        '#: a.py:1\nmsgid "Reply"\nmsgstr "Responder"\n\n'
        '#, fuzzy\nmsgctxt "verb"\nmsgid "Open"\nmsgstr ""\n"Abrir"\n\n'
        'msgid "%(n)s message"\nmsgid_plural "%(n)s messages"\n'
        'msgstr[0] "%(n)s mensaje"\nmsgstr[1] ""\n"%(n)s de mensajes"\n'
        'msgstr[2] "%(n)s "\n"mensajes"\n'
        '#~ msgid "Gone"\n#~ msgstr "Ido"\n',
        encoding="utf-8",
    )
    header, reply, opened, plural = parse_po(po)
    assert header.msgstr == {0: "Language: es\n"}
    assert (reply.msgid, reply.msgstr, reply.fuzzy) == ("Reply", {0: "Responder"}, False)
    assert (opened.msgctxt, opened.msgstr, opened.fuzzy) == ("verb", {0: "Abrir"}, True)
    assert plural.msgid_plural == "%(n)s messages"
    assert plural.msgstr == {0: "%(n)s mensaje", 1: "%(n)s de mensajes", 2: "%(n)s mensajes"}


@pytest.mark.parametrize("po", CATALOGS, ids=lambda p: p.parts[-3])
def test_every_entry_is_translated(po):
    untranslated = [
        f"line {e.line}: {e.msgid!r}"
        for e in parse_po(po)[1:]
        if e.fuzzy or not all(e.msgstr.values()) or not e.msgstr
    ]
    assert not untranslated, f"{po}: translate (and drop 'fuzzy' from) {untranslated}"


@pytest.mark.parametrize("po", CATALOGS, ids=lambda p: p.parts[-3])
def test_the_committed_mo_holds_every_translation_of_the_po(po):
    """Run ``make messages`` (compilemessages) and commit the .mo when this fails."""
    compiled = _mo_catalog(po)
    missing = []
    for entry in parse_po(po)[1:]:
        if entry.fuzzy:
            continue
        key = _key(entry)
        if entry.msgid_plural is None:
            if compiled.get(key) != entry.msgstr.get(0):
                missing.append(entry.msgid)
        elif any(compiled.get((key, i)) != text for i, text in entry.msgstr.items()):
            missing.append(entry.msgid)
    assert not missing, f"{po.with_suffix('.mo')} is older than its .po: {missing[:10]}"
    stale = {k if isinstance(k, str) else k[0] for k in compiled} - {"", *map(_key, parse_po(po))}
    assert not stale, f"{po.with_suffix('.mo')} holds entries its .po lost: {sorted(stale)[:10]}"
