"""Conformance probes against SPEC.md: each test quotes the rule and works the expected
numbers by hand in a comment (a review found the first five differing; all now hold).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from licreport import api
from licreport.cli import main
from licreport.outputs import jsonout, sheets
from licreport.rules.book import replay_ledger
from licreport.rules.recovery import recoverable, recovery_rows
from tests.factory import PANDA, PRODUCTS, WG, make_ledger

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "ledger.xlsx"


def _cli(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _messages(ledger) -> list[str]:
    return [str(e) for e in replay_ledger(ledger).errors]


def _lines(doc: dict, partner: str) -> list[dict]:
    return next(p for p in doc["partners"] if p["partner"] == partner)["lines"]


# --- discrepancies ---------------------------------------------------------------------------


def test_partner_scoped_run_does_not_mark_the_month_applied_for_other_partners(
    tmp_path: Path,
) -> None:
    # SPEC §4 idempotency: "Running renew/reconcile for a month already applied in the ledger
    # writes nothing".  README: "--partner P restricts every computation ...; the written
    # workbook is still the whole input plus P's new rows."  So after
    # `reconcile --partner IBX --month 2026-12`, December is applied for IBX only; ATL's
    # December renewal (4 lines on the sample: C-ATL-005/-001/-003 AD360, EPP) is still due.
    code, stdout, _ = _cli(
        "renew", SAMPLE, "--month", "2026-12", "--dry-run", "--json", "--out", tmp_path / "x"
    )
    assert code == 0
    atl_expected = _lines(json.loads(stdout), "ATL")
    assert len(atl_expected) == 4
    code, _, _ = _cli(
        "reconcile", SAMPLE, "--month", "2026-12", "--partner", "IBX", "--out", tmp_path / "a"
    )
    assert code == 0
    written = tmp_path / "a" / "ledger-2026-12.xlsx"
    code, stdout, _ = _cli(
        "renew", written, "--month", "2026-12", "--dry-run", "--json", "--out", tmp_path / "b"
    )
    assert code == 0

    assert _lines(json.loads(stdout), "ATL") == atl_expected


def test_contracts_sheet_recoverable_is_per_contract() -> None:
    # SPEC §1 "several contracts of the same product are allowed"; §5 Contracts sheet:
    # "every contract with end date, days left, recoverable".
    # Two identical EPP 1-year contracts of client B, 10 licences each, U = 0, start
    # 2026-01-15, end 2027-01-15.  On a = 2026-10-01: D = 106, T = 365,
    # recoverable = min(10, floor(10 * 106 / 365)) = floor(2.90) = 2 per contract, 4 in all.
    contract = {
        "client": "B",
        "product": "EPP",
        "term": "1",
        "licences": 10,
        "start": "2026-01-15",
        "devices_used": 0,
    }
    ledger = make_ledger(
        Partners=[PANDA],
        Products=PRODUCTS,
        Pool=[{"date": "2026-01-01", "product": "EPP", "term": "1", "quantity": 20}],
        Clients=[contract, dict(contract)],
    )
    view = api.status_model(replay_ledger(ledger), pd.Timestamp("2026-10-01"))
    assert view.recoverable["recoverable"].tolist() == [2, 2]
    frame = sheets.contracts_sheet(view).frame

    assert frame["recoverable"].tolist() == [2, 2]


def test_monthly_contract_without_auto_renew_lapses_at_the_next_first() -> None:
    # SPEC §1: "A monthly licence lasts 30 days; assigned monthly licences expire on the 1st of
    # each month and are renewed automatically"; R2: only contracts with auto_renew are renewed.
    # EDR monthly, auto_renew no, start 2026-01-10: consumed ceil(5 * 22 / 30) = 4 licences,
    # expires 2026-02-01 and is never renewed.  An AD360 (family EDR) contract from 2026-06-01
    # does not overlap it, so R6 ("two different products of one family at the same time")
    # does not apply: no data error expected.
    ledger = make_ledger(
        Partners=[WG],
        Products=PRODUCTS,
        Pool=[{"date": "2026-01-01", "product": "AD360", "term": "1", "quantity": 5}],
        Exchanges=[
            {"date": "2026-01-01", "type": "credit", "points": 100},
            {"date": "2026-01-01", "type": "exchange", "product": "EDR", "licences": 10},
        ],
        Clients=[
            {
                "client": "A",
                "product": "EDR",
                "term": "monthly",
                "licences": 5,
                "start": "2026-01-10",
                "auto_renew": False,
            },
            {"client": "A", "product": "AD360", "term": "1", "licences": 5, "start": "2026-06-01"},
        ],
    )

    assert _messages(ledger) == []


def test_total_recovery_frees_the_family() -> None:
    # R4: "U = 0 is a total recovery. Applying a recovery reduces the contract to U licences".
    # EDR 1-year, 10 licences, U = 0, start 2026-01-15 (end 2027-01-15), recovered on
    # 2026-06-01: D = 228, recoverable = floor(10 * 228 / 365) = 6 back to the pool, the
    # contract now holds 0 licences.  R6 forbids "holding two different products of one family
    # at the same time": holding 0 EDR licences, the client may take AD360 (family EDR) on
    # 2026-07-01 -> no data error expected.
    base = make_ledger(
        Partners=[PANDA],
        Products=PRODUCTS,
        Pool=[
            {"date": "2026-01-01", "product": "EDR", "term": "1", "quantity": 10},
            {"date": "2026-01-01", "product": "AD360", "term": "1", "quantity": 10},
        ],
        Clients=[
            {
                "client": "B",
                "product": "EDR",
                "term": "1",
                "licences": 10,
                "start": "2026-01-15",
                "devices_used": 0,
            }
        ],
    )
    when = pd.Timestamp("2026-06-01")
    candidates = recoverable(replay_ledger(base).contracts_at(when), when)
    assert candidates["recoverable"].tolist() == [6]
    pool_rows, client_rows = recovery_rows(candidates, when)
    switched = base.with_rows(
        {
            "Pool": pool_rows,
            "Clients": pd.concat(
                [
                    client_rows,
                    pd.DataFrame(
                        [
                            {
                                "partner": "PA1",
                                "client": "B",
                                "product": "AD360",
                                "term": "1",
                                "licences": 10,
                                "start": pd.Timestamp("2026-07-01"),
                            }
                        ]
                    ),
                ],
                ignore_index=True,
            ),
        }
    )
    book = replay_ledger(switched)
    assert book.contracts_at(pd.Timestamp("2026-07-01")).iloc[0]["licences"] == 0

    assert [str(e) for e in book.errors] == []


def test_report_takes_json_like_every_computing_command(tmp_path: Path) -> None:
    # SPEC §4: "Every command that computes takes --as-of DATE (default: today) or
    # --month YYYY-MM, and --json to print its result as one JSON document on stdout".
    code, stdout, _ = _cli("report", SAMPLE, "--as-of", "2026-12-01", "--json", "--out", tmp_path)
    assert code == 0
    doc = json.loads(stdout)
    # the status document the report shows (README), plus where the report was written
    assert doc.pop("report") == str(tmp_path / "report-2026-12.html")
    assert (tmp_path / "report-2026-12.html").is_file()
    code, stdout, _ = _cli("status", SAMPLE, "--as-of", "2026-12-01", "--json")
    assert code == 0 and doc == json.loads(stdout)
    assert doc["as_of"] == "2026-12-01"
    assert [p["partner"] for p in doc["partners"]] == ["ATL", "CBT", "IBX", "NRD"]


# --- rules checked and found to conform -------------------------------------------------------


def test_same_date_points_credit_comes_before_the_exchange() -> None:
    # R7: "on one date, inflows before outflows, then sheet row order".  The exchange (row 2,
    # 5 EPP at 1 point = 5 points) is above the credit (row 3, 5 points), same date:
    # credit first -> 5 - 5 = 0, never negative.
    ledger = make_ledger(
        Partners=[WG],
        Products=PRODUCTS,
        Exchanges=[
            {"date": "2026-01-05", "type": "exchange", "product": "EPP", "licences": 5},
            {"date": "2026-01-05", "type": "credit", "points": 5},
        ],
    )
    assert _messages(ledger) == []


def test_two_year_contract_and_unknown_exchange_product_for_watchguard() -> None:
    # R6: "a 2-year block or contract for a WatchGuard partner"; "a product unknown to the
    # catalogue ... in an exchange".
    ledger = make_ledger(
        Partners=[WG],
        Products=PRODUCTS,
        Exchanges=[
            {"date": "2026-01-01", "type": "credit", "points": 10},
            {"date": "2026-01-02", "type": "exchange", "product": "NOPE", "licences": 1},
        ],
        Clients=[
            {"client": "A", "product": "EPP", "term": "2", "licences": 1, "start": "2026-01-10"}
        ],
    )
    msgs = _messages(ledger)
    assert (
        "ledger.xlsx:Clients:E2: term: 2-year licences are for Panda Security partners only" in msgs
    )
    assert "ledger.xlsx:Exchanges:D3: product: unknown product (not in Products)" in msgs


def test_status_expiring_window_and_kinds() -> None:
    # §4: expiring holds active annual contracts and trials with 0 <= days_left <= 90; monthly
    # contracts are left out.  As of 2026-10-01: A ends 2026-12-30 (90 days) -> in;
    # B ends 2026-12-31 (91) -> out; T trial 2026-09-20 + 30 = 2026-10-20 (19) -> in;
    # F not started yet (start 2026-10-05, end given 2026-11-01) -> out; M monthly -> out.
    ledger = make_ledger(
        Partners=[WG],
        Products=PRODUCTS,
        Pool=[{"date": "2025-01-01", "product": "EPP", "term": "1", "quantity": 30}],
        Exchanges=[
            {"date": "2026-09-01", "type": "credit", "points": 10},
            {"date": "2026-09-01", "type": "exchange", "product": "EPP", "licences": 3},
        ],
        Clients=[
            {"client": "A", "product": "EPP", "term": "1", "licences": 2, "start": "2025-12-30"},
            {"client": "B", "product": "EPP", "term": "1", "licences": 2, "start": "2025-12-31"},
            {
                "client": "T",
                "product": "AD360",
                "term": "trial",
                "licences": 1,
                "start": "2026-09-20",
            },
            {
                "client": "F",
                "product": "EPP",
                "term": "1",
                "licences": 2,
                "start": "2026-10-05",
                "end": "2026-11-01",
            },
            {
                "client": "M",
                "product": "EPP",
                "term": "monthly",
                "licences": 3,
                "start": "2026-09-01",
            },
        ],
    )
    book = replay_ledger(ledger)
    assert book.errors == []
    view = api.status_model(book, pd.Timestamp("2026-10-01"))
    doc = jsonout.status_json(view, ["WG1"])["partners"][0]
    assert doc["expiring"] == [
        {
            "client": "T",
            "product": "AD360",
            "term": "trial",
            "licences": 1,
            "end": "2026-10-20",
            "days_left": 19,
        },
        {
            "client": "A",
            "product": "EPP",
            "term": 1,
            "licences": 2,
            "end": "2026-12-30",
            "days_left": 90,
        },
    ]
    assert all(isinstance(t["available"], bool) for t in doc["trials"])
