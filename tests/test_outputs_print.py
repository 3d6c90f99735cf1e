"""The sample's December output as a finance reader prints it: LibreOffice's PDF export.

Every sheet prints one page wide on A4 landscape with its header row on each page, so
no page holds a fragment of a table's columns; licreport's computed sheets print in at
most a dozen pages.  Pages are told apart by their header (the sheet's name, which
licreport and the template put in every page header) and read with poppler-utils.
Skipped without ``soffice``/``pdftotext``, except under CI (.ci/run installs them).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from licreport import api

pytestmark = pytest.mark.libreoffice

ROOT = Path(__file__).resolve().parents[1]
COMPUTED = ("Status", "Partner summary", "Contracts", "Forecast", "Buying list", "Checks")
A4_LANDSCAPE = (842, 595)  # points, rounded


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"{name} is missing (CI is set: .ci/run must install it)")
    pytest.skip(f"{name} is not installed")


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    soffice = shutil.which("soffice") or shutil.which("libreoffice") or _tool("soffice")
    _tool("pdftotext")
    tmp = tmp_path_factory.mktemp("print")
    run = api.RunOptions("2026-12", exchange=True)
    api.reconcile(ROOT / "sample_data" / "ledger.xlsx", run, api.Outputs(tmp / "out"))
    book = tmp / "out" / "ledger-2026-12.xlsx"
    subprocess.run(
        [soffice, f"-env:UserInstallation={(tmp / 'lo-profile').as_uri()}", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp / "pdf"), str(book)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    pdf = tmp / "pdf" / "ledger-2026-12.pdf"
    assert pdf.exists(), "LibreOffice wrote no PDF"
    return book, pdf


def pages(pdf: Path) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    return text.split("\f")[:-1]  # pdftotext ends every page with a form feed


def sheet_of(page: str, sheets: list[str]) -> str:
    """The sheet a page belongs to: the name in its page header (its first text line)."""
    first = next(line.strip() for line in page.splitlines() if line.strip())
    assert first in sheets, f"a page without its sheet's name on top: {first!r}"
    return first


def page_sizes(pdf: Path, n: int) -> set[tuple[int, int]]:
    info = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", str(n), str(pdf)], check=True, capture_output=True, text=True
    ).stdout
    found = re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info)
    return {(round(float(w)), round(float(h))) for w, h in found}


def test_every_page_is_a4_landscape_and_names_its_sheet(printed: tuple[Path, Path]) -> None:
    book, pdf = printed
    sheets = openpyxl.load_workbook(book, read_only=True).sheetnames
    text = pages(pdf)
    _tool("pdfinfo")
    assert page_sizes(pdf, len(text)) == {A4_LANDSCAPE}
    per_sheet: dict[str, int] = {}
    for page in text:
        name = sheet_of(page, sheets)
        per_sheet[name] = per_sheet.get(name, 0) + 1
    assert list(per_sheet) == sheets  # every sheet, in order, each from a page of its own


def test_the_computed_sheets_print_in_at_most_a_dozen_pages(printed: tuple[Path, Path]) -> None:
    book, pdf = printed
    sheets = openpyxl.load_workbook(book, read_only=True).sheetnames
    ours = [p for p in pages(pdf) if sheet_of(p, sheets) in COMPUTED]
    # Status 2 (its 28 rows, then the chart on a page of its own), Partner summary 1,
    # Contracts (71 rows) 2, Forecast 1, Buying list 1, Checks 1
    assert len(ours) <= 12
    assert len(ours) == 8


def test_no_page_holds_a_fragment_of_the_columns(printed: tuple[Path, Path]) -> None:
    """One page wide and the header repeated: each page of a table shows its first and
    last column's headers (a page cut by columns would miss one of them)."""
    book, pdf = printed
    wb = openpyxl.load_workbook(book, read_only=True)
    heads: dict[str, tuple[str, str]] = {}
    for name in wb.sheetnames:
        rows = wb[name].iter_rows(min_row=1, max_row=1, values_only=True)
        header = [str(v) for v in next(rows, ()) if v is not None]
        if name != "Read me" and header:
            heads[name] = (header[0], header[-1])
    for page in pages(pdf):
        name = sheet_of(page, wb.sheetnames)
        if name in heads:
            first, last = heads[name]
            assert first in page and last in page, f"{name}: a page without {first}/{last}"
