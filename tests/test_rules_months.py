"""The month rules (SPEC §4 idempotency and --redo, §9 catch-up and skipped months):
`licreport.rules.months` on hand-built ledgers, its documents rendered by `jsonout.month_json`.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from licreport.api import run_id
from licreport.outputs import jsonout
from licreport.rules import months
from licreport.rules.book import apply_rows, replay_ledger
from licreport.rules.months import MonthPlan
from tests.factory import PANDA, PRODUCTS, WG, make_ledger
from tests.test_rules_conservation import ledgers

BUFFER_DAY = "2024-12-31"


@st.composite
def funded_ledgers(draw):
    """Random ledgers with random (often too small) pools and points bought up front."""
    ledger = draw(ledgers())
    rows = {name: ledger[name].drop(columns="_row").to_dict("records") for name in ledger.tables}
    for product in ("EPP", "AD360"):
        for term in ("1", "3"):
            rows["Pool"].append(
                {"date": BUFFER_DAY, "product": product, "term": term,
                 "quantity": draw(st.integers(1, 150))}
            )  # fmt: skip
        rows["Exchanges"].append(
            {"date": BUFFER_DAY, "type": "exchange", "product": product,
             "licences": draw(st.integers(0, 150))}
        )  # fmt: skip
    rows["Exchanges"].append({"date": BUFFER_DAY, "type": "credit", "points": 2_000})
    clean = {name: [{k: v for k, v in r.items() if v == v and v is not None} for r in rs]
             for name, rs in rows.items()}  # fmt: skip
    return make_ledger(**clean)


def _plan(book, month: str, **kw) -> MonthPlan:
    first = pd.Timestamp(f"{month}-01")
    kw = {"policy": "priority", "exchange": False} | kw
    return months.plan_month(book, first, run=run_id(month, book.ledger.sha256), **kw)


def _month(ledger, month: str, **kw) -> MonthPlan:
    book = replay_ledger(ledger)
    assert book.errors == []
    return _plan(book, month, **kw)


def _doc(month: MonthPlan) -> dict:
    return jsonout.month_json(month)


def test_monthly_contract_requests_full_licences_after_a_dropped_month() -> None:
    # R2: "it requests its full licences every month, whatever was dropped before".
    # Pool: 14 EPP licences on 1 Nov; A (10, start 1 Nov) consumes 10 -> 4 left on 1 Dec.
    # December: requested 10, renewed 4, dropped 6.  20 more on 1 Jan -> January requests 10
    # again and renews all 10.
    ledger = make_ledger(
        Partners=[WG],
        Products=PRODUCTS,
        Exchanges=[
            {"date": "2026-11-01", "type": "credit", "points": 300},
            {"date": "2026-11-01", "type": "exchange", "product": "EPP", "licences": 14},
            {"date": "2027-01-01", "type": "exchange", "product": "EPP", "licences": 20},
        ],
        Clients=[
            {
                "client": "A",
                "product": "EPP",
                "term": "monthly",
                "licences": 10,
                "start": "2026-11-01",
            }
        ],
    )
    dec = _month(ledger, "2026-12")
    [line] = _doc(dec)["partners"][0]["lines"]
    assert (line["requested"], line["renewed"], line["dropped"]) == (10, 4, 6)
    jan = _month(ledger.with_rows(dec.appended), "2027-01")
    [line] = _doc(jan)["partners"][0]["lines"]
    assert (line["requested"], line["renewed"], line["dropped"]) == (10, 10, 0)


def test_annual_settlement_uses_the_pool_as_of_the_first_only() -> None:
    # R3: renewals of M "use the pools ... as they stand after every movement dated on or
    # before the 1st of M".  A (8 licences, end 2026-12-20, auto_renew) is due in December.
    # Pool on 1 Dec: 8 bought 2025-01-01 - 8 assigned + 2 bought 2026-12-01 (on the 1st:
    # counts) = 2; the 10 bought 2026-12-02 come too late -> renewed 2, dropped 6.
    ledger = make_ledger(
        Partners=[PANDA],
        Products=PRODUCTS,
        Pool=[
            {"date": "2025-01-01", "product": "EPP", "term": "1", "quantity": 8},
            {"date": "2026-12-01", "product": "EPP", "term": "1", "quantity": 2},
            {"date": "2026-12-02", "product": "EPP", "term": "1", "quantity": 10},
        ],
        Clients=[
            {
                "client": "A",
                "product": "EPP",
                "term": "1",
                "licences": 8,
                "start": "2025-12-20",
                "auto_renew": True,
            }
        ],
    )
    run = _month(ledger, "2026-12")
    [line] = _doc(run)["partners"][0]["lines"]
    assert (line["term"], line["requested"], line["renewed"], line["dropped"]) == (1, 8, 2, 6)
    assert line["points"] is None  # blank for annual
    assert _doc(run)["partners"][0]["pool_after"] == [{"product": "EPP", "term": 1, "available": 0}]


def test_annual_renewal_defaults_and_co_termed_end_plus_term() -> None:
    # R3 + §3: annual auto_renew defaults to no; a given (co-termed) end wins and the renewal
    # moves it by the term: 2026-12-15 + 3 years = 2029-12-15, licences become renewed (4).
    ledger = make_ledger(
        Partners=[PANDA],
        Products=PRODUCTS,
        Pool=[{"date": "2023-01-01", "product": "EPP", "term": "3", "quantity": 14}],
        Clients=[
            {
                "client": "A",
                "product": "EPP",
                "term": "3",
                "licences": 4,
                "start": "2025-03-01",
                "end": "2026-12-15",
                "auto_renew": True,
            },
            # blank auto_renew on an annual contract: not renewed
            {"client": "B", "product": "EPP", "term": "3", "licences": 4, "start": "2023-12-10"},
        ],
    )
    run = _month(ledger, "2026-12")
    assert [ln["client"] for ln in _doc(run)["partners"][0]["lines"]] == ["A"]
    book = replay_ledger(ledger.with_rows(run.appended))
    ends = dict(zip(book.contracts["client"], book.contracts["end"], strict=True))
    assert ends == {"A": pd.Timestamp("2029-12-15"), "B": pd.Timestamp("2026-12-10")}
    # pool: 14 - 4 (A) - 4 (B) - 4 (A's renewal) = 2
    assert book.balances().annual["available"].tolist() == [2]


def test_partially_renewed_annual_contract_requests_what_was_renewed_next_year() -> None:
    # §3: "A renewal line extends its contract: the end moves by the term, the licences become
    # renewed".  A: 10 licences ending 2026-12-05, pool has 6 on 1 Dec 2026 -> renewed 6,
    # end 2027-12-05.  In December 2027 A requests 6 (not 10).
    ledger = make_ledger(
        Partners=[PANDA],
        Products=PRODUCTS,
        Pool=[
            {"date": "2025-01-01", "product": "EPP", "term": "1", "quantity": 16},
            {"date": "2027-11-01", "product": "EPP", "term": "1", "quantity": 50},
        ],
        Clients=[
            {
                "client": "A",
                "product": "EPP",
                "term": "1",
                "licences": 10,
                "start": "2025-12-05",
                "auto_renew": True,
            }
        ],
    )
    dec26 = _month(ledger, "2026-12")
    [line] = _doc(dec26)["partners"][0]["lines"]
    assert (line["requested"], line["renewed"]) == (10, 6)
    dec27 = _month(ledger.with_rows(dec26.appended), "2027-12")
    [line] = _doc(dec27)["partners"][0]["lines"]
    assert (line["requested"], line["renewed"]) == (6, 6)


def test_already_applied_returns_the_same_balances_as_the_run() -> None:
    # §4: a month already applied "returns that run's recorded lines with already_applied:
    # true".  With --exchange: 95 points on 1 Dec, 12 AD360 in the pool, 23 requested ->
    # buys 11 (33 points); pool_after / monthly_pool_after must match the first run's.
    ledger = make_ledger(
        Partners=[WG],
        Products=PRODUCTS,
        Exchanges=[
            {"date": "2026-10-01", "type": "credit", "points": 200},
            {"date": "2026-11-01", "type": "exchange", "product": "AD360", "licences": 23},
            {"date": "2026-12-01", "type": "exchange", "product": "AD360", "licences": 12},
        ],
        Clients=[
            {
                "client": c,
                "product": "AD360",
                "term": "monthly",
                "licences": n,
                "start": "2026-11-01",
            }
            for c, n in (("A", 10), ("B", 5), ("C", 8))
        ],
    )
    first = _month(ledger, "2026-12", exchange=True)
    again = _month(ledger.with_rows(first.appended), "2026-12")
    assert _doc(first)["partners"][0]["exchanged_points"] == 33
    assert _doc(again)["already_applied"] is True
    for key in ("exchanged_points", "monthly_pool_after", "pool_after", "lines"):
        assert _doc(again)["partners"][0][key] == _doc(first)["partners"][0][key], key


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    ledger=funded_ledgers(),
    policy=st.sampled_from(["priority", "smallest-first", "proportional"]),
    exchange=st.booleans(),
)
def test_running_a_month_twice_equals_once(ledger, policy, exchange) -> None:
    book = replay_ledger(ledger)
    assume(not book.errors)
    once = _plan(book, "2026-12", policy=policy, exchange=exchange)
    assert once.plan is not None
    again = _plan(replay_ledger(ledger.with_rows(once.appended)), "2026-12", policy=policy,
                  exchange=exchange)  # fmt: skip
    if once.plan.lines.empty:
        # nothing was due: nothing is recorded, and a second run again finds nothing to do
        assert again.plan is not None and again.plan.lines.empty
        assert again.plan.exchanges.empty
        return
    assert again.plan is None and again.applied is not None
    doc, first = _doc(again), _doc(once)
    assert doc["already_applied"] is True and doc["run"] == first["run"]

    def lines(d):
        return sorted(
            (p["partner"], ln["client"], ln["product"], str(ln["term"]), ln["renewed"])
            for p in d["partners"]
            for ln in p["lines"]
        )

    assert lines(doc) == lines(first)
    points = {p["partner"]: p["exchanged_points"] for p in doc["partners"]}
    assert points == {p["partner"]: p["exchanged_points"] for p in first["partners"]}


# --- the month rules one by one ------------------------------------------------------------------


SEPTEMBER = {
    "run": "r", "month": "2026-09", "client": "A", "product": "EPP", "term": "monthly",
    "requested": 5, "renewed": 5, "dropped": 0, "licences": 5,
}  # fmt: skip


def _monthly_ledger(**extra):
    """WG1: A (5 EPP monthly from 2026-09-01) with 100 points exchanged for 100 EPP up front."""
    return make_ledger(
        Partners=[WG],
        Products=PRODUCTS,
        Exchanges=[
            {"date": "2026-08-01", "type": "credit", "points": 200},
            {"date": "2026-08-01", "type": "exchange", "product": "EPP", "licences": 100},
        ],
        Clients=[
            {
                "client": "A",
                "product": "EPP",
                "term": "monthly",
                "licences": 5,
                "start": "2026-09-01",
            },
        ],
        **extra,
    )


def test_catch_up_months_are_those_after_the_last_recorded_and_before_m() -> None:
    renewals = _monthly_ledger(Renewals=[SEPTEMBER])["Renewals"]
    first = pd.Timestamp("2026-12-01")
    # recorded up to September: October and November come first, then December itself
    assert months.catch_up_months(renewals, first) == [
        pd.Timestamp("2026-10-01"),
        pd.Timestamp("2026-11-01"),
    ]
    assert months.catch_up_months(renewals, pd.Timestamp("2026-10-01")) == []
    assert months.catch_up_months(renewals, pd.Timestamp("2026-09-01")) == []
    # nothing recorded: nothing to catch up
    assert months.catch_up_months(_monthly_ledger()["Renewals"], first) == []


def test_skipped_month_names_the_month_before_with_its_due_contracts() -> None:
    book = replay_ledger(_monthly_ledger(Renewals=[SEPTEMBER]))
    assert book.errors == []
    # December after September: November had A (1 monthly contract) due, and no run
    assert months.skipped_month(book, pd.Timestamp("2026-12-01")) == months.SkippedMonth(
        "2026-11", 1
    )
    # October follows September directly
    assert months.skipped_month(book, pd.Timestamp("2026-10-01")) is None
    # nothing recorded: the history is the user's own
    assert (
        months.skipped_month(replay_ledger(_monthly_ledger()), pd.Timestamp("2026-12-01")) is None
    )


def test_partners_to_run_and_redo_selection() -> None:
    ledger = make_ledger(
        Partners=[WG, PANDA],
        Products=PRODUCTS,
        Exchanges=[
            {"date": "2026-12-01", "partner": "WG1", "type": "exchange", "product": "EPP",
             "licences": 3, "run": "2026-12-x"},
            {"date": "2026-12-01", "partner": "WG1", "type": "exchange", "product": "EPP",
             "licences": 1},
        ],
        Renewals=[
            {"run": "2026-11-x", "month": "2026-11", "partner": "WG1", "client": "A",
             "product": "EPP", "term": "monthly", "requested": 5, "renewed": 5, "dropped": 0},
            {"run": "2026-12-x", "month": "2026-12", "partner": "WG1", "client": "A",
             "product": "EPP", "term": "monthly", "requested": 5, "renewed": 5, "dropped": 0},
        ],
    )  # fmt: skip
    first = pd.Timestamp("2026-12-01")
    lines = months.recorded(ledger["Renewals"], first)
    assert lines["run"].tolist() == ["2026-12-x"]
    assert months.partners_to_run(lines, ["PA1", "WG1"]) == ["PA1"]
    selection = months.redo_selection(ledger, first)
    # sheet rows: the December line is Renewals row 3, the exchange its run bought row 2
    assert selection.removed == {"Renewals": [3], "Exchanges": [2]}
    assert selection.ledger["Renewals"]["run"].tolist() == ["2026-11-x"]
    assert selection.ledger["Exchanges"]["run"].isna().tolist() == [True]


def test_catch_up_equals_the_months_run_one_by_one_on_the_book() -> None:
    # Recorded: September.  October, November, December each renew A's 5 EPP from the 100
    # licences exchanged in August (5 consumed on 1 Sep, 5 by September's line): 90 left on
    # 1 Oct, then 85, 80, 75 after December.
    book = replay_ledger(_monthly_ledger(Renewals=[SEPTEMBER]))
    firsts = months.catch_up_months(book.ledger["Renewals"], pd.Timestamp("2026-12-01"))
    pools = []
    for first in [*firsts, pd.Timestamp("2026-12-01")]:
        plan = months.plan_month(book, first, run="x", policy="priority", exchange=False)
        assert plan.plan is not None and plan.plan.lines["renewed"].tolist() == [5]
        pools.append(_doc(plan)["partners"][0]["monthly_pool_after"])
        book = apply_rows(plan.book, plan.appended)
        assert book.errors == []
    assert pools == [[{"product": "EPP", "available": n}] for n in (85, 80, 75)]
    assert book.ledger["Renewals"]["month"].tolist() == ["2026-09", "2026-10", "2026-11", "2026-12"]
