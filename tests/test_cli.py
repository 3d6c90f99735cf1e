"""Every command through CliRunner on sample_data/, the broken fixtures, and the run contract.

The expected numbers are the sample's design (sample_data/make_sample.py) worked
by hand: e.g. IBX's AD360 1-year pool holds 30 on 1 December 2026 while
C-IBX-004 (20, priority 1) and C-IBX-003 (30, no priority) are due.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from licreport.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "ledger.xlsx"
SAMPLE_CSV = ROOT / "sample_data" / "ledger"
BROKEN = ROOT / "sample_data" / "broken"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def digest(path: Path) -> str:
    if path.is_dir():
        return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(path.iterdir()))).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


# --- validate ------------------------------------------------------------------------------


@pytest.mark.parametrize("ledger", [SAMPLE, SAMPLE_CSV])
def test_validate_sample_is_clean(ledger: Path) -> None:
    code, stdout, _ = run("validate", ledger)
    assert code == 0
    assert "no data errors" in stdout
    code, stdout, _ = run("validate", ledger, "--json")
    assert json.loads(stdout) == {"errors": []}


def test_validate_bad_values_lists_every_error_and_exits_1() -> None:
    code, stdout, _ = run("validate", BROKEN / "bad-values.xlsx")
    assert code == 1
    lines = stdout.splitlines()
    assert (
        'bad-values.xlsx:Partners:C3: provider: "Panda" is not one of: Panda Security, WatchGuard'
        in lines
    )
    assert 'bad-values.xlsx:Clients:F3: licences: "ten" is not a whole number' in lines
    assert len(lines) >= 7
    code, stdout, _ = run("validate", BROKEN / "bad-values.xlsx", "--json")
    errors = json.loads(stdout)["errors"]
    assert code == 1
    first = next(e for e in errors if e["cell"] == "F3")
    assert first == {
        "file": "bad-values.xlsx",
        "sheet": "Clients",
        "row": 3,
        "column": "licences",
        "cell": "F3",
        "message": '"ten" is not a whole number',
    }


BAD_FILES = [
    ("missing-sheet.xlsx", 'required sheet "Products" is missing (sheets present: '),
    ("missing-column.xlsx", 'required column "licences" is missing'),
    ("duplicate-headers.xlsx", 'duplicate header "Licenses"'),
    ("legacy.xls", "is an Excel 97-2003 .xls file; save it as .xlsx"),
    ("encrypted.xlsx", "is password-protected; remove the password in Excel and save again"),
    ("truncated.xlsx", "is damaged or truncated"),
    ("empty.xlsx", "the file is empty (0 bytes)"),
    ("not-a-workbook.xlsx", "is not an Excel workbook"),
    ("far-cell.xlsx", "a cell at XFD1048576 makes the sheet 1048576 rows × 16384 columns"),
    ("formula-no-cache.xlsx", "Clients:F7: formula has no saved value; open the file in Excel"),
    ("entity-bomb.xlsx", "declares XML entities (a possible entity-expansion bomb)"),
    ("external-entity.xlsx", "declares an external XML entity"),
    ("zip-bomb.xlsx", "refusing a possible zip bomb"),
]


@pytest.mark.parametrize(("name", "message"), BAD_FILES)
@pytest.mark.parametrize("command", ["validate", "reconcile"])
def test_unreadable_or_unsafe_files_exit_2_and_write_nothing(
    name: str, message: str, command: str, out: Path
) -> None:
    args = [command, BROKEN / name]
    if command == "reconcile":
        args += ["--month", "2026-12", "--out", out]
    code, stdout, stderr = run(*args)
    assert code == 2
    assert message in stderr
    assert "Traceback" not in stderr + stdout
    assert not out.exists()


def test_data_errors_stop_reconcile_before_anything_is_written(out: Path) -> None:
    code, _, stderr = run("reconcile", BROKEN / "bad-values.xlsx", "--month", "2026-12",
                          "--out", out)  # fmt: skip
    assert code == 1
    assert '"ten" is not a whole number' in stderr
    assert not out.exists()


def test_panda_partner_exchange_is_refused_with_its_row(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    shutil.copytree(SAMPLE_CSV, ledger)
    with (ledger / "exchanges.csv").open("a", encoding="utf-8") as f:
        f.write("2026-03-02,IBX,credit,,,100,,,\n")
    code, stdout, _ = run("validate", ledger)
    assert code == 1
    assert stdout.splitlines() == [
        "exchanges.csv:exchanges:C22: type: MSSP Points are for WatchGuard partners only"
    ]


def test_ledger_open_in_excel_gets_a_warning(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.xlsx"
    shutil.copy(SAMPLE, ledger)
    (tmp_path / "~$ledger.xlsx").write_bytes(b"lock")
    code, _, stderr = run("validate", ledger)
    assert code == 0
    assert "warning: ledger.xlsx looks open in Excel (~$ledger.xlsx exists)" in stderr


# --- quote ---------------------------------------------------------------------------------


def test_quote_seed_example() -> None:
    code, stdout, _ = run("quote", "--product", "AD360", "--devices", "30", "--date",
                          "2026-01-23", "--points-per-licence", "3", "--json")  # fmt: skip
    assert code == 0
    assert json.loads(stdout) == {
        "product": "AD360", "devices": 30, "date": "2026-01-23", "days": 9,
        "device_days": 270, "licences": 9, "points": 27, "points_per_licence": 3,
    }  # fmt: skip
    code, stdout, _ = run("quote", "--product", "ad360", "--devices", "30", "--date",
                          "2026-02-01", "--ledger", SAMPLE)  # fmt: skip
    assert code == 0
    assert "30 licences × 3 points = 90 points" in stdout


def test_quote_needs_exactly_one_price_source() -> None:
    code, _, stderr = run("quote", "--product", "AD360", "--devices", "3")
    assert code == 2
    assert "exactly one of --ledger or --points-per-licence" in stderr
    code, _, stderr = run("quote", "--product", "NOPE", "--devices", "3", "--ledger", SAMPLE)
    assert code == 2 and "is not in the ledger's Products" in stderr


# --- status / recover ----------------------------------------------------------------------

STATUS_KEYS = {
    "partner", "provider", "pool", "monthly_pool", "points_balance", "trials", "expiring",
    "recoverable", "forecast",
}  # fmt: skip
# R4 on 1 December 2026, worked by hand from the sample's contracts:
RECOVERABLE = {
    "C-IBX-001": 1, "C-IBX-002": 6, "C-NRD-005": 5, "C-NRD-104": 1, "C-NRD-108": 2,
    "C-ATL-006": 8,
}  # fmt: skip


def test_status_json_shape_and_numbers() -> None:
    code, stdout, _ = run("status", SAMPLE, "--as-of", "2026-12-01", "--json")
    assert code == 0
    doc = json.loads(stdout)
    assert doc["as_of"] == "2026-12-01"
    assert [p["partner"] for p in doc["partners"]] == ["ATL", "CBT", "IBX", "NRD"]
    for p in doc["partners"]:
        assert set(p) >= STATUS_KEYS
        assert all(set(e) == {"client", "product", "term", "licences", "end", "days_left"}
                   for e in p["expiring"])  # fmt: skip
        assert all(0 <= e["days_left"] <= 90 and e["term"] != "monthly" for e in p["expiring"])
        assert all(isinstance(t["available"], bool) for t in p["trials"])
    got = {r["client"]: r["recoverable"] for p in doc["partners"] for r in p["recoverable"]}
    assert got == RECOVERABLE
    ibx = next(p for p in doc["partners"] if p["partner"] == "IBX")
    pool = {(r["product"], r["term"]): r["available"] for r in ibx["pool"]}
    assert pool[("AD360", 1)] == 30  # before December's renewals
    atl = next(p for p in doc["partners"] if p["partner"] == "ATL")
    assert atl["points_balance"] == 59
    assert {(f["product"], f["devices_due"]) for f in atl["forecast"]} >= {("AD360", 67)}


def test_status_partner_filter_and_terminal_view() -> None:
    code, stdout, _ = run("status", SAMPLE, "--as-of", "2026-12-01", "--partner", "ATL")
    assert code == 0
    assert "ATL" in stdout and "IBX" not in stdout
    assert "MSSP Points balance: 59" in stdout
    code, _, stderr = run("status", SAMPLE, "--partner", "ZZZ")
    assert code == 2 and "partner 'ZZZ' is not in Partners" in stderr


def test_recover_apply_records_once(out: Path) -> None:
    before = digest(SAMPLE)
    code, stdout, _ = run("recover", SAMPLE, "--as-of", "2026-12-01", "--apply", "--json",
                          "--out", out)  # fmt: skip
    assert code == 0
    doc = json.loads(stdout)
    assert doc["applied"] is True
    assert sum(r["recoverable"] for p in doc["partners"] for r in p["recoverable"]) == 23
    written = out / "ledger-2026-12.xlsx"
    assert written.exists() and digest(SAMPLE) == before
    wb = openpyxl.load_workbook(written, read_only=True)
    pool_rows = [r for r in wb["Pool"].iter_rows(values_only=True) if "recovery" in r]
    assert sum(1 for r in pool_rows if r[2] and str(r[2]).startswith("REC-20261201")) == 6
    code, stdout, _ = run("recover", written, "--as-of", "2026-12-01", "--json")
    assert json.loads(stdout)["partners"] == []  # a second apply finds nothing


# --- renew / reconcile ---------------------------------------------------------------------


def _lines(doc: dict, partner: str) -> dict[tuple[str, str], int]:
    p = next(p for p in doc["partners"] if p["partner"] == partner)
    return {(ln["client"], ln["product"]): ln["renewed"] for ln in p["lines"]}


@pytest.mark.parametrize(
    ("policy", "ibx", "atl"),
    [
        # IBX AD360 1-year: 30 in the pool for C-IBX-004 (20, priority 1) and C-IBX-003 (30)
        # ATL AD360 monthly: 40 for C-ATL-005 (25, p1), C-ATL-001 (30, p2), C-ATL-003 (12)
        ("priority", (20, 10), (25, 15, 0)),
        ("smallest-first", (20, 10), (25, 3, 12)),
        # IBX shares: 30*20/50 = 12, 30*30/50 = 18; ATL: 40*25/67 = 14.93, 17.91, 7.16
        # -> 14/17/7, leftovers 2 by largest remainder: .93 (C-ATL-005), .91 (C-ATL-001)
        ("proportional", (12, 18), (15, 18, 7)),
    ],
)
def test_renew_dry_run_policies(policy: str, ibx: tuple, atl: tuple, out: Path) -> None:
    code, stdout, _ = run("renew", SAMPLE, "--month", "2026-12", "--policy", policy,
                          "--dry-run", "--json", "--out", out)  # fmt: skip
    assert code == 0
    doc = json.loads(stdout)
    assert doc["month"] == "2026-12" and doc["already_applied"] is False
    got = _lines(doc, "IBX")
    assert (got[("C-IBX-004", "AD360")], got[("C-IBX-003", "AD360")]) == ibx
    got = _lines(doc, "ATL")
    assert (
        got[("C-ATL-005", "AD360")],
        got[("C-ATL-001", "AD360")],
        got[("C-ATL-003", "AD360")],
    ) == atl
    assert not out.exists()


def test_renew_with_exchange_spends_points_then_second_run_is_already_applied(
    out: Path,
) -> None:
    code, stdout, _ = run("renew", SAMPLE, "--month", "2026-12", "--exchange", "--json",
                          "--out", out)  # fmt: skip
    assert code == 0
    doc = json.loads(stdout)
    atl = next(p for p in doc["partners"] if p["partner"] == "ATL")
    # 59 points: AD360 first (27 missing x 3 = 81 > 59 -> 19 licences = 57), EPP: 2 left -> 1
    assert atl["exchanged_points"] == 59
    lines = {ln["product"]: 0 for ln in atl["lines"]}
    for ln in atl["lines"]:
        lines[ln["product"]] += ln["renewed"]
    assert lines == {"AD360": 40 + 19, "EPP": 1}
    written = out / "ledger-2026-12.xlsx"
    code, stdout, _ = run("renew", written, "--month", "2026-12", "--json", "--out", out)
    again = json.loads(stdout)
    assert code == 0 and again["already_applied"] is True
    assert again["run"] == doc["run"]
    assert _lines(again, "ATL") == _lines(doc, "ATL")


def test_existing_output_needs_force(out: Path) -> None:
    args = ["reconcile", SAMPLE, "--month", "2026-12", "--out", out]
    assert run(*args)[0] == 0
    code, _, stderr = run(*args)
    assert code == 2 and "--force" in stderr
    assert run(*args, "--force")[0] == 0


def test_reconcile_writes_workbook_and_report_and_leaves_input(out: Path) -> None:
    before = digest(SAMPLE)
    code, stdout, _ = run("reconcile", SAMPLE, "--month", "2026-12", "--out", out)
    assert code == 0, stdout
    assert digest(SAMPLE) == before
    wb = openpyxl.load_workbook(out / "ledger-2026-12.xlsx")
    for name in ("Status", "Contracts", "Forecast", "Checks", "Partners", "Read me"):
        assert name in wb.sheetnames
    renewals = list(wb["Renewals"].iter_rows(values_only=True))
    assert len(renewals) > 10 and all(r[1] == "2026-12" for r in renewals[1:])
    checks = list(wb["Checks"].iter_rows(values_only=True))
    diff = checks[0].index("difference")
    assert all(r[diff] == 0 for r in checks[1:])
    html = (out / "report-2026-12.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in html
    assert "<script>alert(1)</script>" not in html


def test_reconcile_csv_folder_writes_workbook_and_csv_folder(out: Path) -> None:
    before = digest(SAMPLE_CSV)
    code, _, _ = run("reconcile", SAMPLE_CSV, "--month", "2026-12", "--out", out)
    assert code == 0
    assert digest(SAMPLE_CSV) == before
    assert (out / "ledger-2026-12.xlsx").exists()
    folder = out / "ledger-2026-12"
    assert (folder / "renewals.csv").exists()
    code, stdout, _ = run("validate", folder)
    assert code == 0, stdout


def test_reconcile_is_deterministic(tmp_path: Path) -> None:
    docs = []
    for n in (1, 2):
        code, stdout, _ = run("reconcile", SAMPLE, "--month", "2026-12", "--exchange", "--json",
                              "--out", tmp_path / str(n))  # fmt: skip
        assert code == 0
        docs.append(json.loads(stdout))
    assert docs[0] == docs[1]
    a = (tmp_path / "1" / "report-2026-12.html").read_bytes()
    b = (tmp_path / "2" / "report-2026-12.html").read_bytes()
    assert a == b


def test_reconcile_is_deterministic_across_processes(tmp_path: Path) -> None:
    # one process could hide set/dict order that depends on string hashing: two
    # interpreters with different PYTHONHASHSEED must write the same bytes
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-m", "licreport", "reconcile", str(SAMPLE), "--month", "2026-12",
             "--exchange", "--json", "--out", str(out)],
            capture_output=True, text=True, env=env, cwd=ROOT, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        files = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
        outputs.append((json.loads(done.stdout), files))
    (doc1, files1), (doc2, files2) = outputs
    assert doc1 == doc2
    assert sorted(files1) == ["ledger-2026-12.xlsx", "report-2026-12.html"]
    assert files1 == files2


def test_report_escapes_client_names(out: Path) -> None:
    # C-NRD-006 "Webbyrån <script>alert(1)</script> AB" ends 2027-09-14: listed 75 days before
    code, _, _ = run("report", SAMPLE, "--as-of", "2027-07-01", "--out", out)
    assert code == 0
    html = (out / "report-2027-07.html").read_text(encoding="utf-8")
    assert "Webbyrån &lt;script&gt;alert(1)&lt;/script&gt; AB" in html
    assert "<script>alert(1)</script>" not in html


def test_report_command(out: Path) -> None:
    code, _stdout, _ = run("report", SAMPLE, "--as-of", "2026-11-27", "--out", out)
    assert code == 0
    assert (out / "report-2026-11.html").exists()
    assert list(out.iterdir()) == [out / "report-2026-11.html"]


def test_bad_month_is_a_usage_error(out: Path) -> None:
    code, _, stderr = run("reconcile", SAMPLE, "--month", "2026-13", "--out", out)
    assert code == 2 and '"2026-13" is not a possible month' in stderr  # the form is right
    code, _, stderr = run("status", SAMPLE, "--month", "2026-13")
    assert code == 2 and '"2026-13" is not a possible month' in stderr
    code, _, stderr = run("reconcile", SAMPLE, "--month", "12/2026", "--out", out)
    assert code == 2 and '"12/2026" is not a month (YYYY-MM)' in stderr
    assert not out.exists()


def test_sheet_problems_print_once_without_the_prefix() -> None:
    # issue 10: each line printed twice, once as "licreport: <the same line>"
    for name in (
        "duplicate-headers",
        "far-cell",
        "formula-no-cache",
        "missing-column",
        "missing-sheet",
    ):
        code, _, stderr = run("validate", BROKEN / f"{name}.xlsx")
        lines = stderr.splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith(f"{name}.xlsx:"), stderr


def test_a_folder_without_ledger_files_says_so(tmp_path: Path) -> None:
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    code, _, stderr = run("validate", tmp_path)
    assert code == 2
    assert stderr.splitlines() == [
        f"licreport: {tmp_path}: is not a ledger folder: it holds none of partners.csv, "
        "products.csv, discounts.csv, pool.csv, clients.csv, exchanges.csv, renewals.csv, "
        "mappings.csv (CSV files present: notes.csv)"
    ]


# --- init ----------------------------------------------------------------------------------


def test_init_template_and_sample(tmp_path: Path) -> None:
    code, stdout, _ = run("init", tmp_path / "empty")
    assert code == 0
    assert run("validate", tmp_path / "empty" / "ledger.xlsx")[0] == 0
    code, _, stderr = run("init", tmp_path / "empty")
    assert code == 2 and "--force" in stderr
    assert run("init", tmp_path / "s", "--sample")[0] == 0
    code, stdout, _ = run("validate", tmp_path / "s" / "ledger.xlsx")
    assert code == 0, stdout


def test_conservation_failure_aborts_and_writes_nothing(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A movement the replay counts twice (simulated) is caught by R8 against the sheets."""
    from licreport.rules import replay

    original = replay.movements

    def doubled(*args, **kwargs):
        moves = original(*args, **kwargs)
        bought = moves[(moves["category"] == "bought") & (moves["partner"] == "IBX")]
        return pd.concat([moves, bought.head(1)], ignore_index=True)

    monkeypatch.setattr(replay, "movements", doubled)
    code, _, stderr = run("reconcile", SAMPLE, "--month", "2026-12", "--out", out)
    assert code == 1
    assert "conservation check failed (rule R8 in docs/rules.md)" in stderr
    assert "partner IBX" in stderr and "difference" in stderr
    assert not out.exists()


