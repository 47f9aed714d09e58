"""Secrets in a command line, masked before ``zuinig run`` stores or shows it.

The command line of a run is kept in the ledger and copied to the team's database by
``zuinig ledger sync``, so a password typed into it would be kept in clear for anyone
who reads the ledger. :func:`mask_command` replaces every secret value it recognises
with ``***`` and leaves the rest as typed. The patterns (each has a test):

1. **URLs with credentials**, and ``password=``, ``passwd=``, ``pwd=`` in a query or
   after an option (``--password=X``): as ledger URLs are masked
   (:func:`zuinig.ledger.urls.mask_password`).
2. **Long options whose name holds a secret word** (:data:`SECRET_WORDS`, as a whole
   word of the name, so ``--db-password`` and ``--github_token`` count but
   ``--max-tokens`` and ``--tokenizer`` do not): ``--token=X`` masks ``X``;
   ``--token X`` masks the next item unless it starts with ``-``. (For mysql,
   ``--password X`` means "ask for it" with ``X`` the database; that name is masked
   too: masking one word too many is the safe side.)
3. **Environment assignments** ``NAME=X`` (as ``env`` or ``docker -e`` take them) whose
   name is a secret by its words (:data:`SECRET_ENV_WORDS`: ``AWS_SECRET_ACCESS_KEY``,
   ``GITHUB_TOKEN``, any ``*_KEY``, ``*_SECRET``, ``*_PASSWORD``, ``MYSQL_PWD``) or ends
   in ``PASSWORD``, ``PASSWD``, ``TOKEN`` or ``SECRET`` (``PGPASSWORD``).
4. **HTTP headers that carry credentials**: ``Authorization``, ``Proxy-Authorization``
   and any header whose name holds ``token``, ``secret`` or ``api-key``
   (``X-Api-Key``, ``Private-Token``): the value after the scheme word is masked
   (``Authorization: Bearer ***``), whether the header is one item or split over the
   next items (``Authorization:`` ``Bearer`` ``X``).
5. **Short ``-p``, only where it means password**: ``-p`` means a port to ssh and
   psql, a parent directory to mkdir, so it is masked only after a program word of
   :data:`PASSWORD_P_PROGRAMS` (mysql, mysqldump, mariadb and kin: ``-pX``, joined, as
   their ``-p X`` takes no value) and after ``sshpass`` (its first ``-p X`` or ``-pX``;
   the command sshpass starts keeps its own ``-p``). A program word is any item whose
   base name is one of them, so ``sudo mysql -pX`` and ``docker exec db mysql -pX`` are
   covered.
6. **A shell script in one item**, the item after ``-c`` (``sh -c '... -pX ...'``,
   ``su -c``): the item is split as a shell would split it and masked by the same
   rules; if anything was masked, it is stored re-quoted (``shlex.join``).

What it cannot know: a secret passed as a plain word (``mycli hunter2``), or under an
option name without a secret word. ``zuinig run --no-command`` stores no command line
at all for such commands.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from pathlib import PurePath

from zuinig.ledger.urls import MASK, mask_password

__all__ = [
    "MASK",
    "PASSWORD_P_PROGRAMS",
    "SECRET_ENV_WORDS",
    "SECRET_WORDS",
    "mask_command",
]

#: Words that make a long option's value a secret (``--api-key``, ``--client_secret``).
SECRET_WORDS: tuple[str, ...] = (
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "token",
    "secret",
    "apikey",
    "api-key",
    "access-key",
    "private-key",
    "credentials",
)

#: Words (between underscores) that make an environment variable a secret.
SECRET_ENV_WORDS = frozenset(
    {"PASSWORD", "PASSWD", "PASSPHRASE", "PWD", "TOKEN", "SECRET", "KEY", "APIKEY", "CREDENTIALS"}
)
# Endings that make a name a secret without an underscore (PGPASSWORD, GITHUBTOKEN).
_SECRET_ENV_ENDINGS = ("PASSWORD", "PASSWD", "TOKEN", "SECRET")

#: Programs whose ``-pX`` is a password (joined to the option: ``-p X`` is not).
PASSWORD_P_PROGRAMS = frozenset(
    {
        "mysql",
        "mysqldump",
        "mysqladmin",
        "mysqlimport",
        "mysqlshow",
        "mysqlcheck",
        "mysqlpump",
        "mysqlslap",
        "mariadb",
        "mariadb-dump",
        "mariadb-admin",
        "mariadb-import",
        "mariadb-show",
        "mariadb-check",
    }
)
_SSHPASS = "sshpass"

_WORD = "|".join(re.escape(word).replace("\\-", "[-_]") for word in SECRET_WORDS)
_SECRET_OPTION = re.compile(rf"(?i)--(?:[a-z0-9]+[-_])*(?:{_WORD})(?:[-_][a-z0-9]+)*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADER_NAME = r"(?:proxy-)?authorization|[\w-]*(?:token|secret|api-?key)[\w-]*"
_SCHEME = r"(?:bearer|basic|token|digest|negotiate|apikey|key)"
# A header with its credential in the same item: "Authorization: Bearer X".
_HEADER = re.compile(rf"(?i)(\b(?:{_HEADER_NAME})\s*:\s*(?:{_SCHEME}\s+)?)(\S(?:.*\S)?)")
# A header whose credential follows in the next item(s): "Authorization:", "...: Bearer".
_HEADER_OPEN = re.compile(rf"(?i)(?:.*\b)?(?:{_HEADER_NAME})\s*:(?:\s*{_SCHEME})?\s*")
_SCHEME_ONLY = re.compile(rf"(?i){_SCHEME}")
_SCHEME_THEN_SECRET = re.compile(rf"(?i)(\s*{_SCHEME}\s+)\S.*", re.DOTALL)


def mask_command(argv: Sequence[str]) -> list[str]:
    """``argv`` with the secret values of the patterns above replaced by ``***``.

    Args:
        argv: the command and its arguments, as given to ``zuinig run``.

    Returns:
        A new list, one item per item of ``argv``; items without secrets unchanged.
    """
    return _Masker().mask(argv)


class _Masker:
    """One pass over a command line; state carries from an item to the next."""

    def __init__(self) -> None:
        self.value_next = False  # the next item is a secret option's value
        self.secret_next = False  # the next item is a secret, whatever it looks like
        self.scheme_next = False  # the next item is "Bearer X", "Bearer" or the secret
        self.mysql = False
        self.sshpass = False
        self.previous = ""

    def mask(self, argv: Sequence[str]) -> list[str]:
        return [self.item(argument) for argument in argv]

    def item(self, argument: str) -> str:
        masked = self.masked(argument)
        self.previous = argument
        return masked

    def masked(self, argument: str) -> str:
        if self.previous == "-c":  # sh -c SCRIPT, su -c SCRIPT, ssh's remote command
            script = _mask_script(argument)
            if script != argument:
                return script
        if self.secret_next:
            self.secret_next = False
            return MASK
        if self.scheme_next:
            self.scheme_next = False
            scheme = _SCHEME_THEN_SECRET.fullmatch(argument)
            if scheme is not None:
                return scheme[1] + MASK
            if _SCHEME_ONLY.fullmatch(argument.strip()):
                self.secret_next = True
                return argument
            return MASK
        if self.value_next:
            self.value_next = False
            if not argument.startswith("-"):  # "--password --verbose": no value given
                return MASK
        return self.rules(argument)

    def rules(self, argument: str) -> str:
        program = PurePath(argument).name
        if program in PASSWORD_P_PROGRAMS:
            self.mysql = True
        elif program == _SSHPASS:
            self.sshpass = True
        if self.sshpass and argument.startswith("-p"):
            self.sshpass = False
            if argument == "-p":
                self.secret_next = True
                return argument
            return "-p" + MASK
        if self.sshpass and not argument.startswith("-") and program != _SSHPASS:
            self.sshpass = False  # the command sshpass runs: its -p is its own
        if self.mysql and argument.startswith("-p") and len(argument) > 2:
            return "-p" + MASK
        name, equals, value = argument.partition("=")
        if _SECRET_OPTION.fullmatch(name):
            if equals:
                return f"{name}={MASK}"
            self.value_next = True
            return argument
        if equals and value and _ENV_NAME.fullmatch(name) and _is_secret_env(name):
            return f"{name}={MASK}"
        if _HEADER_OPEN.fullmatch(argument):
            if _SCHEME_ONLY.search(argument.rsplit(":", 1)[1]):
                self.secret_next = True
            else:
                self.scheme_next = True
            return argument
        header = _HEADER.search(argument)
        if header is not None:
            return argument[: header.start(2)] + MASK
        return mask_password(argument)


def _is_secret_env(name: str) -> bool:
    upper = name.upper()
    return bool(SECRET_ENV_WORDS.intersection(upper.split("_"))) or upper.endswith(
        _SECRET_ENV_ENDINGS
    )


def _mask_script(script: str) -> str:
    try:
        words = shlex.split(script)
    except ValueError:  # unbalanced quotes: not a script shlex can read; rules only
        return script
    if len(words) < 2:
        return script
    masked = _Masker().mask(words)
    return shlex.join(masked) if masked != words else script
