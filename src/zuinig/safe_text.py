"""Text from users made harmless where it goes: spreadsheets and terminals.

Job names, tags, commands and error messages come from users (and from whatever
a measured job raised), and zuinig shows them in two places that act on text:

- **Spreadsheets** run a CSV cell that starts with ``=``, ``+``, ``-``, ``@`` (or a
  tab or carriage return) as a formula: ``=HYPERLINK("http://x","c")`` as a job name
  would become a live link in the report's appendix or a ``runs export``.
  :func:`defuse_formula` gives such a cell a leading apostrophe, which spreadsheets
  show as text; strip one leading apostrophe to get the original back.
- **Terminals** act on control characters: ``ESC [ 2 J`` clears the screen, an OSC
  sequence sets the window title or a hyperlink, a carriage return overwrites the
  line. :func:`printable` shows every control character as its Python escape
  (``\\x1b``, ``\\n``, ``\\x9b``), so the text is still readable and nothing acts.

This module imports nothing from zuinig, so the ledger, the report and the CLI may
all use it: one rule each, in one place.
"""

from __future__ import annotations

import re

__all__ = ["FORMULA_PREFIXES", "defuse_formula", "printable", "printable_json"]

#: Text cells starting with one of these are prefixed with an apostrophe (OWASP's list
#: for CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# C0 controls and DEL, C1 controls (0x9b is a one-byte CSI on some terminals), the
# Unicode bidirectional overrides and isolates (they reorder what is shown: "Trojan
# source"), and lone surrogates (what Python makes of a file name that is not UTF-8;
# a terminal cannot be sent one at all).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# Of the above, those that JSON (with ensure_ascii=False) leaves as they are.
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def defuse_formula(text: str) -> str:
    """``text`` with a leading apostrophe when a spreadsheet would run it as a formula.

    For text cells only: numbers written by zuinig itself (``-0.625``) stay numbers.
    """
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def printable(text: str) -> str:
    """``text`` with every control character shown as its escape, safe to print.

    Tab, newline and carriage return become ``\\t``, ``\\n`` and ``\\r``; other C0 and
    C1 controls and DEL ``\\xNN``; bidirectional overrides ``\\u202e``; lone surrogates
    ``\\udcff``. Everything else, other scripts and emoji included, is kept.
    """
    return _UNSAFE.sub(_escape, text)


def printable_json(document: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``) with the characters JSON
    leaves raw but terminals act on written as ``\\u`` escapes: the same JSON value."""
    return _UNSAFE_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", document)


def _escape(match: re.Match[str]) -> str:
    character = match.group()
    named = _NAMED.get(character)
    if named is not None:
        return named
    code = ord(character)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