def test_redo_replaces_the_month_in_the_written_workbook(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    code, stdout, _ = run("reconcile", SAMPLE, "--month", "2026-12", "--exchange", "--json",
                          "--out", first)  # fmt: skip
    assert code == 0
    applied = first / "ledger-2026-12.xlsx"
    old = json.loads(stdout)
    code, stdout, _ = run("reconcile", applied, "--month", "2026-12", "--redo", "--policy",
                          "proportional", "--json", "--out", second)  # fmt: skip
    assert code == 0
    doc = json.loads(stdout)
    assert doc["already_applied"] is False and doc["run"] != old["run"]
    # without --exchange this time: IBX shares its 30 AD360 1-year licences 12 / 18
    assert _lines(doc, "IBX")[("C-IBX-004", "AD360")] == 12
    redone = second / "ledger-2026-12.xlsx"  # SPEC §9: the month in the stem is replaced
    wb = openpyxl.load_workbook(redone, read_only=True)
    renewals = [r for r in wb["Renewals"].iter_rows(min_row=2, values_only=True) if any(r)]
    assert {r[0] for r in renewals} == {doc["run"]}
    assert len(renewals) == sum(len(p["lines"]) for p in doc["partners"])
    exchanges = [r for r in wb["Exchanges"].iter_rows(min_row=2, values_only=True) if any(r)]
    assert not any(r[-1] == old["run"] for r in exchanges)
    code, stdout, _ = run("validate", redone)
    assert code == 0, stdout
    code, stdout, _ = run("renew", redone, "--month", "2026-12", "--json", "--out", second)
    assert json.loads(stdout)["already_applied"] is True


def test_month_is_the_first_of_the_month_for_as_of_commands() -> None:
    by_month = run("status", SAMPLE, "--month", "2026-12", "--json")
    by_date = run("status", SAMPLE, "--as-of", "2026-12-01", "--json")
    assert by_month[0] == 0 and by_month[1] == by_date[1]
    code, _, stderr = run("status", SAMPLE, "--month", "2026-12", "--as-of", "2026-12-01")
    assert code == 2 and "not both" in stderr


def test_unwritable_output_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("")
    code, stdout, stderr = run("reconcile", SAMPLE, "--month", "2026-12", "--out",
                               blocker / "sub")  # fmt: skip
    assert code == 2
    assert "Not a directory" in stderr and "nothing was written" in stderr
    assert "Traceback" not in stdout + stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_a_skipped_month_is_reported(tmp_path: Path) -> None:
    code, _, _ = run("renew", SAMPLE, "--month", "2026-10", "--out", tmp_path)
    assert code == 0
    code, _, stderr = run("renew", tmp_path / "ledger-2026-10.xlsx", "--month", "2026-12",
                          "--dry-run", "--out", tmp_path / "b")  # fmt: skip
    assert code == 0
    assert "warning: 2026-11 has no recorded renewals although" in stderr
    code, _, stderr = run("renew", tmp_path / "ledger-2026-10.xlsx", "--month", "2026-11",
                          "--dry-run", "--out", tmp_path / "b")  # fmt: skip
    assert code == 0 and "warning" not in stderr


def test_date_cell_out_of_range_is_a_clear_error(tmp_path: Path) -> None:
    """A huge negative number formatted as a date makes calamine's Rust core panic."""
    wb = openpyxl.load_workbook(SAMPLE)
    cell = wb["Clients"]["G2"]
    cell.value, cell.number_format = -1e15, "yyyy-mm-dd"
    ledger = tmp_path / "ledger.xlsx"
    wb.save(ledger)
    code, stdout, stderr = run("validate", ledger)
    assert code == 2
    assert "ledger.xlsx:Clients: a cell formatted as a date holds a number outside" in stderr
    assert "Traceback" not in stdout + stderr


def test_recover_apply_reduces_the_right_one_of_two_contracts(tmp_path: Path) -> None:
    # issue 10, defect 1, end to end: written to the workbook, read back by the reader
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    sheets = {
        "Partners": [["partner", "name", "provider"], ["P1", "Partner", "Panda Security"]],
        "Products": [["product", "name", "family"], ["AD360", "Adaptive Defense 360", "EDR"]],
        "Pool": [["date", "product", "term", "quantity"], [date(2026, 11, 1), "AD360", "1", 20]],
        "Clients": [
            ["client", "product", "term", "licences", "start", "devices_used"],
            ["C08", "AD360", "1", 11, date(2026, 12, 1), None],
            ["C08", "AD360", "1", 4, date(2026, 12, 2), 1],
        ],
    }
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    source = tmp_path / "two.xlsx"
    wb.save(source)
    code, stdout, _ = run("recover", source, "--as-of", "2027-02-01", "--apply", "--json",
                          "--out", tmp_path / "o1")  # fmt: skip
    assert code == 0
    listed = json.loads(stdout)["partners"][0]["recoverable"]
    assert [(r["licences"], r["devices_used"], r["recoverable"]) for r in listed] == [(4, 1, 2)]
    applied = tmp_path / "o1" / "two-2027-02.xlsx"
    code, stdout, _ = run("status", applied, "--as-of", "2027-02-01", "--json")
    partner = json.loads(stdout)["partners"][0]
    assert partner["recoverable"] == []
    assert partner["pool"] == [{"product": "AD360", "term": 1, "available": 7}]  # 20 − 15 + 2
    code, stdout, _ = run("recover", applied, "--as-of", "2027-02-01", "--apply", "--json",
                          "--out", tmp_path / "o2")  # fmt: skip
    assert code == 0 and json.loads(stdout)["partners"] == []
    assert not (tmp_path / "o2").exists()


# --- paths no other test reaches (issue 10) -------------------------------------------------


def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


WG_SHEETS: dict[str, list[list[object]]] = {
    "Partners": [["partner", "name", "provider"], ["W1", "Watch", "WatchGuard"]],
    "Products": [["product", "name", "family", "points_per_licence"], ["EPP", "EPP", "EPP", 1]],
    "Clients": [
        ["client", "product", "term", "licences", "start"],
        ["C1", "EPP", "monthly", 10, date(2026, 11, 1)],
    ],
    "Exchanges": [
        ["date", "type", "product", "points", "licences"],
        [date(2026, 11, 1), "credit", None, 20, None],
        [date(2026, 11, 1), "exchange", "EPP", None, 10],
        [date(2026, 12, 15), "exchange", "EPP", None, 10],  # needs the last 10 points
    ],
}


def test_a_run_that_would_break_a_later_row_is_refused(tmp_path: Path) -> None:
    # api._assert_clean: on 1 December 10 points are left, but the exchange of
    # 15 December needs them; --exchange would spend them on C1's renewal
    source = _workbook(tmp_path / "wg.xlsx", WG_SHEETS)
    before = source.read_bytes()
    code, stdout, stderr = run("renew", source, "--month", "2026-12", "--exchange",
                               "--out", tmp_path / "out")  # fmt: skip
    assert code == 1
    assert "no longer replays cleanly" in stderr
    assert (
        "wg.xlsx:Exchanges:D4: points: partner W1: this takes the points balance to -10 on"
        " 2026-12-15 (balances never go negative)" in stderr.splitlines()
    )
    assert not (tmp_path / "out").exists() and source.read_bytes() == before
    # without --exchange nothing is bought: the month renews from the pool (0) and drops C1
    code, stdout, _ = run("renew", source, "--month", "2026-12", "--json", "--dry-run")
    assert code == 0
    (line,) = json.loads(stdout)["partners"][0]["lines"]
    assert (line["requested"], line["renewed"], line["dropped"]) == (10, 0, 10)


def test_an_output_inside_the_input_is_refused_even_with_force(tmp_path: Path) -> None:
    # api._never_the_input: --out inside the CSV ledger folder
    ledger = tmp_path / "ledger"
    shutil.copytree(SAMPLE_CSV, ledger)
    before = digest(ledger)
    code, _, stderr = run("reconcile", ledger, "--month", "2026-12", "--out", ledger, "--force")
    assert code == 2
    assert "would overwrite the input" in stderr and "choose another --out" in stderr
    assert digest(ledger) == before


def test_an_internal_error_is_exit_3_and_debug_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from licreport import api

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(api, "status", broken)
    result = CliRunner().invoke(main, ["status", str(SAMPLE), "--as-of", "2026-12-01"])
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        "licreport: internal error (KeyError: 'boom'); nothing was written. Run again with "
        "--debug for the traceback and report it."
    ]
    result = CliRunner().invoke(main, ["--debug", "status", str(SAMPLE), "--as-of", "2026-12-01"])
    assert isinstance(result.exception, KeyError)  # raised, so Python prints the traceback
    assert result.exit_code == 1 and "internal error" not in result.stderr


