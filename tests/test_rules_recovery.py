"""Recovery (R4): the exact formula, rounding, and applying it twice."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licreport.rules.book import replay_ledger
from licreport.rules.recovery import recoverable, recovery_rows
from tests.factory import PANDA, PRODUCTS, make_ledger


def _ledger(licences: int, used: int | None, start: str, term: str = "1", end=None):
    return make_ledger(
        Partners=[PANDA],
        Products=PRODUCTS,
        Pool=[{"date": "2020-01-01", "product": "EPP", "term": term, "quantity": 1000}],
        Clients=[
            {
                "client": "A",
                "product": "EPP",
                "term": term,
                "licences": licences,
                "devices_used": used,
                "start": start,
                "end": end,
            },
        ],
    )


@pytest.mark.parametrize(
    ("licences", "used", "start", "term", "as_of", "days_left", "expected"),
    [
        # 6 unused, 183 of 365 days left: floor(6 * 183 / 365) = floor(3.008) = 3
        (10, 4, "2026-01-01", "1", "2026-07-02", 183, 3),
        # 4 unused 2-year, 670 of 730 days left: floor(4 * 670 / 730) = floor(3.67) = 3
        (10, 6, "2026-01-01", "2", "2026-03-02", 670, 3),
        # total recovery (U = 0), on the start date: 365 of 365 -> all 10
        (10, 0, "2026-01-01", "1", "2026-01-01", 365, 10),
        # a leap year's contract has 366 days: capped at L - U
        (10, 0, "2024-01-01", "1", "2024-01-01", 366, 10),
        # 1 unused, 100 of 365 days: floor(0.27) = 0 -> not a candidate
        (10, 9, "2026-01-01", "1", "2026-09-22", 101, None),
    ],
)
def test_recoverable_formula(licences, used, start, term, as_of, days_left, expected) -> None:
    book = replay_ledger(_ledger(licences, used, start, term))
    ts = pd.Timestamp(as_of)
    got = recoverable(book.contracts_at(ts), ts)
    if expected is None:
        assert got.empty
        return
    row = got.iloc[0]
    assert (row["days_left"], row["recoverable"]) == (days_left, expected)


def test_unknown_use_expired_trial_and_monthly_are_never_recovered() -> None:
    ledger = make_ledger(
        Partners=[PANDA],
        Products=PRODUCTS,
        Pool=[{"date": "2020-01-01", "product": "EPP", "term": "1", "quantity": 1000}],
        Clients=[
            {"client": "A", "product": "EPP", "term": "1", "licences": 5, "start": "2026-01-01"},
            {
                "client": "B",
                "product": "EPP",
                "term": "1",
                "licences": 5,
                "devices_used": 0,
                "start": "2024-01-01",
            },
            {
                "client": "C",
                "product": "AD360",
                "term": "trial",
                "licences": 5,
                "devices_used": 0,
                "start": "2026-06-01",
            },
        ],
    )
    book = replay_ledger(ledger)
    ts = pd.Timestamp("2026-06-10")
    assert recoverable(book.contracts_at(ts), ts).empty


def _apply(ledger, ts):
    book = replay_ledger(ledger)
    cands = recoverable(book.contracts_at(ts), ts)
    pool, clients = recovery_rows(cands, ts)
    return ledger.with_rows({"Pool": pool, "Clients": clients}), cands


def test_apply_records_pool_and_client_rows_and_second_apply_finds_nothing() -> None:
    ts = pd.Timestamp("2026-07-02")
    once, _cands = _apply(_ledger(10, 4, "2026-01-01"), ts)
    pool = once["Pool"].iloc[-1]
    client = once["Clients"].iloc[-1]
    assert (pool["type"], pool["quantity"], pool["order"]) == ("recovery", 3, "REC-20260702-0001")
    assert (client["type"], client["licences"], client["ref"]) == (
        "recovery",
        6,
        "REC-20260702-0001",
    )
    book = replay_ledger(once)
    assert book.errors == []
    assert book.contracts.iloc[0]["licences"] == 4
    assert book.balances().annual["available"].tolist() == [1000 - 10 + 3]
    twice, again = _apply(once, ts)
    assert again.empty
    assert len(twice["Pool"]) == len(once["Pool"])


@settings(max_examples=20, deadline=None)
@given(
    licences=st.integers(1, 500),
    used_share=st.floats(0, 1),
    offset=st.integers(0, 3 * 366),
    term=st.sampled_from(["1", "2", "3"]),
)
def test_recovery_never_exceeds_unused_and_applying_twice_equals_once(
    licences: int, used_share: float, offset: int, term: str
) -> None:
    used = int(licences * used_share)
    ts = pd.Timestamp("2026-01-01") + pd.Timedelta(days=offset)
    ledger = _ledger(licences, used, "2026-01-01", term)
    once, cands = _apply(ledger, ts)
    assert (cands["recoverable"] <= licences - used).all()
    assert (cands["recoverable"] >= 1).all()
    twice, again = _apply(once, ts)
    assert again.empty
    assert replay_ledger(twice).balances().annual.equals(replay_ledger(once).balances().annual)
