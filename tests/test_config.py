"""Settings: defaults < file < environment < arguments; mistakes are errors, never ignored."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zuinig.config import NUMBER_RANGES, Settings, load_settings
from zuinig.errors import ConfigError


def test_defaults_without_any_file(tmp_path: Path) -> None:
    settings = load_settings(cwd=tmp_path, environ={})
    assert settings == Settings()
    assert settings.country_iso_code == "NLD"
    assert settings.tracking_mode == "process"
    assert settings.pue == 1.0


def test_precedence_file_then_env_then_arguments(tmp_path: Path) -> None:
    (tmp_path / "zuinig.toml").write_text(
        'pue = 1.2\ncpu_power_w = 30\ntracking_mode = "machine"\n'
    )
    settings = load_settings({"cpu_power_w": 45.0}, cwd=tmp_path, environ={"ZUINIG_PUE": "1.5"})
    assert settings.pue == 1.5
    assert settings.cpu_power_w == 45.0
    assert settings.tracking_mode == "machine"
    assert settings.origins["pue"] == "env"
    assert settings.origins["cpu_power_w"] == "argument"
    assert settings.origins["tracking_mode"].endswith("zuinig.toml")


def test_pyproject_tool_table_found_from_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.zuinig]\npue = 1.3\n')
    sub = tmp_path / "notebooks"
    sub.mkdir()
    assert load_settings(cwd=sub, environ={}).pue == 1.3


def test_pyproject_without_zuinig_table_is_not_a_settings_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_settings(cwd=tmp_path, environ={}) == Settings()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("peu = 1.2\n", "did you mean 'pue'"),
        ('pue = "high"\n', "must be float"),
        ("tracking_mode = 3\n", "must be str"),
        ('tracking_mode = "cluster"\n', "must be one of process, machine"),
        ("pue = 0.5\n", "pue .* must be a number from 1 to 3, got 0.5"),
        ("intensity_g_per_kwh = 300\n", "intensity_source"),
        ("pue = \n", "not valid TOML"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "zuinig.toml").write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_settings(cwd=tmp_path, environ={})


def test_bad_environment_values(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ZUINIG_PUE must be a number"):
        load_settings(cwd=tmp_path, environ={"ZUINIG_PUE": "abc"})
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        load_settings(cwd=tmp_path, environ={"ZUINIG_COLOUR": "green"})


def test_internal_variables_are_not_settings(tmp_path: Path) -> None:
    settings = load_settings(
        cwd=tmp_path, environ={"ZUINIG_PARENT_RUN_ID": "abc", "ZUINIG_DEBUG": "1"}
    )
    assert settings == Settings()


def test_explicit_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a file"):
        load_settings(cwd=tmp_path, environ={"ZUINIG_CONFIG": str(tmp_path / "missing.toml")})


def test_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "zuinig.toml").mkdir()  # a folder where the file should be: is_file() is False
    assert load_settings(cwd=tmp_path, environ={}) == Settings()
    target = tmp_path / "settings.toml"
    target.write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(cwd=tmp_path, environ={"ZUINIG_CONFIG": str(target)})


def test_arguments_are_checked_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown setting 'pu'"):
        load_settings({"pu": 1.0}, cwd=tmp_path, environ={})
    with pytest.raises(ConfigError, match="must be float"):
        load_settings({"pue": "1.2"}, cwd=tmp_path, environ={})


BAD_NUMBERS = ["nan", "inf", "-inf", "1e308", "-1"]


@pytest.mark.parametrize("name", sorted(NUMBER_RANGES))
@pytest.mark.parametrize("text", BAD_NUMBERS)
def test_non_finite_and_absurd_numbers_are_refused_from_env(
    tmp_path: Path, name: str, text: str
) -> None:
    environ = {f"ZUINIG_{name.upper()}": text, "ZUINIG_INTENSITY_SOURCE": "test"}
    with pytest.raises(ConfigError, match=rf"setting {name} \(from env\) must be a number"):
        load_settings(cwd=tmp_path, environ=environ)


@pytest.mark.parametrize("text", ["nan", "inf", "1e308"])
def test_non_finite_and_absurd_numbers_are_refused_from_a_file(tmp_path: Path, text: str) -> None:
    (tmp_path / "zuinig.toml").write_text(f"pue = {text}\n")  # TOML has nan and inf literals
    with pytest.raises(ConfigError, match=r"setting pue \(from .*zuinig.toml\) must be a number"):
        load_settings(cwd=tmp_path, environ={})


@pytest.mark.parametrize("name", sorted(NUMBER_RANGES))
def test_the_bounds_themselves(tmp_path: Path, name: str) -> None:
    lowest, highest, lowest_allowed = NUMBER_RANGES[name]
    extra = {"intensity_source": "test"} if name == "intensity_g_per_kwh" else {}
    assert (
        getattr(load_settings({name: highest, **extra}, cwd=tmp_path, environ={}), name) == highest
    )
    if lowest_allowed:
        assert (
            getattr(load_settings({name: lowest, **extra}, cwd=tmp_path, environ={}), name)
            == lowest
        )
    else:
        with pytest.raises(ConfigError, match="must be a number above"):
            load_settings({name: lowest, **extra}, cwd=tmp_path, environ={})
    with pytest.raises(ConfigError, match=f"setting {name}"):
        load_settings({name: highest * 1.01, **extra}, cwd=tmp_path, environ={})


# -- emission factors: location_factor, market_factor ---------------------------------------


def test_factor_settings_default_to_the_grid_mix_and_no_contract() -> None:
    settings = Settings()
    assert (settings.location_factor, settings.market_factor) == (None, None)


def test_factor_settings_accept_a_row_or_a_number_with_its_source(tmp_path: Path) -> None:
    (tmp_path / "zuinig.toml").write_text(
        'location_factor = "grid-mix:tank-to-wheel"\n'
        "market_factor = 12.5\n"
        'market_factor_source = "Eneco fuel-mix disclosure 2025"\n',
        encoding="utf-8",
    )
    settings = load_settings(cwd=tmp_path, environ={})
    assert settings.location_factor == "grid-mix:tank-to-wheel"
    assert settings.market_factor == 12.5
    from_env = load_settings(
        cwd=tmp_path,
        environ={"ZUINIG_MARKET_FACTOR": "0", "ZUINIG_MARKET_FACTOR_SOURCE": "PPA wind 2026"},
    )
    assert (from_env.market_factor, from_env.market_factor_source) == (0.0, "PPA wind 2026")


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"location_factor": "stroommix"}, "location_factor: 'stroommix' is not a row"),
        ({"location_factor": "grid-mix:with-chain"}, "names boundary 'with-chain'"),
        ({"market_factor": "grey"}, "factor table has no 'grey' row yet"),
        ({"market_factor": 300.0}, "without market_factor_source"),
        ({"market_factor": -1.0, "market_factor_source": "x"}, "from 0 to 2000"),
        ({"market_factor": float("nan"), "market_factor_source": "x"}, "from 0 to 2000"),
        (
            {"market_factor": "grid-mix", "market_factor_source": "x"},
            "only for a numeric market_factor",
        ),
    ],
)
def test_bad_factor_settings_are_one_clear_line(values: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(words)) as caught:
        Settings(**values)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)