def test_recover_text_output(out: Path) -> None:
    code, stdout, _ = run("recover", SAMPLE, "--as-of", "2026-12-01")
    assert code == 0
    code, doc, _ = run("recover", SAMPLE, "--as-of", "2026-12-01", "--json")
    partners = json.loads(doc)["partners"]
    lines = stdout.splitlines()
    # one block per partner: its id, a header, one line per contract with the JSON's numbers
    for p in partners:
        at = lines.index(p["partner"])
        assert lines[at + 1].split() == [
            "client", "product", "term", "licences", "devices_used", "days_left", "recoverable"
        ]  # fmt: skip
        for k, r in enumerate(p["recoverable"], start=2):
            term = f"{r['term']} year" + ("s" if r["term"] > 1 else "")  # one vocabulary
            assert lines[at + k].split() == [
                r["client"], r["product"], *term.split(), str(r["licences"]),
                str(r["devices_used"]), str(r["days_left"]), str(r["recoverable"]),
            ]  # fmt: skip
    assert sum(len(p["recoverable"]) for p in partners) == 6
    # by hand, R4: C-ATL-006 holds 20 AD360 3-year, uses 0, 472 days left of 1095:
    # min(20, floor(20 × 472 / 1095)) = floor(8.62) = 8
    assert lines[:3] == [
        "ATL",
        "  client     product  term     licences  devices_used  days_left  recoverable",
        "  C-ATL-006  AD360    3 years  20        0             472        8          ",
    ]
    assert not out.exists()  # listing writes nothing
    code, stdout, _ = run("recover", SAMPLE, "--as-of", "2020-01-01")
    assert code == 0 and stdout == "nothing to recover on 2020-01-01\n"


