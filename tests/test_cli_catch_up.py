"""`renew`/`reconcile --catch-up` (SPEC §9): the months skipped since the last recorded run
first, then --month, in one output."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from licreport.cli import main
from licreport.ledger.load import load_ledger

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "ledger.xlsx"


def run(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _rows(path: Path, sheet: str) -> list[dict]:
    """A sheet's rows as recorded, without the run ids (they hash each run's input)."""
    ledger, errors = load_ledger(path)
    assert errors == []
    frame = ledger[sheet]
    frame = frame.drop(columns=[c for c in frame if c.startswith("_") or c == "run"])
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _without_runs(doc: dict) -> dict:
    return {
        **{k: v for k, v in doc.items() if k not in ("run", "caught_up")},
        "partners": [{k: v for k, v in p.items() if k != "run"} for p in doc["partners"]],
    }


def test_catch_up_equals_the_months_run_one_by_one(tmp_path: Path) -> None:
    # October is recorded; November was skipped.  `--month 2026-12 --catch-up` runs November
    # then December on the October ledger, in one output; running 2026-11 and then 2026-12
    # on its output records the same rows and the same documents.  Only the run ids differ:
    # each one-by-one run hashes its own input, a catch-up hashes the one input it read.
    assert run("renew", SAMPLE, "--month", "2026-10", "--out", tmp_path)[0] == 0
    october = tmp_path / "ledger-2026-10.xlsx"

    code, stdout, stderr = run("renew", october, "--month", "2026-12", "--catch-up",
                               "--json", "--out", tmp_path / "c")  # fmt: skip
    assert code == 0 and "warning" not in stderr
    caught = json.loads(stdout)

    code, nov_out, _ = run("renew", october, "--month", "2026-11", "--json",
                           "--out", tmp_path / "n")  # fmt: skip
    assert code == 0
    november = json.loads(nov_out)
    code, dec_out, stderr = run("renew", tmp_path / "n" / "ledger-2026-11.xlsx", "--month",
                                "2026-12", "--json", "--out", tmp_path / "d")  # fmt: skip
    assert code == 0 and "warning" not in stderr
    december = json.loads(dec_out)

    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["ledger-2026-12.xlsx"]
    one_by_one = tmp_path / "d" / "ledger-2026-12.xlsx"
    for sheet in ("Renewals", "Exchanges", "Pool", "Clients"):
        assert _rows(tmp_path / "c" / "ledger-2026-12.xlsx", sheet) == _rows(one_by_one, sheet)
    assert [d["month"] for d in caught["caught_up"]] == ["2026-11"]
    assert _without_runs(caught) == _without_runs(december)
    assert _without_runs(caught["caught_up"][0]) == _without_runs(november)
    # November's lines were really renewed: the sample renews monthly contracts every month
    assert sum(len(p["lines"]) for p in caught["caught_up"][0]["partners"]) > 0
    # each caught-up month has its own run id, from the month and the input's hash
    digest = caught["run"].removeprefix("2026-12-")
    assert caught["caught_up"][0]["run"] == f"2026-11-{digest}"
    recorded = load_ledger(tmp_path / "c" / "ledger-2026-12.xlsx")[0]["Renewals"]
    assert set(recorded["run"]) == {
        *load_ledger(october)[0]["Renewals"]["run"],
        f"2026-11-{digest}",
        f"2026-12-{digest}",
    }


def test_catch_up_with_nothing_recorded_runs_only_the_month(tmp_path: Path) -> None:
    # The sample's Renewals sheet is empty: there is nothing to catch up, and the run is
    # December's alone (no skipped-month warning either way: no run was ever recorded).
    assert load_ledger(SAMPLE)[0]["Renewals"].empty
    code, plain, _ = run("renew", SAMPLE, "--month", "2026-12", "--dry-run", "--json",
                         "--out", tmp_path)  # fmt: skip
    code, caught, stderr = run("renew", SAMPLE, "--month", "2026-12", "--dry-run", "--json",
                               "--catch-up", "--out", tmp_path)  # fmt: skip
    assert code == 0 and "warning" not in stderr
    doc = json.loads(caught)
    assert doc.pop("caught_up") == []
    assert doc == json.loads(plain)


def test_reconcile_catch_up_writes_one_workbook_and_one_report(tmp_path: Path) -> None:
    assert run("renew", SAMPLE, "--month", "2026-09", "--out", tmp_path)[0] == 0
    september = tmp_path / "ledger-2026-09.xlsx"
    code, stdout, stderr = run("reconcile", september, "--month", "2026-12", "--catch-up",
                               "--out", tmp_path / "c")  # fmt: skip
    assert code == 0 and "warning" not in stderr
    # text: one line per caught-up month, in order, before December's summary
    caught_lines = [ln for ln in stdout.splitlines() if ln.startswith("caught up ")]
    assert [ln.split(":")[0] for ln in caught_lines] == ["caught up 2026-10", "caught up 2026-11"]
    assert "monthly: " in caught_lines[0] and "points exchanged: " in caught_lines[0]
    written = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert written == ["ledger-2026-12.xlsx", "report-2026-12.html"]
    months = load_ledger(tmp_path / "c" / "ledger-2026-12.xlsx")[0]["Renewals"]["month"]
    assert sorted(set(months)) == ["2026-09", "2026-10", "2026-11", "2026-12"]

    code, stdout, _ = run("reconcile", september, "--month", "2026-12", "--catch-up", "--json",
                          "--out", tmp_path / "j")  # fmt: skip
    doc = json.loads(stdout)
    assert doc["month"] == "2026-12" and "status" in doc
    assert doc["status"]["as_of"] == "2026-12-01"
    assert [d["month"] for d in doc["caught_up"]] == ["2026-10", "2026-11"]
    assert all("status" not in d and d["already_applied"] is False for d in doc["caught_up"])


def test_without_catch_up_a_skipped_month_stays_a_warning(tmp_path: Path) -> None:
    assert run("renew", SAMPLE, "--month", "2026-10", "--out", tmp_path)[0] == 0
    code, stdout, stderr = run("renew", tmp_path / "ledger-2026-10.xlsx", "--month", "2026-12",
                               "--json", "--dry-run", "--out", tmp_path / "b")  # fmt: skip
    assert code == 0
    assert "2026-11 has no recorded renewals" in stderr and "--catch-up" in stderr
    assert "caught_up" not in json.loads(stdout)


def test_a_month_already_applied_has_nothing_to_catch_up(tmp_path: Path) -> None:
    assert run("renew", SAMPLE, "--month", "2026-10", "--out", tmp_path)[0] == 0
    code, stdout, _ = run("renew", tmp_path / "ledger-2026-10.xlsx", "--month", "2026-10",
                          "--catch-up", "--json", "--out", tmp_path / "b")  # fmt: skip
    assert code == 0
    doc = json.loads(stdout)
    assert doc["already_applied"] is True and doc["caught_up"] == []
    assert not (tmp_path / "b").exists()
    assert pd.Timestamp(doc["month"]) == pd.Timestamp("2026-10-01")
