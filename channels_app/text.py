"""Text from outside, made storable: every inbound edge reads its JSON through here.

JSON can carry strings no database stores: a lone UTF-16 surrogate (``"\\ud800"``,
which UTF-8 cannot encode: the insert fails) and NUL (``"\\u0000"``, which some
columns refuse or cut short). :func:`json_parse` replaces both with U+FFFD
(REPLACEMENT CHARACTER) in every string of the payload, object keys included, so a
message is stored with a visible mark instead of being lost; :func:`text_clean` does
the same for one string. Bytes that are not UTF-8 are replaced the same way.

What JSON can write but no column holds is refused with :class:`JsonRefused` (the
edges answer 400 in their one error format): an integer past Python's 4,300 digits,
``NaN``/``Infinity`` and numbers that overflow a float, and nesting too deep to parse.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

REPLACEMENT = "\ufffd"
# Any surrogate left in a Python str is a lone one: JSON's escaped pairs decode to one
# code point.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class JsonRefused(ValueError):
    """The body is not JSON the application can hold; ``str(exc)`` says why, for a 400."""


def text_clean(value: str) -> str:
    """``value`` with every lone surrogate and NUL replaced by U+FFFD."""
    return _UNSTORABLE.sub(REPLACEMENT, value)


def json_clean(value: Any) -> Any:
    """:func:`text_clean` applied to every string (values and keys) of parsed JSON.

    Lists and dicts are cleaned in place (and returned); the walk uses a stack, not
    recursion, so the deepest payload JSON could parse is cleaned too.
    """
    if isinstance(value, str):
        return text_clean(value)
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = text_clean(item)
                elif isinstance(item, dict | list):
                    stack.append(item)
        elif isinstance(node, dict):
            items = list(node.items())
            node.clear()
            for key, item in items:
                if isinstance(item, str):
                    item = text_clean(item)
                elif isinstance(item, dict | list):
                    stack.append(item)
                node[text_clean(key)] = item
    return value


def _constant(name: str) -> Any:
    raise JsonRefused(f"number out of range: {name}")


def _float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JsonRefused(f"number out of range: {text[:40]}")
    return number


def json_parse(raw: bytes | str) -> Any:
    """The JSON document in ``raw`` with every string storable; :class:`JsonRefused` when
    it is not JSON (``"malformed JSON: …"``) or holds a number no column can."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    text = text_clean(text)  # a str may hold raw surrogates or NUL (bytes decoded never do)
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float)
    except JsonRefused:
        raise
    except RecursionError:
        raise JsonRefused("malformed JSON: nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise JsonRefused(f"malformed JSON: {exc}") from None
    except ValueError:  # an integer with more digits than int() converts
        limit = sys.get_int_max_str_digits()
        raise JsonRefused(f"number out of range: an integer of more than {limit} digits") from None
    if "\\u" in text:  # only an escape can still bring a surrogate or NUL
        json_clean(value)
    return value