VBA_CONTENT_TYPE = b"application/vnd.ms-office.vbaProject"
MACRO_MAIN = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"


def _with_macros(source: Path, target: Path, vba: bytes) -> Path:
    """The sample as an .xlsm: a vbaProject part, its relationship and content types."""
    plain_main = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "[Content_Types].xml":
                assert plain_main in data
                data = data.replace(plain_main, MACRO_MAIN).replace(
                    b"<Default ",
                    b'<Default Extension="bin" ContentType="' + VBA_CONTENT_TYPE + b'"/><Default ',
                    1,
                )
            if info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdVBA1" Type="http://schemas.microsoft.com/office/2006/'
                    b'relationships/vbaProject" Target="vbaProject.bin"/></Relationships>',
                )
            z.writestr(info, data)
        z.writestr("xl/vbaProject.bin", vba)
    return target


def test_an_xlsm_keeps_its_macros_byte_for_byte(tmp_path: Path) -> None:
    vba = bytes(range(256)) * 40  # stands in for a compiled VBA project
    source = _with_macros(SAMPLE, tmp_path / "ledger.xlsm", vba)
    code, _, stderr = run("reconcile", source, "--month", "2026-12", "--out", tmp_path / "out")
    assert code == 0, stderr
    written = tmp_path / "out" / "ledger-2026-12.xlsm"  # Excel refuses macros named .xlsx
    with zipfile.ZipFile(written) as z:
        assert z.read("xl/vbaProject.bin") == vba
        types = z.read("[Content_Types].xml")
        rels = z.read("xl/_rels/workbook.xml.rels")
    assert MACRO_MAIN in types and VBA_CONTENT_TYPE in types
    assert b'Target="vbaProject.bin"' in rels
    code, _, _ = run("validate", written)
    assert code == 0


