"""SPEC §9: stable output names, safe partner names, history and diff."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from licreport.cli import main
from licreport.errors import UsageError
from licreport.outputs.names import month_stem, safe_name, safe_names

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "ledger.xlsx"
SAMPLE_CSV = ROOT / "sample_data" / "ledger"


def run(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stem", "month", "expected"),
    [
        ("ledger", "2026-12", "ledger-2026-12"),
        ("ledger-2026-12", "2027-01", "ledger-2027-01"),
        ("ledger-2026-12-final", "2027-01", "ledger-2026-12-final-2027-01"),
        ("ledger-2026-13", "2027-01", "ledger-2026-13-2027-01"),  # not a month: kept
        ("2026-12", "2027-01", "2026-12-2027-01"),  # no "-" before it: the whole stem
    ],
)
def test_month_stem_replaces_a_trailing_month(stem: str, month: str, expected: str) -> None:
    assert month_stem(stem, month) == expected


@pytest.mark.parametrize(
    ("partner", "expected"),
    [
        ("P1", "P1"),
        ("ACME S.L.", "ACME_S.L."),
        ("a/b\\c:d", "a_b_c_d"),
        ("..", "_"),
        (".", "_"),
        ("Müller", "M_ller"),
        ("<script>", "_script_"),
    ],
)
def test_safe_name(partner: str, expected: str) -> None:
    assert safe_name(partner) == expected


def test_safe_names_that_clash_ignoring_case_are_a_usage_error() -> None:
    assert safe_names(["P1", "P2"]) == {"P1": "P1", "P2": "P2"}
    with pytest.raises(UsageError, match="'a/b' and 'A_B'"):
        safe_names(["a/b", "A_B"])


def test_chained_months_keep_a_stable_name(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("reconcile", SAMPLE, "--month", "2026-12", "--out", out)[0] == 0
    code, _, _ = run("reconcile", out / "ledger-2026-12.xlsx", "--month", "2027-01",
                          "--out", out)  # fmt: skip
    assert code == 0
    assert (out / "ledger-2027-01.xlsx").exists()
    assert not list(out.glob("ledger-2026-12-2027-01*"))
    code, _, _ = run("reconcile", SAMPLE_CSV, "--month", "2026-12", "--out", out / "csv")
    assert code == 0
    assert {p.name for p in (out / "csv").iterdir()} >= {"ledger-2026-12", "ledger-2026-12.xlsx"}


def test_partner_report_carries_the_partner_and_does_not_collide(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for partner in ("ATL", "IBX"):
        code, _, err = run("report", SAMPLE, "--month", "2026-12", "--partner", partner,
                           "--out", out)  # fmt: skip
        assert code == 0, err
    assert {p.name for p in out.iterdir()} == {"report-2026-12-ATL.html", "report-2026-12-IBX.html"}


# --- history -------------------------------------------------------------------------------


def test_history_of_two_chained_runs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("reconcile", SAMPLE, "--month", "2026-12", "--exchange", "--out", out)[0] == 0
    dec = out / "ledger-2026-12.xlsx"
    code, stdout, _ = run("renew", dec, "--month", "2026-12", "--json")  # already applied
    renewed = json.loads(stdout)
    assert renewed["already_applied"] is True
    assert run("reconcile", dec, "--month", "2027-01", "--out", out)[0] == 0
    code, stdout, _ = run("history", out / "ledger-2027-01.xlsx", "--json")
    assert code == 0
    doc = json.loads(stdout)
    assert doc["months"] == ["2026-12", "2027-01"]
    atl = next(p for p in doc["partners"] if p["partner"] == "ATL")
    december = atl["months"][0]
    # December's run lines for ATL, summed from the run's own JSON
    lines = next(p for p in renewed["partners"] if p["partner"] == "ATL")["lines"]
    assert december["month"] == "2026-12"
    assert december["requested"] == sum(ln["requested"] for ln in lines)
    assert december["renewed"] == sum(ln["renewed"] for ln in lines)
    assert december["dropped"] == sum(ln["dropped"] for ln in lines)
    assert december["points_renewed"] == sum(ln["points"] or 0 for ln in lines)
    exchanged = next(p for p in renewed["partners"] if p["partner"] == "ATL")["exchanged_points"]
    assert december["points_bought"] == exchanged > 0
    code, text, _ = run("history", out / "ledger-2027-01.xlsx")
    assert "ATL" in text and "2027-01" in text and "points_bought" in text


def test_history_counts_credits_and_run_exchanges_by_month(
    write_xlsx: Callable[..., Path],
) -> None:
    path = write_xlsx(
        {
            "Partners": [["partner", "provider"], ["W1", "WatchGuard"]],
            "Products": [["product", "family", "points_per_licence"], ["EPP", "EPP", 2]],
            "Clients": [["client", "product", "term", "licences", "start"],
                        ["C1", "EPP", "monthly", 3, dt.date(2026, 10, 1)]],
            "Exchanges": [
                ["date", "type", "product", "devices", "points", "licences", "run"],
                [dt.date(2026, 10, 1), "credit", None, None, 100, None, None],
                [dt.date(2026, 10, 1), "exchange", "EPP", 3, None, None, None],
                [dt.date(2026, 11, 1), "exchange", "EPP", None, None, 3, "2026-11-aaaa"],
                [dt.date(2026, 11, 20), "credit", None, None, 40, None, None],
            ],
            "Renewals": [
                ["run", "month", "client", "product", "term", "requested", "renewed",
                 "dropped", "licences", "points"],
                ["2026-11-aaaa", "2026-11", "C1", "EPP", "monthly", 3, 3, 0, 3, 6],
            ],
        }
    )  # fmt: skip
    code, stdout, err = run("history", path, "--json")
    assert code == 0, err
    # the October credit is in no recorded month; November: bought 3 × 2 = 6 (points left
    # blank, computed), credited 40
    assert json.loads(stdout) == {
        "months": ["2026-11"],
        "partners": [
            {
                "partner": "W1",
                "months": [
                    {"month": "2026-11", "requested": 3, "renewed": 3, "dropped": 0,
                     "points_renewed": 6, "points_bought": 6, "points_credited": 40}
                ],
            }
        ],
    }  # fmt: skip


def test_history_without_runs(tmp_path: Path) -> None:
    code, stdout, _ = run("history", SAMPLE, "--json")
    assert (code, json.loads(stdout)) == (0, {"months": [], "partners": []})
    code, stdout, _ = run("history", SAMPLE)
    assert "no recorded runs" in stdout


# --- diff ----------------------------------------------------------------------------------

HEAD = ["partner", "client", "client_name", "product", "term", "licences", "start", "note"]


def _ledger(write_xlsx: Callable[..., Path], clients: list[list[Any]], name: str) -> Path:
    return write_xlsx(
        {
            "Partners": [["partner", "provider"], ["P1", "Panda Security"]],
            "Products": [["product", "family"], ["AD360", "EDR"], ["EPP", "EPP"]],
            "Pool": [
                ["date", "product", "term", "quantity"],
                [dt.date(2026, 1, 1), "AD360", 1, 99],
            ],
            "Clients": [HEAD, *clients],
        },
        name=name,
    )


def test_diff_matches_rows_by_key_and_compares_typed_values(
    write_xlsx: Callable[..., Path],
) -> None:
    old = _ledger(
        write_xlsx,
        [
            ["P1", "C1", "Alpha", "AD360", 1, 10, dt.date(2026, 2, 1), "x"],
            ["P1", "C2", "Beta", "AD360", 1, 5, dt.date(2026, 2, 1), None],
            ["P1", "C2", "Beta", "AD360", 1, 6, dt.date(2026, 2, 1), None],  # same key, 2nd
            ["P1", "C3", "Gamma", "AD360", 1, 7, dt.date(2026, 2, 1), None],
        ],
        "old.xlsx",
    )
    new = _ledger(
        write_xlsx,
        [
            # the date as ISO text, the count as 10.0, the term as text: all equal
            ["P1", "C1", "Alpha", "AD360", "1", 10.0, "2026-02-01", "x"],
            ["P1", "C2", "Beta", "AD360", 1, 5, dt.date(2026, 2, 1), None],
            ["P1", "C2", "Beta", "AD360", 1, 8, dt.date(2026, 2, 1), "moved"],  # 2nd: changed
            ["P1", "C4", "Delta", "AD360", 1, 3, dt.date(2026, 3, 1), None],  # added
        ],  # C3 removed
        "new.xlsx",
    )
    code, stdout, err = run("diff", old, new, "--json")
    assert code == 0, err
    doc = json.loads(stdout)
    assert [s["sheet"] for s in doc["sheets"]] == ["Clients"]
    clients = doc["sheets"][0]
    assert clients["removed"] == [
        {"row": 5, "values": {"partner": "P1", "client": "C3", "client_name": "Gamma",
                              "product": "AD360", "term": 1, "licences": 7,
                              "start": "2026-02-01", "type": "assign"}}
    ]  # fmt: skip
    assert [a["row"] for a in clients["added"]] == [5]
    assert clients["added"][0]["values"]["client"] == "C4"
    assert clients["changed"] == [
        {
            "row_old": 4,
            "row_new": 4,
            "key": {"partner": "P1", "client": "C2", "product": "AD360", "term": 1,
                    "start": "2026-02-01", "type": "assign"},
            "cells": [
                {"column": "licences", "old": 6, "new": 8},
                {"column": "note", "old": None, "new": "moved"},
            ],
        }
    ]  # fmt: skip
    code, text, _ = run("diff", old, new)
    assert "Clients: 1 added, 1 removed, 1 changed" in text
    assert "licences: 6 → 8" in text
    assert "note: (blank) → moved" in text


def test_diff_of_equal_ledgers_in_two_formats_is_empty() -> None:
    code, stdout, _ = run("diff", SAMPLE, SAMPLE_CSV, "--json")
    assert code == 0
    assert json.loads(stdout)["sheets"] == []


def test_diff_of_a_month_shows_only_the_files_columns_and_takes_partner(tmp_path: Path) -> None:
    """December's run adds Renewals lines; diff shows them with the sheet's columns only
    (the loader's typed month `_month` leaked into the values), and --partner keeps one
    partner's rows (SPEC §4: every command that reads a ledger takes it)."""
    out = tmp_path / "out"
    assert run("reconcile", SAMPLE, "--month", "2026-12", "--out", out)[0] == 0
    december = out / "ledger-2026-12.xlsx"
    code, stdout, err = run("diff", SAMPLE, december, "--json")
    assert code == 0, err
    sheets = {s["sheet"]: s for s in json.loads(stdout)["sheets"]}
    renewals = sheets["Renewals"]["added"]
    assert renewals and all("_month" not in a["values"] for a in renewals)
    assert set(renewals[0]["values"]) <= {"run", "month", "partner", "client", "product",
                                          "term", "requested", "renewed", "dropped",
                                          "licences", "points"}  # fmt: skip
    code, stdout, err = run("diff", SAMPLE, december, "--partner", "ATL", "--json")
    assert code == 0, err
    only = {s["sheet"]: s for s in json.loads(stdout)["sheets"]}
    atl = only["Renewals"]["added"]
    assert atl and {a["values"]["partner"] for a in atl} == {"ATL"}
    assert len(atl) == sum(a["values"]["partner"] == "ATL" for a in renewals)
    code, _, err = run("diff", SAMPLE, december, "--partner", "XYZ")
    assert code == 2 and "'XYZ' is in neither ledger" in err


def test_diff_reads_numbers_as_decimal_comma_says(tmp_path: Path) -> None:
    """A ,-delimited folder written with decimal commas ("38,00", quoted): --decimal-comma
    reads the prices, so a changed one shows as 38.00 -> 39.50 (it was ignored by diff)."""

    def with_comma_prices(folder: Path, first_price: str) -> Path:
        shutil.copytree(SAMPLE_CSV, folder)
        with open(folder / "pool.csv", newline="", encoding="utf-8") as fp:
            rows = list(csv.reader(fp))
        at = rows[0].index("unit_price")
        for row in rows[1:]:
            row[at] = row[at].replace(".", ",")
        rows[1][at] = first_price
        with open(folder / "pool.csv", "w", newline="", encoding="utf-8") as fp:
            csv.writer(fp).writerows(rows)
        return folder

    old = with_comma_prices(tmp_path / "old", "38,00")
    new = with_comma_prices(tmp_path / "new", "39,50")
    code, stdout, _ = run("diff", old, new, "--decimal-comma", "--json")
    assert code == 0
    (pool,) = json.loads(stdout)["sheets"]
    assert pool["changed"][0]["cells"] == [{"column": "unit_price", "old": "38.00", "new": "39.50"}]


def test_diff_reads_a_ledger_with_data_errors_but_refuses_an_unsafe_file(
    write_xlsx: Callable[..., Path], tmp_path: Path
) -> None:
    old = _ledger(write_xlsx, [["P1", "C1", "A", "AD360", 1, 10, dt.date(2026, 2, 1), None]],
                  "old.xlsx")  # fmt: skip
    bad = _ledger(write_xlsx, [["P1", "C1", "A", "AD360", 1, 500, dt.date(2026, 2, 1), None]],
                  "bad.xlsx")  # pool of 99 goes negative: a data error  # fmt: skip
    assert run("validate", bad)[0] == 1
    code, stdout, _ = run("diff", old, bad, "--json")
    assert code == 0
    cells = json.loads(stdout)["sheets"][0]["changed"][0]["cells"]
    assert cells == [{"column": "licences", "old": 10, "new": 500}]
    bomb = tmp_path / "bomb.xlsx"
    bomb.write_bytes(b"PK\x03\x04 not really a zip")
    code, _, err = run("diff", old, bomb)
    assert code == 2
    assert "bomb.xlsx" in err
