"""Text from outside (file names, paths, vector metadata, model output) made harmless for a
terminal: escape sequences in it would otherwise set colours, the window title or links, and
bidi controls would reorder what is shown. Rich markup is escaped on top by ``console.safe``."""

from __future__ import annotations

import json
import re

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Embeddings, overrides and isolates: they reorder the text shown after them."""


def safe_name(text: object) -> str:
    """``text`` as a file or folder name: lower case, runs of anything but letters, digits,
    ``.``, ``_`` and ``-`` (separators, markup, control and non-ASCII characters) as one
    ``-``, no leading dot (so never ``..``), at most 64 characters; ``model`` if nothing is
    left."""
    name = re.sub(r"[^a-z0-9._-]+", "-", str(text).lower()).lstrip(".-")[:64]
    return name or "model"


def printable(text: object) -> str:
    """``str(text)`` on one line, every non-printable character (escape sequences, line ends,
    C0/C1 controls, bidi and other invisible format characters) shown as its escape."""
    return "".join(c if c.isprintable() else _escaped(c) for c in str(text))


def terminal_text(text: str) -> str:
    """Model output as a terminal should show it: line ends, tabs, spaces of every kind and
    joiners kept; other control characters (ESC, C1) and bidi controls shown as escapes."""
    return "".join(_escaped(c) if _drives_terminal(c) else c for c in text)


def json_text(value: object) -> str:
    """``value`` as one line of JSON for the terminal: non-ASCII text stays readable, while
    the characters ``terminal_text`` escapes become ``\\uXXXX`` (JSON escapes the C0
    ones itself), and so do lone surrogates (the undecodable bytes of a file name that is
    not UTF-8, or a broken escape), so the text is always valid UTF-8 and parses back to the
    same string; NaN and infinities are refused (ValueError), as JSON has none."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    return "".join(
        f"\\u{ord(c):04x}" if _drives_terminal(c) or _is_surrogate(c) else c for c in text
    )


def _drives_terminal(char: str) -> bool:
    code = ord(char)
    control = code < 0x20 or 0x7F <= code < 0xA0
    return (control and char not in "\n\t") or char in BIDI_CONTROLS


def _is_surrogate(char: str) -> bool:
    return "\ud800" <= char <= "\udfff"


def _escaped(char: str) -> str:
    if "\udc80" <= char <= "\udcff":  # os.fsdecode's stand-in for the byte char - 0xdc00
        return f"\\x{ord(char) - 0xDC00:02x}"
    return repr(char)[1:-1]
