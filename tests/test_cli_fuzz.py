"""Whatever the cells hold, a command ends in a clear exit code, never a traceback.

The suite runs 40 examples per test; ``LICREPORT_FUZZ_EXAMPLES=5000 python -m pytest
tests/test_cli_fuzz.py`` runs a longer search (a few thousand examples found the cases of
`test_found_by_fuzzing_is_a_data_error`).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from licreport.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "ledger.xlsx"
CELL = st.one_of(
    st.none(),
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2200, 1, 1)),
    st.sampled_from(["monthly", "trial", "3", "WatchGuard", "credit", "exchange", "AD360", "=1+1"]),
)
SHEETS = ["Partners", "Products", "Pool", "Clients", "Exchanges", "Renewals"]
EXAMPLES = int(os.environ.get("LICREPORT_FUZZ_EXAMPLES", "40"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(SHEETS), st.integers(1, 25), st.integers(1, 14), CELL),
        min_size=1,
        max_size=15,
    ),
    command=st.sampled_from(["validate", "reconcile", "status", "recover", "renew", "report"]),
)
def test_random_cells_never_crash(edits, command) -> None:
    work = Path(tempfile.mkdtemp())
    try:
        wb = openpyxl.load_workbook(SAMPLE)
        for sheet, row, col, value in edits:
            wb[sheet].cell(row=row, column=col, value=value)
        ledger = work / "ledger.xlsx"
        wb.save(ledger)
        args = [command, str(ledger)]
        if command in ("reconcile", "renew"):
            args += ["--month", "2026-12", "--exchange", "--out", str(work / "out")]
        elif command == "report":
            args += ["--as-of", "2026-12-01", "--out", str(work / "out")]
        elif command == "recover":
            args += ["--as-of", "2026-12-01", "--apply", "--out", str(work / "out")]
        else:
            args += ["--as-of", "2026-12-01"] if command == "status" else []
        result = CliRunner().invoke(main, args)
        assert result.exit_code in (0, 1, 2), result.output
        assert "Traceback" not in result.output
        assert not isinstance(result.exception, Exception) or isinstance(
            result.exception, SystemExit
        ), repr(result.exception)
        if result.exit_code != 0:
            assert not (work / "out").exists()
    finally:
        shutil.rmtree(work)


CSV_FOLDER = SAMPLE.parent / "ledger"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(p.name for p in CSV_FOLDER.glob("*.csv"))),
    junk=st.binary(max_size=200),
    where=st.floats(0, 1),
)
def test_random_bytes_in_a_csv_never_crash(name: str, junk: bytes, where: float) -> None:
    work = Path(tempfile.mkdtemp())
    try:
        folder = work / "ledger"
        shutil.copytree(CSV_FOLDER, folder)
        data = (folder / name).read_bytes()
        cut = int(len(data) * where)
        (folder / name).write_bytes(data[:cut] + junk + data[cut:])
        result = CliRunner().invoke(main, ["validate", str(folder)])
        assert result.exit_code in (0, 1, 2), result.output
        assert not isinstance(result.exception, Exception) or isinstance(
            result.exception, SystemExit
        ), repr(result.exception)
    finally:
        shutil.rmtree(work)


@pytest.mark.parametrize(
    ("cell", "value", "message"),
    [
        # a negative device count reached the proration before the check naming its cell
        ("Exchanges!E3", -1, "Exchanges:E3: devices: devices cannot be negative"),
        # a negative monthly licence count likewise (the movements prorate monthly ones)
        ("Clients!F61", -83076, "Clients:F61: licences: licences must be at least 1"),
        # trial lengths past what a date holds overflowed pandas (OutOfBoundsTimedelta)
        ("Products!F6", 482197, "Products:F6: trial_days: a trial lasts 0 to 365 days"),
        ("Products!F3", -825949, "Products:F3: trial_days: a trial lasts 0 to 365 days"),
        # a start the rules would carry past 2262 (terms, trials, the outlook)
        ("Clients!G2", dt.date(2261, 6, 1), 'Clients:G2: start: "2261-06-01" is outside'),
    ],
)
def test_found_by_fuzzing_is_a_data_error(
    tmp_path: Path, cell: str, value: object, message: str
) -> None:
    """Cells the fuzz test above (and a longer run of it) found to be internal errors
    (exit 3): each is a data error naming its cell, exit 1, nothing written."""
    wb = openpyxl.load_workbook(SAMPLE)
    sheet, ref = cell.split("!")
    wb[sheet][ref] = value
    ledger = tmp_path / "ledger.xlsx"
    wb.save(ledger)
    out = tmp_path / "out"
    for args in (
        ["validate"],
        ["reconcile", "--month", "2026-11", "--exchange", "--out", str(out)],
        ["status", "--as-of", "2026-12-01"],
    ):
        result = CliRunner().invoke(main, [args[0], str(ledger), *args[1:]])
        assert result.exit_code == 1, result.output
        assert f"ledger.xlsx:{message}" in result.output
    assert not out.exists()


def test_found_by_fuzzing_an_end_after_2192_is_written(tmp_path: Path) -> None:
    """A contract's end in 2193 (Clients!H2, found by the fuzz test above) stopped the
    workbook writer with an int64 overflow (exit 3): it is a date like any other."""
    wb = openpyxl.load_workbook(SAMPLE)
    wb["Clients"]["H2"] = dt.date(2193, 1, 1)
    ledger = tmp_path / "ledger.xlsx"
    wb.save(ledger)
    out = tmp_path / "out"
    args = ["reconcile", str(ledger), "--month", "2026-12", "--exchange", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    contracts = openpyxl.load_workbook(out / "ledger-2026-12.xlsx", read_only=True)["Contracts"]
    ends = [row[7] for row in contracts.iter_rows(min_row=2, values_only=True)]
    assert dt.datetime(2193, 1, 1) in ends
