"""Choosing a ledger: URLs, their errors, the default location, and masked passwords."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from zuinig.config import Settings
from zuinig.errors import LedgerError, LedgerURLError
from zuinig.ledger import Ledger, default_ledger_url, display_url


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("nonsense", "not a database URL"),
        ("", "not a database URL"),
        ("foo://x", "unknown database 'foo'"),
        ("sqlite+nodriver:///x.sqlite", "unknown database"),
        ("sqlite://", "in-memory"),
    ],
)
def test_bad_url_forms(url: str, says: str) -> None:
    with pytest.raises(LedgerURLError, match=says) as caught:
        Ledger.open(url)
    message = str(caught.value)
    assert caught.value.bad_input
    assert "\n" not in message
    assert "sqlite:///" in message  # says what a good URL looks like


def _default_postgresql_driver() -> str:
    from sqlalchemy.engine import make_url

    return str(make_url("postgresql://h/db").get_dialect().driver)


@pytest.mark.skipif(
    importlib.util.find_spec(_default_postgresql_driver()) is not None,
    reason="SQLAlchemy's default PostgreSQL driver is installed here",
)
def test_postgresql_without_driver_names_the_fix() -> None:
    with pytest.raises(LedgerURLError) as caught:
        Ledger.open("postgresql://analist:geheim@db.example/zuinig")
    message = str(caught.value)
    assert f"uses {_default_postgresql_driver()}, which is not installed" in message
    assert "postgresql+psycopg://" in message
    assert "pip install" in message
    assert "geheim" not in message
    assert "\n" not in message


@pytest.mark.skipif(
    importlib.util.find_spec("pymysql") is not None, reason="pymysql is installed here"
)
def test_other_missing_driver() -> None:
    with pytest.raises(LedgerURLError, match=r"pymysql.*not installed"):
        Ledger.open("mysql+pymysql://u:geheim@h/db")


def test_unreachable_database_is_a_ledger_error_not_a_url_error(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'no' / 'such' / 'dir' / 'ledger.sqlite').as_posix()}"
    with pytest.raises(LedgerError, match="cannot open the ledger") as caught:
        Ledger.open(url)
    assert not isinstance(caught.value, LedgerURLError)
    assert not caught.value.bad_input


@pytest.mark.skipif(importlib.util.find_spec("psycopg") is None, reason="needs psycopg")
def test_unreachable_server_is_a_ledger_error_without_the_password() -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(LedgerError, match="cannot open the ledger") as caught:
        Ledger.open(f"postgresql+psycopg://analist:geheim@127.0.0.1:{port}/zuinig")
    assert not isinstance(caught.value, LedgerURLError)
    assert "geheim" not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(LedgerError, match="not a database"):
        Ledger.open(f"sqlite:///{path.as_posix()}")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg://analist:geheim@db.example:5432/zuinig",
            "postgresql+psycopg://analist:***@db.example:5432/zuinig",
        ),
        (
            "postgresql+psycopg://analist@db.example/zuinig?password=geheim&sslmode=require",
            "postgresql+psycopg://analist@db.example/zuinig?password=***&sslmode=require",
        ),
        ("sqlite:////tmp/ledger.sqlite", "sqlite:////tmp/ledger.sqlite"),
        ("not a url, user:geheim@host", "not a url, user:geheim@host"),
        ("weird://us:geheim@host/x?pwd=geheim", "weird://us:***@host/x?pwd=***"),
    ],
)
def test_display_url_masks_passwords(url: str, shown: str) -> None:
    assert display_url(url) == shown


def test_bad_url_errors_never_show_the_password() -> None:
    with pytest.raises(LedgerURLError) as caught:
        Ledger.open("foo://analist:geheim@host/x")
    assert "geheim" not in str(caught.value)
    assert "***" in str(caught.value)


def test_default_url_is_in_the_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    url = default_ledger_url()
    assert url == f"sqlite:///{(tmp_path / 'data' / 'zuinig' / 'ledger.sqlite').as_posix()}"
    assert (tmp_path / "data" / "zuinig").is_dir()
    with Ledger.open() as ledger:
        assert ledger.url == url
    assert (tmp_path / "data" / "zuinig" / "ledger.sqlite").is_file()


def test_url_beats_settings_beats_environment_and_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_env = f"sqlite:///{(tmp_path / 'env.sqlite').as_posix()}"
    from_settings = f"sqlite:///{(tmp_path / 'settings.sqlite').as_posix()}"
    given = f"sqlite:///{(tmp_path / 'given.sqlite').as_posix()}"
    monkeypatch.setenv("ZUINIG_LEDGER", from_env)
    with Ledger.open() as ledger:
        assert ledger.url == from_env
    with Ledger.open(settings=Settings(ledger=from_settings)) as ledger:
        assert ledger.url == from_settings
    with Ledger.open(given, settings=Settings(ledger=from_settings)) as ledger:
        assert ledger.url == given


def test_repr_masks_the_password(tmp_path: Path) -> None:
    with Ledger.open(f"sqlite:///{(tmp_path / 'x.sqlite').as_posix()}") as ledger:
        assert repr(ledger).startswith("Ledger('sqlite:///")
        assert ledger.display_url == ledger.url
