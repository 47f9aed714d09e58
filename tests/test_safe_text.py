"""Text made harmless for spreadsheets and terminals: the two rules, exactly."""

from __future__ import annotations

import json

import pytest

from zuinig.safe_text import FORMULA_PREFIXES, defuse_formula, printable, printable_json


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES)
def test_formula_cells_get_an_apostrophe(prefix: str) -> None:
    assert defuse_formula(f"{prefix}1+1") == f"'{prefix}1+1"


@pytest.mark.parametrize("text", ["plain", "", "2026-11", '{"a": 1}', "'=quoted already"])
def test_other_cells_are_kept(text: str) -> None:
    assert defuse_formula(text) == text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),
        ("a\tb\nc\rd", "a\\tb\\nc\\rd"),
        ("bell\x07 del\x7f nul\x00", "bell\\x07 del\\x7f nul\\x00"),
        ("\x9b31m", "\\x9b31m"),
        ("abc\u202edef", "abc\\u202edef"),
        ("no-such-\udcff", "no-such-\\udcff"),
        ("Zoë, 東京, CO₂ ≤ 5 µs 🌱", "Zoë, 東京, CO₂ ≤ 5 µs 🌱"),
    ],
)
def test_printable_escapes_controls_and_keeps_the_rest(text: str, shown: str) -> None:
    assert printable(text) == shown
    assert printable(shown) == shown  # nothing left to escape: printing twice is harmless
    shown.encode("utf-8")  # a terminal can be sent it


def test_printable_json_is_the_same_value() -> None:
    value = {"job": "\x1b[2J\x9b\u202e\udcff é"}
    document = printable_json(json.dumps(value, ensure_ascii=False))
    assert json.loads(document) == value
    assert not any(c in document for c in "\x1b\x9b\u202e\udcff")
    assert "é" in document
