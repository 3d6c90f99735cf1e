"""SPEC §12: a CSV ledger's computed sheets as CSV files, and the workbook only when every
sheet fits in a worksheet."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from licreport.cli import main
from licreport.ledger.load import load_ledger
from licreport.outputs import csvout
from licreport.outputs.workbook import ComputedSheet

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CSV = ROOT / "sample_data" / "ledger"
COMPUTED = ["buying-list.csv", "checks.csv", "contracts.csv", "forecast.csv", "status.csv"]


def run(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _sheet(path: Path, name: str) -> list[list[str]]:
    """A worksheet's values as the CSV writes them (dates ISO, yes/no, blanks empty, and text
    a spreadsheet would run as a formula behind a ``'``: the sample has such a client name)."""
    ws = openpyxl.load_workbook(path, read_only=True)[name]
    rows = []
    for row in ws.iter_rows(values_only=True):
        cells = []
        for v in row:
            if v is None:
                cells.append("")
            elif hasattr(v, "date"):
                cells.append(v.date().isoformat())
            elif isinstance(v, float) and v.is_integer():
                cells.append(str(int(v)))
            elif isinstance(v, str) and v.startswith(csvout.FORMULA_START):
                cells.append("'" + v)
            else:
                cells.append(str(v))
        rows.append(cells)
    return rows


def test_reconcile_writes_the_computed_sheets_as_csv_files_too(tmp_path: Path) -> None:
    code, _, stderr = run("reconcile", SAMPLE_CSV, "--month", "2026-12", "--out", tmp_path)
    assert code == 0 and "warning" not in stderr
    folder = tmp_path / "ledger-2026-12"
    assert sorted(p.name for p in folder.iterdir() if p.name in COMPUTED) == COMPUTED
    book = tmp_path / "ledger-2026-12.xlsx"
    # the same values as the workbook's sheets, cell by cell
    for sheet in ("Contracts", "Checks", "Forecast"):
        frame = pd.read_csv(folder / f"{sheet.lower()}.csv", dtype=str, keep_default_na=False)
        from_csv = [list(frame.columns), *frame.to_numpy().tolist()]
        assert from_csv == _sheet(book, sheet), sheet
    checks = pd.read_csv(folder / "checks.csv")
    assert len(checks) > 0 and (checks["difference"] == 0).all() and set(checks["ok"]) == {"yes"}
    # the folder still reads as the ledger (the computed files match no ledger sheet) and
    # the next month runs on it
    code, stdout, _ = run("validate", folder)
    assert code == 0, stdout
    code, _, _ = run("reconcile", folder, "--month", "2027-01", "--out", tmp_path / "jan")
    assert code == 0


def test_a_sheet_too_big_for_a_worksheet_leaves_the_csv_outputs_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sample's Clients has 26 rows + the header; with worksheets of 20 rows it cannot
    # go into a workbook (and neither can any sheet above 20 rows): no .xlsx, a warning
    # naming each such sheet, the CSV folder and the report as usual.
    clients = load_ledger(SAMPLE_CSV)[0]["Clients"]
    monkeypatch.setattr(csvout, "WORKSHEET_ROWS", 20)
    code, stdout, stderr = run("reconcile", SAMPLE_CSV, "--month", "2026-12", "--json",
                               "--out", tmp_path)  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger-2026-12", "report-2026-12.html"]
    assert "ledger-2026-12.xlsx was not written: " in stderr
    assert f"Clients has {len(clients) + 1:,} rows" in stderr
    assert "more than a worksheet holds (20)" in stderr
    folder = tmp_path / "ledger-2026-12"
    assert sorted(p.name for p in folder.iterdir() if p.name in COMPUTED) == COMPUTED
    assert json.loads(stdout)["month"] == "2026-12"


def test_oversized_sheets_counts_header_appended_and_removed_rows() -> None:
    ledger = load_ledger(SAMPLE_CSV)[0]
    clients = len(ledger["Clients"])
    contracts = ComputedSheet("Contracts", pd.DataFrame({"a": range(5)}))
    new = {"Clients": pd.DataFrame({"client": ["X", "Y"]})}
    limit = csvout.WORKSHEET_ROWS
    assert csvout.oversized_sheets(ledger, new, [contracts]) == {}
    try:
        csvout.WORKSHEET_ROWS = clients + 2  # header + rows + 2 new = one row too many
        assert csvout.oversized_sheets(ledger, new, [contracts]) == {"Clients": clients + 3}
        rows = [int(r) for r in ledger["Clients"]["_row"].head(1)]
        assert csvout.oversized_sheets(ledger, new, [contracts], {"Clients": rows}) == {}
    finally:
        csvout.WORKSHEET_ROWS = limit


def test_computed_text_writes_what_a_finance_user_reads() -> None:
    form = csvout.CsvFormat(decimal=",")
    text = csvout.computed_text
    dates = pd.Series([pd.Timestamp("2026-12-01"), pd.NaT, pd.Timestamp("2026-12-01")])
    assert text(dates, form) == ["2026-12-01", "", "2026-12-01"]
    assert text(pd.Series([3, None, -12, 3], dtype="Int64"), form) == ["3", "", "-12", "3"]
    assert text(pd.Series([3, 0]), form) == ["3", "0"]
    assert text(pd.Series([True, False, True]), form) == ["yes", "no", "yes"]
    assert text(pd.Series([True, None], dtype="boolean"), form) == ["yes", ""]
    assert text(pd.Series(["=1+1", "ACME", None, "-5", "@x"]), form) == [
        "'=1+1",
        "ACME",
        "",
        "'-5",
        "'@x",
    ]
    assert text(pd.Series([Decimal("12.50"), None]), form) == ["12,50", ""]
    assert csvout.computed_file_name("Buying list") == "buying-list.csv"


