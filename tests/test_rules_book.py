"""`apply_rows`: a run's rows applied to the replayed book give the book a full replay of the
ledger with those rows gives (contracts, priced exchanges, movements, balances, errors)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from licreport.ledger.load import load_ledger
from licreport.rules import book as book_module
from licreport.rules import months
from licreport.rules.book import Book, apply_rows, replay_ledger
from tests.test_rules_months import funded_ledgers

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "ledger.xlsx"


def assert_same_book(got: Book, want: Book) -> None:
    for name in ("contracts", "exchanges", "moves"):
        pd.testing.assert_frame_equal(
            getattr(got, name).reset_index(drop=True), getattr(want, name).reset_index(drop=True)
        )
    assert sorted(map(str, got.errors)) == sorted(map(str, want.errors))
    assert got.last_event == want.last_event
    for at in (None, pd.Timestamp("2026-12-01"), pd.Timestamp("2027-01-01")):
        for part in ("annual", "monthly", "points"):
            pd.testing.assert_frame_equal(
                getattr(got.balances(at), part), getattr(want.balances(at), part)
            )


def _run(book: Book, month: str, **kw) -> months.MonthPlan:
    kw = {"policy": "priority", "exchange": False} | kw
    return months.plan_month(book, pd.Timestamp(f"{month}-01"), run=f"{month}-run", **kw)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    ledger=funded_ledgers(),
    policy=st.sampled_from(["priority", "smallest-first", "proportional"]),
    exchange=st.booleans(),
)
def test_applying_a_run_equals_replaying_the_ledger_with_it(ledger, policy, exchange) -> None:
    book = replay_ledger(ledger)
    assume(not book.errors)
    for month in ("2026-12", "2027-01"):  # the second month sees the first one's rows
        plan = _run(book, month, policy=policy, exchange=exchange)
        assert plan.plan is not None
        after = apply_rows(plan.book, plan.appended)
        assert_same_book(after, replay_ledger(plan.book.ledger.with_rows(plan.appended)))
        book = after


def test_a_run_that_breaks_a_later_row_is_an_error_either_way() -> None:
    # The sample's ATL and CBT exchange points late in November: an --exchange run for
    # October spends them first, so those later exchanges would take the points below zero.
    book = replay_ledger(load_ledger(SAMPLE)[0])
    assert book.errors == []
    plan = _run(book, "2026-10", exchange=True)
    after = apply_rows(plan.book, plan.appended)
    messages = [str(e) for e in after.errors]
    assert any("ATL: this takes the points balance to -120 on 2026-11-24" in m for m in messages)
    assert any("CBT: this takes the points balance to -23 on 2026-11-26" in m for m in messages)
    assert_same_book(after, replay_ledger(plan.book.ledger.with_rows(plan.appended)))


def test_the_sample_month_by_month(monkeypatch: pytest.MonkeyPatch) -> None:
    book = replay_ledger(load_ledger(SAMPLE)[0])

    def no_replay(ledger):
        raise AssertionError("apply_rows replayed the whole ledger")

    for month in ("2026-12", "2027-01", "2027-02"):
        plan = _run(book, month)
        with monkeypatch.context() as m:  # the run's rows alone: no full replay
            m.setattr(book_module, "replay_ledger", no_replay)
            after = apply_rows(plan.book, plan.appended)
        assert len(plan.appended["Renewals"]) > 0
        assert_same_book(after, replay_ledger(plan.book.ledger.with_rows(plan.appended)))
        book = after
