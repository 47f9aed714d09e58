"""The repository describes itself as public code (issue 12): LICENSE and publiccode.yml.

publiccode.yml is validated against the standard's JSON Schema (SchemaStore's copy,
shipped in tests/publiccode/ with its source) and checked against what the project says
elsewhere: the licence in pyproject.toml, the report's languages.
"""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from zuinig.report.texts import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = Path(__file__).parent / "publiccode" / "publiccode.schema.json"


def _publiccode() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "publiccode.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    validator = Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)
    return [
        f"{'/'.join(str(part) for part in error.absolute_path) or '(top)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]


def test_publiccode_yml_validates_against_the_standards_schema() -> None:
    assert _errors(_publiccode()) == []


@pytest.mark.parametrize(
    ("path", "value", "says"),
    [
        (("legal",), {}, "'license' is a required property"),
        (("description", "en", "shortDescription"), "x" * 151, "is too long"),
        (("description", "nl", "longDescription"), "te kort", "is too short"),
        (("developmentStatus",), "finished", "is not one of"),
        (("categories",), ["energy-saving"], "is not one of"),
    ],
)
def test_the_schema_rejects_a_broken_publiccode_yml(
    path: tuple[str, ...], value: object, says: str
) -> None:
    document = copy.deepcopy(_publiccode())
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    errors = _errors(document)
    assert len(errors) == 1 and says in errors[0], errors


def test_publiccode_yml_agrees_with_the_project() -> None:
    document = _publiccode()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert document["legal"]["license"] == pyproject["project"]["license"] == "EUPL-1.2"
    assert document["name"] == pyproject["project"]["name"]
    python = next(dep for dep in document["dependsOn"]["open"] if dep["name"] == "Python")
    assert pyproject["project"]["requires-python"] == f">={python['versionMin']}"
    # The languages are the report's, each described in its own language.
    assert document["localisation"]["availableLanguages"] == list(LANGUAGES)
    assert sorted(document["description"]) == sorted(LANGUAGES)
    for description in document["description"].values():
        # The standard's limits the schema leaves to the reader.
        assert "\n" not in description["shortDescription"]
        assert len(description["longDescription"]) >= 500
        assert description["features"]
        assert all(len(feature) <= 100 for feature in description["features"])


def test_license_is_the_whole_eupl_1_2() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.lstrip().startswith("EUROPEAN UNION PUBLIC LICENCE v. 1.2")
    articles = [
        "1. Definitions",
        "2. Scope of the rights granted by the Licence",
        "3. Communication of the Source Code",
        "4. Limitations on copyright",
        "5. Obligations of the Licensee",
        "6. Chain of Authorship",
        "7. Disclaimer of Warranty",
        "8. Disclaimer of Liability",
        "9. Additional agreements",
        "10. Acceptance of the Licence",
        "11. Information to the public",
        "12. Termination of the Licence",
        "13. Miscellaneous",
        "14. Jurisdiction",
        "15. Applicable Law",
        "Appendix",
    ]
    lines = text.splitlines()
    positions = [lines.index(heading) for heading in articles]
    assert positions == sorted(positions)
    # The appendix with the compatible licences, to its last sentence.
    assert "'Compatible Licences' according to Article 5 EUPL are:" in text
    assert "— European Union Public Licence (EUPL) v. 1.1, v. 1.2" in text
    assert text.endswith("require the production of a new\nEUPL version.\n")