def test_renew_dry_run_says_so_and_the_summary_counts_in_one_unit_each() -> None:
    code, stdout, _ = run("renew", SAMPLE, "--month", "2026-12", "--dry-run")
    assert code == 0
    code, doc, err = run("renew", SAMPLE, "--month", "2026-12", "--dry-run", "--json")
    lines = [ln for p in json.loads(doc)["partners"] for ln in p["lines"]]
    # with --json, stdout is the document alone and the hint line goes to stderr
    assert err.splitlines() == [
        "hint: --exchange would have kept 20 dropped device(s) with the MSSP Points already "
        "held (ATL 20)"
    ]

    def total(kind: str, key: str) -> int:
        return sum(ln[key] for ln in lines if (ln["term"] == "monthly") == (kind == "monthly"))

    said = stdout.splitlines()
    # ATL's 59 points would have kept 20 of its 47 dropped devices (tests/test_cli_outlook.py)
    assert [ln for ln in said if ln.startswith("hint:")] == [
        "hint: --exchange would have kept 20 dropped device(s) with the MSSP Points already "
        "held (ATL 20)"
    ]
    assert [ln for ln in said if not ln.startswith("hint:")][-4:] == [
        f"monthly: {total('monthly', 'renewed')} of {total('monthly', 'requested')} devices "
        f"renewed, {total('monthly', 'dropped')} dropped",
        f"annual: {total('annual', 'renewed')} of {total('annual', 'requested')} licences "
        f"renewed, {total('annual', 'dropped')} not renewed",
        "points exchanged: 0",
        "dry run: nothing was written (run again without --dry-run to record it)",
    ]
    assert "wrote" not in stdout


