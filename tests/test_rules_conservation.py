"""Conservation (R8) and the renewal invariants, over random ledgers (Hypothesis)."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from licreport.rules.book import replay_ledger
from licreport.rules.conservation import conservation
from licreport.rules.renewal import plan_renewals
from tests.factory import PRODUCTS, WG, make_ledger

FIRST = pd.Timestamp("2026-12-01")
DATES = st.dates(min_value=pd.Timestamp("2025-01-01").date(), max_value=FIRST.date())


@st.composite
def ledgers(draw):
    products = st.sampled_from(["EPP", "AD360"])
    pool = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "date": DATES,
                    "product": products,
                    "term": st.sampled_from(["1", "3"]),
                    "quantity": st.integers(1, 40),
                    "type": st.sampled_from(["purchase", "recovery"]),
                }
            ),
            max_size=6,
        )
    )
    clients = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "client": st.sampled_from(["A", "B", "C", "D"]),
                    "product": products,
                    "term": st.sampled_from(["1", "3", "monthly"]),
                    "licences": st.integers(1, 30),
                    "start": DATES,
                    "auto_renew": st.booleans(),
                    "priority": st.one_of(st.none(), st.integers(1, 3)),
                }
            ),
            max_size=8,
        )
    )
    exchanges = draw(
        st.lists(
            st.one_of(
                st.fixed_dictionaries(
                    {"date": DATES, "type": st.just("credit"), "points": st.integers(1, 200)}
                ),
                st.fixed_dictionaries(
                    {
                        "date": DATES,
                        "type": st.just("exchange"),
                        "product": products,
                        "devices": st.integers(0, 40),
                    }
                ),
            ),
            max_size=6,
        )
    )
    return make_ledger(
        Partners=[WG], Products=PRODUCTS, Pool=pool, Clients=clients, Exchanges=exchanges
    )


@settings(max_examples=40, deadline=None)
@given(ledger=ledgers())
def test_conservation_holds_for_random_ledgers(ledger) -> None:
    book = replay_ledger(ledger)
    checks = conservation(ledger, book.base_contracts, book.exchanges, book.balances())
    assert (checks["difference"] == 0).all()


@settings(max_examples=40, deadline=None)
@given(
    ledger=ledgers(),
    policy=st.sampled_from(["priority", "smallest-first", "proportional"]),
    exchange=st.booleans(),
)
def test_renewal_never_takes_more_than_the_pool_holds(ledger, policy, exchange) -> None:
    book = replay_ledger(ledger)
    before = book.balances(FIRST)
    plan = plan_renewals(
        book.contracts_at(FIRST),
        before,
        month="2026-12",
        run="r",
        policy=policy,
        exchange=exchange,
    )
    lines = plan.lines
    assert (lines["renewed"] <= lines["requested"]).all()
    assert (lines["renewed"] >= 0).all()
    # monthly: never more than one licence per device per month
    monthly = lines[lines["term"] == "monthly"]
    used = monthly.groupby("product")["renewed"].sum()
    bought = plan.exchanges.groupby("product")["licences"].sum()
    have = before.monthly.set_index("product")["available"].clip(lower=0)
    assert (used.sub(have.add(bought, fill_value=0), fill_value=0) <= 0).all()
    annual = lines[lines["term"] != "monthly"].groupby(["product", "term"])["renewed"].sum()
    pool = before.annual.set_index(["product", "term"])["available"].clip(lower=0)
    assert (annual.sub(pool, fill_value=0) <= 0).all()
    # points after the run = credits - exchanges, never below zero
    spent = int(plan.exchanged_points.sum())
    points = int(before.points["available"].sum()) if len(before.points) else 0
    assert spent <= max(points, 0)
    # recording the run and replaying keeps conservation
    after = replay_ledger(
        ledger.with_rows(
            {"Renewals": lines.assign(run="r", month="2026-12"), "Exchanges": plan.exchanges}
        )
    )
    checks = conservation(after.ledger, after.base_contracts, after.exchanges, after.balances())
    assert (checks["difference"] == 0).all()
