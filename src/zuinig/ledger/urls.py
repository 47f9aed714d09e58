"""Ledger URLs without SQLAlchemy: the default URL and password masking.

:func:`zuinig.measure` keeps a run in the spool before the ledger is open (see
:mod:`zuinig.measure`), and the spool is keyed by the ledger URL with its password
masked. That path must not import SQLAlchemy (about 0.25 s of CPU), so the masking
here is plain string work, and it leaves the rest of the URL as written:
:func:`mask_password` of one string is always the same string, which is what
makes it a stable spool key. For display, where SQLAlchemy is loaded anyway,
:func:`zuinig.ledger.display_url` renders the parsed URL instead; both mask the
same password, including one with an unescaped ``@`` (which the ledger refuses
to open, but which may reach the spool before anything parses it).
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

from zuinig.config import check_ledger_url

__all__ = ["SECRET_QUERY_KEYS", "configured_ledger_url", "default_ledger_url", "mask_password"]

#: Query-string keys that carry a password in some drivers' URLs (psycopg, pymysql).
SECRET_QUERY_KEYS = frozenset({"password", "passwd", "pwd", "sslpassword"})

MASK = "***"

# SQLAlchemy's URL pattern (sqlalchemy.engine.url._parse_url), up to the end of the
# user information: a username without ':' or '/', then an optional ':password' that
# SQLAlchemy ends at the first '@'.
_USERINFO = re.compile(r"(?P<head>[\w+]+://[^:/]*:)[^@]*@")
_SCHEME = re.compile(r"[\w+]+://")
# For strings that are not URLs at all: the guess display_url also makes (greedy up
# to the last '@' before a query: a password may hold an '@').
_LOOSE_USERINFO = re.compile(r"(://[^:/@]*):[^?#]*@")
_LOOSE_QUERY_SECRET = re.compile(r"(?i)((?:password|passwd|pwd)=)[^&]*")


def mask_password(url: str) -> str:
    """``url`` with its password, in the user information and in the query, replaced by ``***``.

    Needs no SQLAlchemy. Everything else is kept exactly as written (no
    re-quoting, no reordering), so equal inputs give equal outputs, and URLs that
    differ only in their password give the same output.

    Args:
        url: a SQLAlchemy database URL, or any string.

    Returns:
        The masked string; safe to write to disk or show.
    """
    text = str(url)
    if not _SCHEME.match(text):
        masked = _LOOSE_USERINFO.sub(rf"\1:{MASK}@", text)
        return _LOOSE_QUERY_SECRET.sub(rf"\1{MASK}", masked)
    rest_start = 0
    match = _USERINFO.match(text)
    if match is not None:
        # SQLAlchemy's password ends at the first '@'; an unescaped '@' in it would
        # leave the rest in the "host", so mask up to the last '@' before the query.
        first_at = match.end() - 1
        query = text.find("?", first_at)
        last_at = text.rfind("@", first_at, query if query >= 0 else len(text))
        text = f"{match['head']}{MASK}{text[last_at:]}"
        rest_start = len(match["head"]) + len(MASK) + 1
    # After the user information, the first '?' starts the query (host, port and
    # database cannot contain one in SQLAlchemy's grammar).
    query_at = text.find("?", rest_start)
    if query_at < 0:
        return text
    return text[: query_at + 1] + _mask_query(text[query_at + 1 :])


def _mask_query(query: str) -> str:
    parts = []
    for item in query.split("&"):
        key, equals, _value = item.partition("=")
        if equals and unquote_plus(key).lower() in SECRET_QUERY_KEYS:
            parts.append(f"{key}={MASK}")
        else:
            parts.append(item)
    return "&".join(parts)


def default_ledger_url() -> str:
    """``sqlite:///<user data dir>/ledger.sqlite`` (platformdirs, app name ``zuinig``).

    The directory is created if it does not exist.
    """
    from zuinig.ledger.paths import user_data_dir

    return f"sqlite:///{(user_data_dir() / 'ledger.sqlite').as_posix()}"


def configured_ledger_url(ledger: str | None) -> str:
    """The ledger URL to use for the setting ``ledger``: itself, or the default when unset.

    Args:
        ledger: the setting's value (``--ledger``, ``ZUINIG_LEDGER`` or the settings
            file; :class:`zuinig.config.Settings` has refused an empty one).

    Raises:
        ConfigError: ``ledger`` is empty or blank (:func:`zuinig.config.check_ledger_url`).
    """
    check_ledger_url(ledger)  # for callers that pass a URL without Settings
    return default_ledger_url() if ledger is None else ledger