def test_run_output_separates_thousands_and_says_one_line(tmp_path: Path) -> None:
    sheets = {
        **WG_SHEETS,
        "Clients": [
            ["client", "product", "term", "licences", "start"],
            ["C1", "EPP", "monthly", 12_500, date(2026, 11, 1)],
        ],
        "Exchanges": [
            ["date", "type", "product", "points", "licences"],
            [date(2026, 11, 1), "credit", None, 30_000, None],
            [date(2026, 11, 1), "exchange", "EPP", None, 12_500],  # 1 November: 30 days
        ],
    }
    source = _workbook(tmp_path / "big.xlsx", sheets)
    code, stdout, _ = run("renew", source, "--month", "2026-12", "--dry-run")
    assert code == 0
    out = stdout.splitlines()
    assert out[0] == "W1: 1 renewal line"
    assert out[2].split() == ["C1", "EPP", "Monthly", "12,500", "0", "12,500"]
    assert "monthly: 0 of 12,500 devices renewed, 12,500 dropped" in out
    code, stdout, _ = run("status", source, "--as-of", "2026-11-15")
    assert "  MSSP Points balance: 17,500" in stdout.splitlines()  # 30,000 − 12,500 × 1


def test_a_reader_that_stops_early_is_no_error() -> None:
    """`licreport status … | head -1`: a closed pipe ends the command quietly, exit 0."""
    import fcntl
    import subprocess
    import sys

    read, write = os.pipe()
    fcntl.fcntl(write, 1031, 4096)  # F_SETPIPE_SZ: the ~9 KB status cannot fit in the pipe
    proc = subprocess.Popen(
        [sys.executable, "-m", "licreport.cli", "status", str(SAMPLE), "--as-of", "2026-12-01"],
        stdout=write,
        stderr=subprocess.PIPE,
    )
    os.close(write)
    with os.fdopen(read, "rb") as stdout:
        assert stdout.readline() == b"Status as of 2026-12-01\n"
    assert proc.stderr is not None
    err = proc.stderr.read().decode()  # the pipe is closed, as `head -1` leaves it
    assert proc.wait(timeout=60) == 0
    assert err == ""


