"""Readable plain text from the legacy HTML in tenants' product catalogs.

``description_html`` and ``specs_html`` come from old web shops and Word exports: tables, lists,
``<br>``, inline styles, entities, scripts, comments, unclosed or absurdly nested tags. The search
index and the LLM need plain text, so :func:`clean_html` turns that markup into lines:

* ``script``, ``style``, ``noscript``, ``iframe``, ``noembed``, ``noframes`` and ``title`` are
  raw-text elements whose content is dropped; ``head``, ``template``, ``svg``, ``object``,
  ``video``, ``audio``, ``canvas``, ``select`` and ``button`` are dropped with everything inside;
  comments, ``<!DOCTYPE>``, ``<![CDATA[…]]>`` and ``<?…?>`` are dropped; attributes (inline
  styles, classes, ``src``) are ignored.
* Block elements start and end lines: ``p``, ``h1``-``h6``, ``pre``, ``blockquote``, ``table``
  and ``hr`` are separated by a blank line; ``div``, ``section``, ``ul``/``ol``, ``dl``/``dt``/
  ``dd``, ``li``, ``tr`` and the like by a line break; ``<br>`` is a line break. Each list item
  is its own line prefixed with ``"- "``; each table row is its own line with its cells (``th``
  too) joined by ``" | "``. A cell of at most ``CELL_INLINE_MAX`` characters is flattened to one
  line (Word wraps every cell in ``<p>``); a longer cell (a layout table) keeps its lines.
  ``<sup>`` holding only digits or signs becomes superscript characters (``m<sup>3</sup>`` ->
  ``m³``).
* Entities are decoded (``&nbsp;`` becomes a plain space, ``&micro;`` ``µ``, ``&deg;`` ``°``;
  ``&#150;`` the Windows-1252 en dash); stray C1 control characters are read as Windows-1252 too.
  Units and symbols are kept as written (NTU, mg/L, µS/cm, °C, ±, ≤, pH, m³/h) and the text is
  normalised to Unicode NFC, which composes accents but never removes them (á é í ó ú ñ stay).
  Soft hyphens and zero-width spaces are removed.
* Whitespace: runs of spaces and tabs inside a line become one space, every line is stripped,
  three or more newlines become one blank line, the result is stripped. Input without any
  block-level tag (plain text, or text with only inline tags such as ``<b>``) keeps its own line
  breaks; with block-level tags, newlines in the source are ordinary whitespace, as in a browser.
  ``None``, ``""`` or whitespace give ``""``.

Bounded work for untrusted input, whatever its size or shape (time and memory are linear in
``min(len(html), INPUT_FACTOR * max_chars)``; nothing recurses on the document's nesting):

* Input longer than ``INPUT_FACTOR * max_chars`` characters is cut before parsing; the output is
  cut at ``max_chars`` on a word boundary. Either cut appends ``TRUNCATION_NOTE``.
* Before BeautifulSoup (stdlib ``html.parser``) sees the markup, a linear pre-pass
  (:func:`_prepare`) re-emits it as balanced, attribute-free tags. ``html.parser`` on this
  Python (3.11.7) is quadratic on malformed input such as unclosed quotes or comments
  (gh-135462, CVE-2025-6069: 240 kB of ``<a x="`` took 139 s), and bs4 raises ``ValueError`` on
  a numeric character reference of thousands of digits. The pre-pass also applies HTML's
  implied end tags (an unclosed ``<li>``, ``<p>``, ``<td>``, ``<tr>``, ``<dd>`` closes when the
  next one starts), so legacy markup without end tags does not nest deeper and deeper.
* Only elements that shape the text (blocks, table parts, list items, ``sup``) reach
  BeautifulSoup; inline elements (``b``, ``span``, ``font``, ``a``…) are left out, their text
  kept, so any nesting of them is harmless and costs nothing. At most ``max_chars`` non-empty
  elements reach it; later ones are flattened like deep ones (but without a note): a document
  with that many holds more text than the output keeps, or is markup spam.
* Shaping elements nested deeper than ``max_depth`` are flattened: their text is kept, block
  elements there become plain line breaks, and ``DEPTH_NOTE`` is appended. The parsed tree is
  therefore never deeper than ``max_depth + 1``, and it is walked with an explicit stack.

The result is at most ``max_chars + NOTES_MAX_OVERHEAD`` characters long.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Final

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.builder import HTMLTreeBuilder
from bs4.element import PreformattedString

__all__ = [
    "CELL_INLINE_MAX",
    "DEPTH_NOTE",
    "INPUT_FACTOR",
    "NOTES_MAX_OVERHEAD",
    "NOTE_SEPARATOR",
    "TRUNCATION_NOTE",
    "clean_fields",
    "clean_html",
]

TRUNCATION_NOTE: Final = "[…texto recortado: la descripción original era demasiado larga]"
DEPTH_NOTE: Final = (
    "[…estructura simplificada: el HTML original estaba anidado a demasiada profundidad]"
)
NOTE_SEPARATOR: Final = "\n\n"
#: Upper bound of what the notes add after the ``max_chars`` of text.
NOTES_MAX_OVERHEAD: Final = len(NOTE_SEPARATOR + DEPTH_NOTE + NOTE_SEPARATOR + TRUNCATION_NOTE)
#: Input longer than ``INPUT_FACTOR * max_chars`` characters is cut before parsing.
INPUT_FACTOR: Final = 20
#: Table cells up to this many characters are flattened to a single line.
CELL_INLINE_MAX: Final = 300

# --- element classes -------------------------------------------------------------------------

_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Blank line before and after.
_PARAGRAPH = frozenset({"p", "pre", "blockquote", "table", "hr"} | _HEADINGS)
# Line break before and after.
_LINE = frozenset(
    {
        "div", "section", "article", "header", "footer", "nav", "aside", "main", "address",
        "figure", "figcaption", "form", "fieldset", "legend", "details", "summary", "center",
        "caption", "ul", "ol", "menu", "dir", "dl", "dt", "dd", "li", "tr", "hgroup", "dialog",
        "listing", "xmp", "option",
    }
)  # fmt: skip
_CELLS = frozenset({"td", "th"})
# Their presence means the source's own newlines are just whitespace.
_STRUCTURAL = _PARAGRAPH | _LINE | _CELLS | {"br", "thead", "tbody", "tfoot"}
# Replaced by a line break when flattened below max_depth.
_BREAKING = _PARAGRAPH | _LINE | _CELLS
# Raw-text elements: content is not markup and is dropped with the element.
_RAW_TEXT = frozenset({"script", "style", "iframe", "noscript", "noembed", "noframes", "title"})
# Dropped with all their content.
_DROP = frozenset(
    {"head", "template", "svg", "object", "video", "audio", "canvas", "select", "button"}
)
# Elements without content or end tag (the set bs4 uses): never open on the pre-pass stack.
_VOID = frozenset(HTMLTreeBuilder.DEFAULT_EMPTY_ELEMENT_TAGS or ())
# The elements passed on to BeautifulSoup; other elements are inline and only their text is.
_KEPT_NAMES = (_PARAGRAPH | _LINE | _CELLS | {"sup", "thead", "tbody", "tfoot"}) - _VOID
_HEAD_CONTENT = frozenset(
    {"base", "basefont", "bgsound", "link", "meta", "title", "style", "script", "noscript"}
    | {"template", "head"}
)

# Implied end tags, simplified from the HTML parsing algorithm: a start tag closes the outermost
# open element in `targets` found before a `boundary`, looking at most _SCOPE_LIMIT levels up.
_SCOPE_LIMIT = 64
_P_SCOPE = frozenset(
    {"html", "table", "td", "th", "caption", "template", "object", "button", "marquee", "applet"}
)
_CLOSES_P = frozenset(
    {
        "address", "article", "aside", "blockquote", "center", "details", "dialog", "dir", "div",
        "dl", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup", "hr",
        "main", "menu", "nav", "ol", "p", "pre", "section", "summary", "table", "ul", "listing",
        "xmp",
    }
)  # fmt: skip
_TABLE_PARTS = frozenset({"thead", "tbody", "tfoot"})
_IMPLIED: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    name: (frozenset({"p"}), _P_SCOPE) for name in _CLOSES_P
}
_IMPLIED.update({h: (frozenset({"p"}) | _HEADINGS, _P_SCOPE) for h in _HEADINGS})
_IMPLIED["li"] = (frozenset({"li", "p"}), _P_SCOPE | {"ul", "ol", "menu", "dir"})
_IMPLIED["dt"] = _IMPLIED["dd"] = (frozenset({"dt", "dd", "p"}), _P_SCOPE | {"dl"})
_IMPLIED["tr"] = (
    frozenset({"tr"}) | _CELLS,
    frozenset({"table", "html", "template"}) | _TABLE_PARTS,
)
_IMPLIED["td"] = _IMPLIED["th"] = (
    _CELLS,
    frozenset({"tr", "table", "html", "template"}) | _TABLE_PARTS,
)
for _part in _TABLE_PARTS:
    _IMPLIED[_part] = (_TABLE_PARTS | {"tr"} | _CELLS, frozenset({"table", "html", "template"}))
_IMPLIED["option"] = (frozenset({"option"}), frozenset({"select", "datalist", "html"}))

# --- character-level patterns ----------------------------------------------------------------

_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_TAG_NAME = re.compile(r"[A-Za-z][^\t\n\f\r />]*")
# The end of a tag, or the opening quote of an attribute value (where ">" does not end the tag).
_TAG_END_OR_QUOTE = re.compile(r""">|=[\t\n\f\r ]*+(["'])""")
_RAW_TEXT_END = {
    name: re.compile(rf"</{name}(?=[\t\n\f\r />])", re.IGNORECASE) for name in _RAW_TEXT
}
# A numeric character reference with more digits than any code point needs (bs4 would call
# int() on all of them and fail past 4300 digits).
_LONG_CHARREF = re.compile(r"&#(?:([xX])([0-9a-fA-F]{9,})|([0-9]{9,}));?")


def _c1_as_cp1252(code: int) -> str | None:
    try:
        return bytes([code]).decode("cp1252")
    except UnicodeDecodeError:
        return None


# A line break carried as text from the pre-pass to the walk: a Unicode noncharacter (for
# internal use by definition), removed from the input first.
_LINE_BREAK: Final = "\ufdd0"
# C0 controls other than tab, newline and form feed are removed; CR becomes a newline; C1
# controls (mojibake of Windows-1252 text) become the characters they stand for in cp1252.
_SCRUB = str.maketrans(
    {code: None for code in (*range(9), 11, *range(14, 32), 127, ord(_LINE_BREAK))}
    | {13: "\n"}
    | {code: _c1_as_cp1252(code) for code in range(0x80, 0xA0)}
)
_SPACES = re.compile(r"\s+")
_SPACES_BUT_NEWLINE = re.compile(r"[^\S\n]+")
_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff]")
_BLANK_LINES = re.compile(r"\n{3,}")
_SUPERSCRIPT = str.maketrans("0123456789+-\u2212=()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾")
_SUPERSCRIPTABLE = re.compile("[0-9+\\-\u2212=()]{1,4}")


