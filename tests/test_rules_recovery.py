"""Recovery (R4): the exact formula, rounding, and applying it twice."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licreport.rules.book import replay_ledger
from licreport.rules.recovery import recoverable, recovery_rows
from licreport.rules.renewal import plan_renewals
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


# --- issue 10, defect 1: two active contracts of one client, product and term --------------

POOL_20 = [{"date": "2026-11-01", "product": "AD360", "term": "1", "quantity": 20}]
C08 = {"client": "C08", "product": "AD360", "term": "1"}
TWO_CONTRACTS = [
    {**C08, "licences": 11, "start": "2026-12-01"},  # devices_used blank: nothing to recover
    {**C08, "licences": 4, "start": "2026-12-02", "devices_used": 1},
]
AS_OF = pd.Timestamp("2027-02-01")


def _two(clients: list[dict]) -> object:
    return make_ledger(Partners=[PANDA], Products=PRODUCTS, Pool=POOL_20, Clients=clients)


def test_recovery_reduces_the_contract_it_was_computed_for() -> None:
    once, cands = _apply(_two(TWO_CONTRACTS), AS_OF)
    # the second contract: L 4, U 1, D = 2027-12-02 − 2027-02-01 = 304, T = 365:
    # min(3, floor(3 × 304 / 365)) = min(3, 2) = 2
    assert cands[["licences", "devices_used", "recoverable"]].values.tolist() == [[4, 1, 2]]
    row = once["Clients"].iloc[-1]
    assert (row["licences"], row["contract_start"]) == (3, pd.Timestamp("2026-12-02"))
    book = replay_ledger(once)
    assert book.errors == []
    assert book.contracts["licences"].tolist() == [11, 1]  # not 8 and 4
    assert book.balances(AS_OF).annual["available"].tolist() == [20 - 11 - 4 + 2]  # 7
    twice, again = _apply(once, AS_OF)
    assert again.empty  # nothing recoverable is left: the pool stays at 7, not 9
    assert replay_ledger(twice).balances(AS_OF).annual["available"].tolist() == [7]


def test_a_total_recovery_of_the_second_contract_ends_it() -> None:
    clients = [TWO_CONTRACTS[0], {**TWO_CONTRACTS[1], "devices_used": 0, "auto_renew": True}]
    once, cands = _apply(_two(clients), AS_OF)
    assert cands["recoverable"].tolist() == [3]  # min(4, floor(4 × 304 / 365)) = 3
    book = replay_ledger(once)
    second = book.contracts.iloc[1]
    assert (second["licences"], second["end"]) == (0, AS_OF)  # ended on the recovery date
    assert book.contracts.iloc[0]["licences"] == 11
    # so December 2027, the month its end fell in, renews nothing (it renewed 4 before)
    first = pd.Timestamp("2027-12-01")
    plan = plan_renewals(book.contracts_at(first), book.balances(first), month="2027-12", run="r")
    assert plan.lines.empty


def _old_row(**extra: object) -> dict:
    """A recovery row as written before contract_start existed."""
    return {**C08, "licences": 3, "start": "2027-02-01", "type": "recovery", **extra}


def test_old_recovery_rows_resolve_to_their_contract_where_decidable() -> None:
    # by the contract's end it recorded
    book = replay_ledger(_two([*TWO_CONTRACTS, _old_row(end="2027-12-02", devices_used=1)]))
    assert book.errors == [] and book.contracts["licences"].tolist() == [11, 1]
    # by its licences: 3 taken off + 1 used = the 4 of the second contract
    book = replay_ledger(_two([*TWO_CONTRACTS, _old_row(devices_used=1)]))
    assert book.errors == [] and book.contracts["licences"].tolist() == [11, 1]
    # one candidate only (the first holds too few): no recorded detail needed
    small = [{**TWO_CONTRACTS[0], "licences": 2}, TWO_CONTRACTS[1]]
    book = replay_ledger(_two([*small, _old_row()]))
    assert book.errors == [] and book.contracts["licences"].tolist() == [2, 1]


def test_an_old_recovery_row_that_fits_two_different_contracts_is_an_error() -> None:
    book = replay_ledger(_two([*TWO_CONTRACTS, _old_row()]))
    assert [str(e) for e in book.errors] == [
        "ledger.xlsx:Clients:N4: contract_start: recovery of 3 could reduce any of the contracts"
        " of client C08 / AD360 / term 1 (partner PA1) at rows 2, 3; fill contract_start with"
        " the start of the contract it reduces"
    ]
    # naming the contract settles it
    fixed = replay_ledger(_two([*TWO_CONTRACTS, _old_row(contract_start="2026-12-01")]))
    assert fixed.errors == [] and fixed.contracts["licences"].tolist() == [8, 4]


def test_identical_contracts_are_interchangeable() -> None:
    same = [{**C08, "licences": 4, "start": "2026-12-02", "devices_used": 1}] * 2
    book = replay_ledger(_two([*same, _old_row()]))
    assert book.errors == [] and book.contracts["licences"].tolist() == [1, 4]
