"""``KEY=VALUE`` tags as typed on a command line: the one parsing rule.

Shared by the CLI's ``--tag`` (:func:`zuinig.cli.options.parse_tags`) and the pytest plugin's
``--zuinig-tag``, which must not import the CLI (click, rich) into every pytest run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["TagError", "parse_tag", "tags_from_pairs"]


class TagError(ValueError):
    """A tag that is not ``KEY=VALUE``, or a key given twice with different values."""


def parse_tag(text: str, given: Mapping[str, str], *, option: str = "--tag") -> tuple[str, str]:
    """Split one ``KEY=VALUE``; the key is stripped, the value kept as typed.

    Args:
        text: what the user typed.
        given: the tags parsed so far, to refuse a key given twice with another value.
        option: the option's name, for the message.

    Returns:
        ``(key, value)``.

    Raises:
        TagError: ``text`` has no ``=`` or an empty key, or its key is in ``given``
            with another value; the message says how to write it.
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise TagError(f"{text!r} is not key=value; write it as {option} team=ruimte")
    if key in given and given[key] != value:
        raise TagError(f"tag {key!r} is given twice; give each key once")
    return key, value


def tags_from_pairs(pairs: Iterable[str], *, option: str = "--tag") -> dict[str, str]:
    """``KEY=VALUE`` texts (the CLI's and the notebook magic's ``--tag``) to tags.

    Raises:
        TagError: a text without ``=`` or with an empty key, or a key given twice
            with different values; the message says how to write it.
    """
    tags: dict[str, str] = {}
    for text in pairs:
        key, value = parse_tag(text, tags, option=option)
        tags[key] = value
    return tags
