"""LibreOffice opens licreport's workbooks and reads the values licreport wrote.

The sample's December output and a second month's (January, run on December's
output) are converted headless with ``soffice --convert-to xlsx`` -- one
LibreOffice start for all the workbooks, each call with a private profile so
parallel runs do not clash -- and every cell LibreOffice saved is compared with
the one licreport wrote.  Skipped when ``soffice`` is missing, except under CI
(which installs Debian's libreoffice-calc-nogui, so a missing one fails there).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from licreport.cli import main
from tests.userbook import REALWORLD, SAMPLE, paste_ledger

pytestmark = pytest.mark.libreoffice

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def _require_soffice() -> str:
    if SOFFICE:
        return SOFFICE
    if os.environ.get("CI"):
        pytest.fail("soffice is missing (CI is set: .ci/run must install libreoffice-calc-nogui)")
    pytest.skip("soffice (LibreOffice) is not installed")


def _reconcile(ledger: Path, out: Path, month: str) -> Path:
    before = set(out.glob("*.xls*")) if out.exists() else set()
    args = ["reconcile", str(ledger), "--month", month, "--exchange", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    (book,) = [p for p in out.glob(f"*-{month}.xls*") if p not in before]
    return book


def convert(books: list[Path], tmp: Path) -> dict[Path, Path]:
    """Each of `books` as LibreOffice saves it again (xlsx), in one soffice run."""
    soffice = _require_soffice()
    outdir = tmp / "converted"
    profile = (tmp / "lo-profile").as_uri()  # private: parallel runs never share one
    subprocess.run(
        [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "xlsx",
         "--outdir", str(outdir), *map(str, books)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    out = {book: outdir / f"{book.stem}.xlsx" for book in books}
    missing = [str(b) for b, c in out.items() if not c.exists()]
    assert not missing, f"LibreOffice did not convert {missing}"
    return out


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """name -> (licreport's output, LibreOffice's copy of it)."""
    _require_soffice()
    tmp = tmp_path_factory.mktemp("libreoffice")
    december = _reconcile(SAMPLE, tmp / "out", "2026-12")
    january = _reconcile(december, tmp / "out", "2027-01")
    hancom = paste_ledger(
        REALWORLD / "poi-style-alternate-content.xlsx", tmp / "poi-style-alternate-content.xlsx"
    )
    styled = _reconcile(hancom, tmp / "out-hancom", "2026-12")
    books = {"december": december, "january": january, "hancom": styled}
    copies = convert(list(books.values()), tmp)
    return {name: (book, copies[book]) for name, book in books.items()}


def _value(v: object) -> object:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return "" if v is None else v


@pytest.mark.parametrize("month", ["december", "january"])
def test_libreoffice_reads_every_cell_licreport_wrote(
    month: str, converted: dict[str, tuple[Path, Path]]
) -> None:
    ours, theirs = (openpyxl.load_workbook(p) for p in converted[month])
    assert theirs.sheetnames == ours.sheetnames
    assert {"Status", "Contracts", "Forecast", "Checks"} <= set(ours.sheetnames)
    compared = 0
    for ws in ours:
        other = theirs[ws.title]
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is None:
                    continue
                got = other[cell.coordinate]
                where = f"{ws.title}!{cell.coordinate}"
                if isinstance(cell.value, float):
                    assert got.value == pytest.approx(cell.value), where
                else:
                    assert _value(got.value) == _value(cell.value), where
                assert got.is_date == cell.is_date, where
                compared += 1
    assert compared > 1000  # every sheet, not an empty comparison
    # The run's new rows: dates LibreOffice shows as dates.
    day = dt.datetime(2026, 12, 1) if month == "december" else dt.datetime(2027, 1, 1)
    new = [r for r in theirs["Exchanges"].iter_rows(min_row=2) if r[0].value == day]
    assert new and all(r[0].is_date for r in new)


def test_libreoffice_shows_dates_under_alternate_content_styles(
    converted: dict[str, tuple[Path, Path]],
) -> None:
    """Hancom Office's mc:AlternateContent styles: our new dates show as dates."""
    theirs = openpyxl.load_workbook(converted["hancom"][1])
    new = [r for r in theirs["Exchanges"].iter_rows(min_row=2) if r[8].value]
    assert new and all(r[0].is_date and r[0].value == dt.datetime(2026, 12, 1) for r in new)


def test_computed_sheets_stay_recognised_after_libreoffice_saves(
    converted: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    """LibreOffice keeps the sheet-scoped marker, so the next run rewrites its sheets."""
    saved = tmp_path / "ledger-2026-12.xlsx"
    saved.write_bytes(converted["december"][1].read_bytes())
    january = _reconcile(saved, tmp_path / "out", "2027-01")
    status = openpyxl.load_workbook(january)["Status"]
    assert status["A2"].value == dt.datetime(2027, 1, 1)
