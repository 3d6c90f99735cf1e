"""Golden files: the computed sheets (values read back) and the report of the sample's run.

`python -m pytest tests/test_outputs_golden.py --update-golden` rewrites them;
review the diff before committing.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from licreport import api

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
SAMPLE = ROOT / "sample_data" / "ledger.xlsx"
COMPUTED = ("Status", "Partner summary", "Contracts", "Forecast", "Buying list", "Checks")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("golden")
    api.reconcile(SAMPLE, api.RunOptions("2026-12", exchange=True), api.Outputs(out))
    return out


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return str(value)


def _sheet_csv(path: Path, name: str) -> str:
    ws = openpyxl.load_workbook(path, read_only=True)[name]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in ws.iter_rows(values_only=True):
        writer.writerow([_text(v) for v in row])
    return buf.getvalue()


def check_golden(name: str, text: str, update: bool, folder: Path = GOLDEN) -> None:
    """Compare with the golden file; a missing one fails (regenerating is an explicit step)."""
    golden = folder / name
    if update:
        golden.write_text(text, encoding="utf-8")
    if not golden.exists():
        pytest.fail(f"golden file {golden} is missing; create it with --update-golden")
    assert text == golden.read_text(encoding="utf-8"), f"{name} differs (--update-golden)"


_check = check_golden


@pytest.mark.parametrize("sheet", COMPUTED)
def test_computed_sheet_values(outputs: Path, sheet: str, update_golden: bool) -> None:
    text = _sheet_csv(outputs / "ledger-2026-12.xlsx", sheet)
    _check(f"sample-2026-12-{sheet.lower().replace(' ', '-')}.csv", text, update_golden)


def test_report(outputs: Path, update_golden: bool) -> None:
    html = (outputs / "report-2026-12.html").read_text(encoding="utf-8")
    _check("sample-2026-12-report.html", html, update_golden)


def test_computed_sheets_are_formatted_and_charted(outputs: Path) -> None:
    wb = openpyxl.load_workbook(outputs / "ledger-2026-12.xlsx")
    for name in COMPUTED:
        ws = wb[name]
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref
        assert all(c.font.bold for c in ws[1] if c.value is not None)
    assert len(wb["Status"]._charts) == 1  # SPEC §5; its data: Partner summary's table
    assert not wb["Partner summary"]._charts
    contracts = wb["Contracts"]
    header = [c.value for c in contracts[1]]
    ends = [r[header.index("end")] for r in contracts.iter_rows(min_row=2)]
    end = next(c for c in ends if c.value is not None)
    assert end.is_date and end.number_format == "yyyy-mm-dd"


def test_no_formula_is_built_from_input_text(outputs: Path) -> None:
    # the sample has a client named =HYPERLINK("http://x","y"): it must stay a string
    with zipfile.ZipFile(outputs / "ledger-2026-12.xlsx") as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                xml = z.read(name).decode("utf-8")
                for formula in re.findall(r"<f[^>]*>(.*?)</f>", xml, flags=re.S):
                    assert "HYPERLINK" not in formula
    wb = openpyxl.load_workbook(outputs / "ledger-2026-12.xlsx")
    names = [r[2] for r in wb["Contracts"].iter_rows(values_only=True)]
    assert '=HYPERLINK("http://x","y")' in names


def test_a_missing_golden_file_fails_and_is_not_written(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="is missing; create it with --update-golden"):
        check_golden("absent.csv", "a,b\n", update=False, folder=tmp_path)
    assert not (tmp_path / "absent.csv").exists()
    check_golden("absent.csv", "a,b\n", update=True, folder=tmp_path)  # the explicit switch
    check_golden("absent.csv", "a,b\n", update=False, folder=tmp_path)
    with pytest.raises(AssertionError, match="differs"):
        check_golden("absent.csv", "a,c\n", update=False, folder=tmp_path)


def test_user_sheet_preserved_through_reconcile(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(SAMPLE)
    notes = wb.create_sheet("Notes")
    notes["A1"] = "Checked by"
    notes["A1"].font = openpyxl.styles.Font(bold=True)
    notes["B1"], notes["B2"], notes["B3"] = 2, 3, "=SUM(B1:B2)"
    notes.column_dimensions["A"].width = 33
    wb["Clients"]["Z1"] = "Sales rep"
    wb["Clients"]["Z2"] = "Ana"
    source = tmp_path / "ledger.xlsx"
    wb.save(source)
    api.reconcile(source, api.RunOptions("2026-12"), api.Outputs(tmp_path / "out"))
    out = openpyxl.load_workbook(tmp_path / "out" / "ledger-2026-12.xlsx")
    n = out["Notes"]
    assert n["A1"].value == "Checked by" and n["A1"].font.bold
    assert n["B3"].value == "=SUM(B1:B2)"
    assert n.column_dimensions["A"].width == 33
    assert out["Clients"]["Z1"].value == "Sales rep" and out["Clients"]["Z2"].value == "Ana"
    assert out.sheetnames[: len(wb.sheetnames)] == wb.sheetnames