def test_defused_looks_at_each_object_once_and_defuses_every_row_that_needs_it() -> None:
    """A column of a few objects shown on many rows (as the loader's ids are), with a
    formula-like value on some rows only, or held by a new object with the text of a safe
    one: every row as the comprehension over all rows gives it."""
    import numpy as np

    safe, risky = "ACME", "=HYPERLINK(1)"
    for values in (
        [safe, "B", safe] * 5_000,
        [safe, "B", safe] * 5_000 + [risky],
        [risky] + [safe] * 9_999 + ["".join(["-", "5"])] + ["".join(["A", "CME"])],
        ["\tx", "\ry", "+1", "@a", "-", "", "x=1"],
        ["note\n=not a formula", "y\n", "\n-"] * 3,  # a formula's start after a line break
        ["y\n", "=z", "w"],
    ):
        text = np.array(values, dtype=object)
        want = ["'" + v if v.startswith(csvout.FORMULA_START) else v for v in values]
        assert csvout.defused(text) == want


@pytest.mark.parametrize(
    ("encoding", "delimiter", "newline", "final_break"),
    [("utf-8", ",", "\n", True), ("cp1252", ";", "\r\n", False)],
)
def test_a_big_file_is_appended_in_place_as_the_whole_file_path_would(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    encoding: str,
    delimiter: str,
    newline: str,
    final_break: bool,
) -> None:
    # A Clients file above HEAD_BYTES takes the in-place path (header from its first bytes,
    # new lines appended); with HEAD_BYTES raised the same file takes the whole-file path.
    # Both must give the same bytes, in the file's encoding, delimiter and line ending,
    # with a line break added where the file lacked a final one.
    source = tmp_path / "ledger"
    source.mkdir()
    for f in SAMPLE_CSV.iterdir():
        text = f.read_text(encoding="utf-8").replace(",", delimiter).replace("\n", newline)
        if f.name == "clients.csv":
            lines = text.split(newline)
            rows = [ln for ln in lines[1:] if ln]
            extra = [ln.replace("C-", f"X{i}-", 1) for i in range(60) for ln in rows]
            text = newline.join([lines[0], *rows, *extra]) + (newline if final_break else "")
            assert len(text.encode(encoding)) > csvout.HEAD_BYTES
        (source / f.name).write_bytes(text.encode(encoding))
    ledger = load_ledger(source)[0]
    new = ledger["Clients"].head(3).drop(columns=[c for c in ledger["Clients"] if c[0] == "_"])
    new = new.assign(client=["N-1", "N-2", "Ñ-3"], client_name=["Müller", "=1+1", None])
    written = {}
    took: list[bool] = []
    in_place = csvout._append_in_place

    def spy(*args: object) -> list[str] | None:
        done = in_place(*args)  # type: ignore[arg-type]
        took.append(done is not None)
        return done

    monkeypatch.setattr(csvout, "_append_in_place", spy)
    for label, head in (("in place", csvout.HEAD_BYTES), ("whole", 10**9)):
        monkeypatch.setattr(csvout, "HEAD_BYTES", head)
        target = tmp_path / label
        csvout.write_csv_folder(ledger, target, appended={"Clients": new})
        written[label] = (target / "clients.csv").read_bytes()
    assert took == [True, False]  # the first run appended in place, the second did not
    assert written["in place"] == written["whole"]
    before = (source / "clients.csv").read_bytes()
    added = written["in place"][len(before) :].decode(encoding)
    lead = "" if final_break else newline
    assert added.startswith(lead + "IBX" + delimiter + "N-1" + delimiter + "Müller")
    assert f"{delimiter}'=1+1{delimiter}" in added and added.endswith(newline)
    assert added.count(newline) == 3 + (0 if final_break else 1)


def test_the_header_line_is_never_changed(tmp_path: Path) -> None:
    """SPEC §11: exchanges.csv without a `run` column keeps its header; the points the run
    bought are appended without their run id, and a warning says so (the header used to
    grow a `run` column and every record a trailing delimiter)."""
    ledger = tmp_path / "ledger"
    shutil.copytree(SAMPLE_CSV, ledger)
    lines = (ledger / "exchanges.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].endswith(",run")
    trimmed = [line.rsplit(",", 1)[0] for line in lines]  # every record's last field is run
    (ledger / "exchanges.csv").write_text("\n".join(trimmed) + "\n", encoding="utf-8")
    before = (ledger / "exchanges.csv").read_bytes()
    result = CliRunner().invoke(
        main, ["reconcile", str(ledger), "--month", "2026-12", "--exchange",
               "--out", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    after = (tmp_path / "out" / "ledger-2026-12" / "exchanges.csv").read_bytes()
    assert after.startswith(before)  # header and every old record byte for byte
    new = after[len(before) :].decode("utf-8").splitlines()
    # ATL's 59 points exchanged on 2026-12-01: 19 AD360 licences x 3 points + 1 EPP x 2,
    # in the file's 8 columns, without a run id
    assert new == ["2026-12-01,ATL,exchange,AD360,,57,19,", "2026-12-01,ATL,exchange,EPP,,2,1,"]
    assert "exchanges.csv has no run column" in result.stderr
    assert "the header line is never changed" in result.stderr