def test_a_csv_ledger_given_as_dot_is_named_by_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cd ledger; licreport validate .` was an internal error (a path with no name)."""
    folder = tmp_path / "acme"
    shutil.copytree(SAMPLE_CSV, folder)
    monkeypatch.chdir(folder)
    code, out, err = run("validate", ".")
    assert code == 0, err
    assert out.strip() == "acme: no data errors"
    code, _, err = run("reconcile", ".", "--month", "2026-12", "--out", str(tmp_path / "out"))
    assert code == 0, err
    assert (tmp_path / "out" / "acme-2026-12" / "pool.csv").exists()


_VALUES = st.one_of(
    st.none(), st.integers(-(10**7), 10**7), st.booleans(), st.sampled_from(["1", "monthly", "C1"])
)


@given(st.lists(st.fixed_dictionaries({c: _VALUES for c in ("client", "term", "dropped")})))
def test_text_tables_are_cell_by_cell(rows: list[dict[str, object]]) -> None:
    """`cli._table` formats a column at once where it can: the same text as `_cell` on
    every value, columns padded to their widest cell."""
    from licreport import cli

    columns = ["client", "term", "dropped"]
    cells = [columns] + [[cli._cell(c, r.get(c)) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    expected = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    assert cli._table(rows, columns) == expected