def clean_html(html: str | None, *, max_chars: int = 20_000, max_depth: int = 200) -> str:
    """Plain text from catalog HTML, for the search index and the LLM; see the module docstring.

    Pure and bounded: time and memory grow linearly with ``min(len(html), INPUT_FACTOR *
    max_chars)``, nothing recurses on the document's nesting, and the result has at most
    ``max_chars`` characters of text plus, when something was cut, the notes (each after
    ``NOTE_SEPARATOR``): ``DEPTH_NOTE`` when block elements deeper than ``max_depth`` were
    flattened into their text, ``TRUNCATION_NOTE`` when the input or the output was cut.
    Raises ``ValueError`` when ``max_chars`` or ``max_depth`` is below 1.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    if max_depth < 1:
        raise ValueError("max_depth must be at least 1")
    if not html or html.isspace():
        return ""

    limit = max_chars * INPUT_FACTOR
    input_cut = len(html) > limit
    if input_cut:
        html = html[:limit]
    html = _LONG_CHARREF.sub(_shorten_charref, html.replace("\r\n", "\n").translate(_SCRUB))

    # No more non-empty elements than characters of output (see the module docstring).
    markup, depth_cut, has_blocks = _prepare(html, max_depth, max_elements=max_chars)
    soup = BeautifulSoup(markup, "html.parser")
    raw, walk_stopped = _walk(soup, keep_newlines=not has_blocks, budget=max_chars)
    text, output_cut = _truncate(_normalise(raw), max_chars)

    notes = []
    if depth_cut:
        notes.append(DEPTH_NOTE)
    if input_cut or walk_stopped or output_cut:
        notes.append(TRUNCATION_NOTE)
    return NOTE_SEPARATOR.join([text, *notes] if text else notes)


def _shorten_charref(match: re.Match[str]) -> str:
    hex_mark, hex_digits, dec_digits = match.groups()
    digits = (hex_digits or dec_digits).lstrip("0") or "0"
    if len(digits) > 8:
        return "\ufffd"
    return f"&#{hex_mark or ''}{digits};"


# --- pre-pass: linear tokenizer and tree shaper ----------------------------------------------

_TEXT, _START, _END = 0, 1, 2


def _tag_end(s: str, pos: int, unmatched_quotes: set[str]) -> int:
    """Index just after the ``>`` closing the tag whose attributes start at ``pos``, or -1.

    A quoted attribute value may contain ``>``. A quote with no partner in the rest of the
    input is remembered in ``unmatched_quotes`` and taken literally from then on, so every
    scan either moves the caller forward or is never repeated: linear overall.
    """
    while True:
        match = _TAG_END_OR_QUOTE.search(s, pos)
        if match is None:
            return -1
        quote = match.group(1)
        if quote is None:
            return match.end()
        pos = match.end()
        if quote in unmatched_quotes:
            continue
        closing = s.find(quote, pos)
        if closing < 0:
            unmatched_quotes.add(quote)
        else:
            pos = closing + 1


def _tokens(s: str) -> Iterator[tuple[int, str, bool]]:
    """Text, start-tag and end-tag tokens of ``s``, in one forward pass.

    Comments, declarations, processing instructions and raw-text elements are skipped; an
    unterminated construct swallows the rest of the input, as in a browser. Text keeps its
    entities; a ``<`` that starts no tag is yielded as ``&lt;``.
    """
    n = len(s)
    i = 0
    unmatched_quotes: set[str] = set()
    while i < n:
        lt = s.find("<", i)
        if lt < 0:
            yield _TEXT, s[i:], False
            return
        if lt > i:
            yield _TEXT, s[i:lt], False
        after = s[lt + 1 : lt + 2]
        if after in _ASCII_LETTERS:
            name_match = _TAG_NAME.match(s, lt + 1)
            assert name_match is not None
            end = _tag_end(s, name_match.end(), unmatched_quotes)
            if end < 0:
                return
            name = name_match.group().lower()
            if name in _RAW_TEXT:
                closing = _RAW_TEXT_END[name].search(s, end)
                end = -1 if closing is None else s.find(">", closing.end())
                if end < 0:
                    return
                i = end + 1
                continue
            i = end
            yield _START, name, s[end - 2] == "/" and end - 2 >= name_match.end()
        elif after == "/":
            after = s[lt + 2 : lt + 3]
            if after in _ASCII_LETTERS:
                name_match = _TAG_NAME.match(s, lt + 2)
                assert name_match is not None
                i = _tag_end(s, name_match.end(), unmatched_quotes)
                if i < 0:
                    return
                yield _END, name_match.group().lower(), False
            elif after == ">":
                i = lt + 3
            else:
                i = _skip_past(s, ">", lt + 2)
        elif after == "!":
            if s.startswith("<!--", lt):
                if s.startswith(">", lt + 4):
                    i = lt + 5
                elif s.startswith("->", lt + 4):
                    i = lt + 6
                else:
                    i = _skip_past(s, "-->", lt + 4)
            else:
                i = _skip_past(s, ">", lt + 2)
        elif after == "?":
            i = _skip_past(s, ">", lt + 2)
        else:
            yield _TEXT, "&lt;", False
            i = lt + 1
        if i < 0:
            return


def _skip_past(s: str, needle: str, pos: int) -> int:
    found = s.find(needle, pos)
    return -1 if found < 0 else found + len(needle)


class _Shaper:
    """Turns tokens into balanced, attribute-free markup no deeper than ``max_depth``.

    Keeps its own stack of open elements with a count per name, so matching an end tag and
    popping are amortised O(1). Only elements that shape the text (blocks, table parts, list
    items, ``sup``) reach BeautifulSoup; inline elements are left out (their text stays) and do
    not count as depth. ``<br>`` and the edges of flattened blocks become ``_LINE_BREAK`` in
    the text rather than elements.
    """

    def __init__(self, max_depth: int, max_elements: int) -> None:
        self.max_depth = max_depth
        self.elements_left = max_elements  # beyond it, elements are flattened like deep ones
        self.out: list[str] = ["<body>"]
        # (name, emitted) per open element: emitted is the tag name passed on, "" when the
        # element was flattened for depth, None when it is inline or dropped.
        self.stack: list[tuple[str, str | None]] = []
        self.counts: dict[str, int] = {}
        self.depth = 0  # open elements passed on
        self.drop_at = -1  # stack index of the outermost dropped element, -1 if none
        self.depth_cut = False
        self.has_blocks = False
        self.flat_break = False  # the last thing emitted is a break standing for flattened tags

    def text(self, data: str) -> None:
        if self.counts.get("head") and not data.isspace():
            self._close_head()
        if self.drop_at < 0:
            self.out.append(data)
            if self.flat_break and not data.isspace():
                self.flat_break = False

    def start(self, name: str, self_closing: bool) -> None:
        if name in _STRUCTURAL:
            self.has_blocks = True
        if self.counts.get("head") and name not in _HEAD_CONTENT:
            self._close_head()
        rule = _IMPLIED.get(name)
        if rule is not None:
            self._close_implied(*rule)
        if name in _VOID:
            if self.drop_at < 0 and name in ("br", "hr"):
                self.out.append(_LINE_BREAK if name == "br" else "<hr>")
                self.flat_break = False
            return
        self._push(name)
        if self_closing:
            self._pop_to(len(self.stack) - 1)

    def end(self, name: str) -> None:
        if name in _STRUCTURAL:
            self.has_blocks = True
        if name == "br":  # </br> is a line break in browsers too
            self.start("br", False)
            return
        if not self.counts.get(name):
            if name == "p":  # a stray </p> is an empty paragraph
                self.start("p", True)
            return
        index = len(self.stack) - 1
        while self.stack[index][0] != name:
            index -= 1
        self._pop_to(index)

    def finish(self) -> str:
        self._pop_to(0)
        self.out.append("</body>")
        return "".join(self.out)

    def _push(self, name: str) -> None:
        emitted: str | None = None
        if self.drop_at >= 0:
            pass
        elif name in _DROP:
            self.drop_at = len(self.stack)
        elif name not in _KEPT_NAMES:
            pass
        elif self.depth < self.max_depth and self.elements_left > 0:
            emitted = name
            self.depth += 1
            self.elements_left -= 1
            self.out.append(f"<{name}>")
            self.flat_break = False
        else:
            emitted = ""
            self.depth_cut = self.depth_cut or self.depth >= self.max_depth
            self._flat_break(name)
        self.stack.append((name, emitted))
        self.counts[name] = self.counts.get(name, 0) + 1

    def _pop_to(self, index: int) -> None:
        """Close the element at ``index`` and everything opened inside it."""
        while len(self.stack) > index:
            name, emitted = self.stack.pop()
            self.counts[name] -= 1
            if len(self.stack) == self.drop_at:
                self.drop_at = -1
            if emitted:
                self.depth -= 1
                if emitted not in _CELLS and self.out[-1] == f"<{emitted}>":
                    self.out.pop()  # an empty element is at most a line break
                    self.elements_left += 1
                    self._flat_break(name)
                else:
                    self.out.append(f"</{emitted}>")
                    self.flat_break = False
            elif emitted == "":
                self._flat_break(name)

    def _flat_break(self, name: str) -> None:
        """A line break for a flattened or empty block, unless one is already there."""
        if name not in _BREAKING or self.flat_break:
            return
        last = self.out[-1]
        if last[0] == "<" and last.strip("</>") in _BREAKING:  # a block tag (text has no "<")
            return
        self.out.append(_LINE_BREAK)
        self.flat_break = True

    def _close_implied(self, targets: frozenset[str], boundaries: frozenset[str]) -> None:
        if not any(self.counts.get(target) for target in targets):
            return
        found = -1
        for index in range(len(self.stack) - 1, max(-1, len(self.stack) - 1 - _SCOPE_LIMIT), -1):
            name = self.stack[index][0]
            if name in targets:
                found = index
            elif name in boundaries:
                break
        if found >= 0:
            self._pop_to(found)

    def _close_head(self) -> None:
        while self.counts.get("head"):
            self.end("head")


def _prepare(s: str, max_depth: int, max_elements: int) -> tuple[str, bool, bool]:
    """Markup for BeautifulSoup, whether nesting was flattened, whether there are block tags."""
    shaper = _Shaper(max_depth, max_elements)
    for kind, data, self_closing in _tokens(s):
        if kind == _TEXT:
            shaper.text(data)
        elif kind == _START:
            shaper.start(data, self_closing)
        else:
            shaper.end(data)
    return shaper.finish(), shaper.depth_cut, shaper.has_blocks


# --- tree walk and text layout ---------------------------------------------------------------


def _walk(root: Tag, *, keep_newlines: bool, budget: int) -> tuple[str, bool]:
    """Text of the tree with line breaks for its blocks, walked with an explicit stack.

    Stops once more than ``budget`` non-blank characters were collected (the output will be
    cut anyway) and then reports True.
    """
    buffers: list[list[str]] = [[]]  # one more per open table cell
    rows: list[list[int]] = []  # cells seen so far, per open table and row
    visible = 0
    in_pre = 0
    stopped = False
    # (node, None) to enter a node; (tag, mark) to leave a tag, mark being where its own
    # output starts in the current buffer.
    stack: list[tuple[object, int | None]] = [(child, None) for child in reversed(root.contents)]
    while stack:
        node, mark = stack.pop()
        out = buffers[-1]
        if isinstance(node, NavigableString):
            if isinstance(node, PreformattedString):  # comments, doctypes and the like
                continue
            spaces = _SPACES_BUT_NEWLINE if (in_pre or keep_newlines) else _SPACES
            text = _INVISIBLE.sub("", spaces.sub(" ", str(node))).replace(_LINE_BREAK, "\n")
            text = unicodedata.normalize("NFC", text)
            out.append(text)
            visible += len(text) - text.count(" ") - text.count("\n")
            if visible > budget:
                stopped = True
                break
            continue
        if not isinstance(node, Tag):
            continue
        name = node.name
        if mark is not None:
            _leave(name, buffers, mark)
            if name in _TABLE_CONTEXTS:
                rows.pop()
            elif name == "pre":
                in_pre -= 1
            continue
        if name == "sup":
            superscript = _superscript(node)
            if superscript is not None:
                out.append(superscript)
                continue
        _ensure_break(out, _BREAKS.get(name, 0))
        mark = len(out)
        if name in _CELLS:
            if rows:
                out.append(_CELL_SEPARATOR if rows[-1][0] else "")
                rows[-1][0] += 1
            else:
                out.append(" ")
            buffers.append([])
        elif name in _TABLE_CONTEXTS:
            rows.append([0])
        elif name == "pre":
            in_pre += 1
        elif name == "li":
            out.append("- ")
        stack.append((node, mark))
        stack.extend((child, None) for child in reversed(node.contents))
    while len(buffers) > 1:
        cell = "".join(buffers.pop())
        buffers[-1].append(cell)
    return "".join(buffers[0]), stopped


_BREAKS = {name: 2 for name in _PARAGRAPH} | {name: 1 for name in _LINE}
_TABLE_CONTEXTS = frozenset({"table", "tr"})
_CELL_SEPARATOR = " | "
_LOOK_BACK = 8


def _leave(name: str, buffers: list[list[str]], mark: int) -> None:
    """Close the output of the element ``name`` whose output started at ``mark``."""
    if name in _CELLS:
        cell = "".join(buffers.pop())
        buffers[-1].append(" ".join(cell.split()) if len(cell) <= CELL_INLINE_MAX else cell)
        return
    out = buffers[-1]
    if name == "li" and all(not part.strip() for part in out[mark + 1 :]):
        del out[mark:]  # an empty list item leaves no lone "-"
    elif name == "tr" and all(part == _CELL_SEPARATOR or not part.strip() for part in out[mark:]):
        del out[mark:]  # nor does an empty (spacer) row leave a lone "|"
    _ensure_break(out, _BREAKS.get(name, 0))


def _ensure_break(out: list[str], newlines: int) -> None:
    """End ``out`` with at least ``newlines`` newlines (blank parts ignored), unless it is empty.

    Breaks of nested blocks therefore merge instead of adding up; ``<br>`` does add up.
    """
    if newlines == 0:
        return
    have = 0
    window = out[-_LOOK_BACK:]
    for part in reversed(window):
        stripped = part.rstrip(" ")
        if not stripped:
            continue
        text = stripped.rstrip("\n")
        have += len(stripped) - len(text)
        if text:
            break
    else:
        if len(window) == len(out):  # only blanks and breaks since the start of the buffer
            return
    if have < newlines:
        out.append("\n" * (newlines - have))


def _superscript(tag: Tag) -> str | None:
    """``m<sup>3</sup>`` -> ``m³``: superscript characters for a ``<sup>`` of digits or signs."""
    if len(tag.contents) != 1:
        return None
    child = tag.contents[0]
    if not isinstance(child, NavigableString) or isinstance(child, PreformattedString):
        return None
    text = child.strip()
    if not _SUPERSCRIPTABLE.fullmatch(text):
        return None
    return text.translate(_SUPERSCRIPT)


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    lines = (_SPACES_BUT_NEWLINE.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _truncate(text: str, max_chars: int) -> tuple[str, bool]:
    """At most ``max_chars`` characters, cut at the last space or line break when possible."""
    if len(text) <= max_chars:
        return text, False
    cut = text[:max_chars]
    if not text[max_chars].isspace():
        boundary = max(cut.rfind(" "), cut.rfind("\n"))
        if boundary >= max_chars // 2:
            cut = cut[:boundary]
    return cut.rstrip(), True


def clean_fields(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``(clean_text, specs_text)`` of each ``(description_html, specs_html)``: what a product
    stores, its description's text and its specs' text on lines of their own. A function of
    this module (pure, no Django) so that a pool of processes can run it."""
    out = []
    for description_html, specs_html in pairs:
        specs_text = clean_html(specs_html)
        parts = (clean_html(description_html), specs_text)
        out.append(("\n".join(t for t in parts if t), specs_text))
    return out
