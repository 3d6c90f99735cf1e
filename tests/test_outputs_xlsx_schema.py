"""The parts licreport writes, validated against the ISO/IEC 29500 (ECMA-376) transitional
schemas with lxml: tests/schemas/ (what is shipped there and why: its README.md)."""

from __future__ import annotations

import zipfile
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from licreport import api

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "tests" / "schemas"
NS = {
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main": "sml-subset.xsd",
    "http://schemas.openxmlformats.org/package/2006/relationships": "opc-relationships.xsd",
    "http://schemas.openxmlformats.org/package/2006/content-types": "opc-contentTypes.xsd",
}


@cache
def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def validate(data: bytes, part: str) -> None:
    root = etree.fromstring(data)
    ns = etree.QName(root).namespace
    assert ns in NS, f"{part}: no schema for {ns}"
    checker = schema(NS[ns])
    assert checker.validate(root), f"{part}: {checker.error_log.filter_from_errors()}"


def written(path: Path, parts: list[str]) -> None:
    with zipfile.ZipFile(path) as z:
        for part in parts:
            validate(z.read(part), part)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("schema")
    run = api.RunOptions("2026-12", exchange=True)
    api.reconcile(ROOT / "sample_data" / "ledger.xlsx", run, api.Outputs(out / "xlsx"))
    api.reconcile(ROOT / "sample_data" / "ledger", run, api.Outputs(out / "csv"))
    return out / "xlsx" / "ledger-2026-12.xlsx", next((out / "csv").glob("*.xlsx"))


def test_a_csv_ledgers_workbook_is_valid_throughout(outputs: tuple[Path, Path]) -> None:
    """Every SpreadsheetML and package part is licreport's own: all validated (the
    DrawingML parts, chart, drawing and theme, by test_outputs_openxml_audit)."""
    _, book = outputs
    with zipfile.ZipFile(book) as z:
        names = z.namelist()
    drawingml = ("xl/charts/", "xl/drawings/drawing", "xl/theme/")
    parts = [n for n in names if not n.startswith(drawingml)]
    assert {"xl/workbook.xml", "xl/styles.xml", "[Content_Types].xml"} <= set(parts)
    assert sum(n.startswith("xl/worksheets/sheet") for n in parts) >= 12
    written(book, parts)


def test_the_parts_written_into_a_users_workbook_are_valid(outputs: tuple[Path, Path]) -> None:
    """In an .xlsx ledger licreport writes the computed sheets whole, the relationship
    parts and the content types (the user's workbook.xml and styles.xml it edits)."""
    book, _ = outputs
    with zipfile.ZipFile(book) as z:
        names = z.namelist()
        stamp = {i.filename: i.date_time for i in z.infolist()}
    ours = [n for n in names if stamp[n] == (1980, 1, 1, 0, 0, 0)]  # parts made by the run
    sheets = [n for n in ours if n.startswith("xl/worksheets/sheet")]
    assert len(sheets) == 6  # the six computed sheets
    rels = [n for n in names if n.endswith(".rels")]
    written(book, [*sheets, *rels, "[Content_Types].xml"])


@pytest.mark.parametrize(
    ("xml", "why"),
    [
        (b'<worksheet xmlns="{ns}"><sheetData/><pageSetup orientation="sideways"/></worksheet>',
         "orientation"),
        (b'<worksheet xmlns="{ns}"><pageSetup/><sheetData/></worksheet>', "sheetData"),
        (b'<worksheet xmlns="{ns}"><sheetData><row r="x"/></sheetData></worksheet>', "r"),
    ],
)  # fmt: skip
def test_the_schema_refuses_what_excel_would(xml: bytes, why: str) -> None:
    ns = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    with pytest.raises(AssertionError, match=why):
        validate(xml.replace(b"{ns}", ns), "bad.xml")
