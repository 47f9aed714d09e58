"""The report's PDF is accessible (issue 12): tagged PDF/UA with its language and title.

The PDF is made by ``zuinig report`` from the fixture ledger, in Dutch and in English,
and read back with poppler: ``pdfinfo`` says whether it is tagged and gives its title,
``pdfinfo -struct`` prints its structure tree (headings, tables, figures). poppler does
not print the document's language nor a figure's alternative text, so those two are
read from the PDF's own objects (the catalog's ``/Lang``, each ``/Alt``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from codecs import BOM_UTF16_BE
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from report_fixture import EXPECTED, build_fixture_ledger

from zuinig.cli import AppState, cli
from zuinig.ledger import Ledger
from zuinig.report.charts import text_alternatives
from zuinig.report.texts import Numbers, Texts

pytestmark = pytest.mark.skipif(
    shutil.which("pdfinfo") is None, reason="poppler-utils (pdfinfo) is not installed"
)


@dataclass
class Tag:
    """One element of the structure tree as ``pdfinfo -struct`` prints it."""

    name: str
    children: list[Tag] = field(default_factory=list)

    def walk(self) -> list[Tag]:
        return [self, *(tag for child in self.children for tag in child.walk())]


def _structure(pdf: Path) -> Tag:
    """Parse ``pdfinfo -struct``: two spaces of indent per level; lines starting with
    ``/`` are the attributes of the element above, not elements."""
    printed = subprocess.run(
        ["pdfinfo", "-struct", str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    root = Tag("(root)")
    stack: list[tuple[int, Tag]] = [(-1, root)]
    for line in printed.splitlines():
        text = line.strip()
        if not text or text.startswith("/"):
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        tag = Tag(text.split()[0].rstrip(":"))
        while stack[-1][0] >= depth:
            stack.pop()
        stack[-1][1].children.append(tag)
        stack.append((depth, tag))
    return root


def _info(pdf: Path) -> dict[str, str]:
    printed = subprocess.run(
        ["pdfinfo", "-enc", "UTF-8", str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    return {
        key.strip(): value.strip()
        for key, _, value in (line.partition(":") for line in printed.splitlines())
    }


_STRING = rb"(\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f]*>)"


def _decode(string: bytes) -> str:
    """A PDF string as WeasyPrint writes it: ``(ASCII)`` or ``<hex of UTF-16BE with BOM>``."""
    if string.startswith(b"<"):
        raw = bytes.fromhex(string[1:-1].decode("ascii"))
        return (
            raw[len(BOM_UTF16_BE) :].decode("utf-16-be")
            if raw.startswith(BOM_UTF16_BE)
            else raw.decode("latin-1")
        )
    return re.sub(rb"\\(.)", rb"\1", string[1:-1]).decode("latin-1")


def _strings(pdf: Path, key: str) -> list[str]:
    """Every ``/key (string)`` in the PDF, its compressed object streams included."""
    data = pdf.read_bytes()
    parts = [data]
    # The end-of-line before "endstream" is left to the decompressor, which keeps what
    # follows the compressed data aside: a regex that also took an optional "\r" there
    # cut a stream whose last compressed byte happened to be 0x0d (about 1 in 256).
    for stream in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.DOTALL):
        try:
            parts.append(zlib.decompressobj().decompress(stream.group(1)))
        except zlib.error:
            continue  # not a Flate stream (an image, a font): holds no objects
    pattern = re.compile(rb"/" + key.encode("ascii") + rb"\s*" + _STRING, re.DOTALL)
    return [_decode(found.group(1)) for part in parts for found in pattern.finditer(part)]


@pytest.fixture
def fixture_url(ledger_url: str) -> str:
    with Ledger.open(ledger_url) as ledger:
        build_fixture_ledger(ledger)
    return ledger_url


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_report_pdf_is_tagged_with_language_title_headings_tables_and_figures(
    fixture_url: str, tmp_path: Path, lang: str
) -> None:
    arguments = ["--ledger", fixture_url, "report", "--month", EXPECTED.month, "--lang", lang]
    arguments += ["--format", "html,pdf", "--out", str(tmp_path)]
    result = CliRunner().invoke(cli, arguments, obj=AppState())
    assert result.exit_code == 0, result.output
    html_path, pdf = (Path(line) for line in result.stdout.splitlines())
    html = html_path.read_text(encoding="utf-8")

    info = _info(pdf)
    assert info["Tagged"] == "yes"
    assert info["PDF version"] == "1.7"
    month = Numbers(lang).month(EXPECTED.month)
    assert info["Title"] == f"{Texts(lang).word('title')} · {month}"
    assert _strings(pdf, "Lang") == [lang]

    tags = _structure(pdf).walk()
    names = [tag.name for tag in tags]
    assert names.count("H1") == 1
    assert names.count("H2") == html.count("<h2")
    tables = [tag for tag in tags if tag.name == "Table"]
    assert len(tables) == html.count("<table")
    for table in tables:
        # Caption first, then the header rows and the body; header and data cells.
        assert [child.name for child in table.children] == ["Caption", "THead", "TBody"]
        cells = {tag.name for tag in table.walk()}
        assert {"TR", "TH", "TD"} <= cells

    # Each chart is a Figure whose alternative text is its title and its figures.
    charts = html.count('role="img"')
    assert charts >= 2  # the fixture month draws its trend and its jobs
    assert names.count("Figure") == charts
    alternatives = text_alternatives(html)
    assert len(alternatives) == charts
    assert sorted(_strings(pdf, "Alt")) == sorted(alternatives.values())
    trend_title = Texts(lang).word("chart_trend")
    month_energy = Numbers(lang).energy(EXPECTED.totals["energy_kwh"])
    assert alternatives[trend_title].startswith(f"{trend_title}. ")
    assert alternatives[trend_title].endswith(f"; {month}: {month_energy}")
