"""A ledger read ahead (`licreport.ledger.ahead`): begun by the command line before the
run's modules are imported, taken by the loader, the same read and the same errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from licreport.cli import main
from licreport.errors import LicreportError, UnsafeFile
from licreport.ledger import Limits, ahead
from licreport.ledger.csvdir import read_csv_folder
from licreport.ledger.load import load_ledger, read_source
from licreport.ledger.xlsx import read_xlsx

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "ledger.xlsx"
SAMPLE_CSV = ROOT / "sample_data" / "ledger"
BROKEN = ROOT / "sample_data" / "broken"


@pytest.fixture(autouse=True)
def _nothing_left_begun() -> object:
    yield
    ahead.discard()
    assert threading.active_count() == 1


def _cells(book: object) -> dict[str, list[list[object]]]:
    sheets = book.sheets  # type: ignore[attr-defined]
    return {name: [list(r) for r in sheets[name].rows] for name in sheets}


def test_the_read_begun_is_the_loader_s_read(tmp_path: Path) -> None:
    ledger = shutil.copy(SAMPLE, tmp_path / "ledger.xlsx")
    ahead.begin(Path(ledger))
    taken = ahead.take(Path(ledger), Limits())
    assert taken is not None and ahead.take(Path(ledger), Limits()) is None  # taken once
    alone = read_xlsx(Path(ledger), Limits())
    try:
        assert (taken.sha256, taken.present, taken.date1904) == (
            alone.sha256,
            alone.present,
            alone.date1904,
        )
        assert _cells(taken) == _cells(alone)
    finally:
        taken.close()
        alone.close()


def test_a_read_begun_under_another_spelling_of_the_path_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(SAMPLE, tmp_path / "ledger.xlsx")
    monkeypatch.chdir(tmp_path)
    ahead.begin(Path("ledger.xlsx"))
    book = read_source(tmp_path / "ledger.xlsx", Limits())
    book.close()
    assert not ahead._begun


@pytest.mark.parametrize("change", ["limits", "file"])
def test_a_read_begun_for_other_limits_or_a_changed_file_is_not_taken(
    tmp_path: Path, change: str
) -> None:
    ledger = Path(shutil.copy(SAMPLE, tmp_path / "ledger.xlsx"))
    ahead.begin(ledger)
    limits = Limits()
    if change == "limits":
        limits = Limits(max_rows=10_000)
    else:
        stat = ledger.stat()
        os.utime(ledger, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert ahead.take(ledger, limits) is None
    assert not ahead._begun and threading.active_count() == 1  # the begun read was closed


@pytest.mark.parametrize("name", ["zip-bomb.xlsx", "not-a-workbook.xlsx", "missing-sheet.xlsx"])
def test_what_stops_a_begun_read_is_raised_where_the_loader_reads(name: str) -> None:
    """begin never raises; the loader raises what `read_xlsx` raises, word for word."""
    path = BROKEN / name
    with pytest.raises(LicreportError) as alone:
        load_ledger(path)
    ahead.begin(path)
    assert path.resolve() in ahead._begun
    with pytest.raises(LicreportError) as begun:
        load_ledger(path)
    assert type(begun.value) is type(alone.value)
    assert begun.value.lines() == alone.value.lines()
    assert not ahead._begun


def test_only_workbooks_and_folders_are_begun(tmp_path: Path) -> None:
    ahead.begin(tmp_path / "missing.xlsx")
    ahead.begin(Path(shutil.copy(SAMPLE, tmp_path / "ledger.csv")))  # refused by the loader
    assert not ahead._begun


def test_a_csv_folder_s_read_begun_is_the_loader_s_read(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(SAMPLE_CSV, tmp_path / "ledger"))
    ahead.begin(folder)
    taken = ahead.take(folder, Limits())
    assert taken is not None
    alone = read_csv_folder(folder, Limits())
    try:
        assert (taken.sha256, taken.present) == (alone.sha256, alone.present)
        assert _cells(taken) == _cells(alone)
        assert [taken.sheets[n].csv for n in taken.sheets] == [
            alone.sheets[n].csv for n in alone.sheets
        ]
    finally:
        taken.close()
        alone.close()


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_decimal_comma_is_read_as_asked_wherever_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """click takes the options before the arguments, so the read begins with the
    separator asked wherever it is given, and is taken; a read begun with another one
    is dropped and the loader reads the folder as asked."""
    taken = []
    take = ahead.take
    monkeypatch.setattr(ahead, "take", lambda *a: taken.append(take(*a)) or taken[-1])
    option = ["--decimal-comma"]
    args = [*option, str(SAMPLE_CSV)] if where == "before" else [str(SAMPLE_CSV), *option]
    result = CliRunner().invoke(main, ["validate", *args])
    assert taken[0] is not None
    ahead.begin(SAMPLE_CSV)
    assert ahead.take(SAMPLE_CSV, Limits(), ",") is None and not ahead._begun
    monkeypatch.setattr(ahead, "begin", lambda *a: None)
    alone = CliRunner().invoke(main, ["validate", *args])
    assert (alone.exit_code, alone.output) == (result.exit_code, result.output)
    assert "is ambiguous: this file is read with a decimal comma" in result.output


@pytest.mark.parametrize("command", ["reconcile", "status"])
def test_a_command_that_stops_before_loading_leaves_no_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """A bad --month is told before the ledger is loaded (the read begun is dropped)."""
    loads = []
    monkeypatch.setattr(ahead, "take", lambda *a: loads.append(a))
    args = [command, str(SAMPLE), "--month", "2026-13"]
    result = CliRunner().invoke(
        main, [*args, "--out", str(tmp_path / "o")] if command == "reconcile" else args
    )
    assert result.exit_code == 2 and "--month" in result.stderr and "2026-13" in result.stderr
    assert not loads and not ahead._begun and threading.active_count() == 1


def test_the_command_line_begins_the_read_and_the_loader_takes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = []
    take = ahead.take
    monkeypatch.setattr(ahead, "take", lambda *a: taken.append(take(*a)) or taken[-1])
    result = CliRunner().invoke(main, ["validate", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert len(taken) == 1 and taken[0] is not None


def test_the_command_line_imports_no_pandas_before_a_command_runs() -> None:
    code = "import sys, licreport.cli; assert 'pandas' not in sys.modules, 'pandas'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_an_unsafe_workbook_is_refused_by_the_command_line_as_before(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(BROKEN / "zip-bomb.xlsx")])
    assert result.exit_code == 2
    with pytest.raises(UnsafeFile) as direct:
        load_ledger(BROKEN / "zip-bomb.xlsx")
    assert direct.value.lines()[0] in result.stderr
