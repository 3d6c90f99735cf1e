"""Conservation (R8) and the renewal invariants, over random ledgers (Hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta

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
    clients, renewals = draw(history(clients))
    return make_ledger(
        Partners=[WG],
        Products=PRODUCTS,
        Pool=pool,
        Clients=clients,
        Exchanges=exchanges,
        Renewals=renewals,
    )


def _months_after(start: date, before: date) -> list[date]:
    """The 1sts after `start`'s month, before `before`."""
    out = []
    m = (pd.Timestamp(start) + pd.offsets.MonthBegin(1)).date()
    while m < before:
        out.append(m)
        m = (pd.Timestamp(m) + pd.offsets.MonthBegin(1)).date()
    return out


@st.composite
def history(draw, contracts: list[dict]) -> tuple[list[dict], list[dict]]:
    """What hid defects in issue 10: a second contract of one client, product and term;
    Clients recovery rows (with or without contract_start); earlier Renewals lines."""
    rows = [dict(c) for c in contracts]
    for c in list(rows):
        if draw(st.integers(0, 3)) == 0:  # the same key again, started later
            later = (pd.Timestamp(c["start"]) + pd.Timedelta(days=draw(st.integers(1, 90)))).date()
            if later <= FIRST.date():
                rows.append({**c, "start": later, "licences": draw(st.integers(1, 30))})
    renewals: list[dict] = []
    recoveries: list[dict] = []
    key = ("client", "product", "term")
    for c in rows:
        start = pd.Timestamp(c["start"]).date()
        if c["term"] == "monthly":
            for first in _months_after(start, FIRST.date()):
                if draw(st.integers(0, 2)) == 0:
                    got = draw(st.integers(0, c["licences"]))
                    renewals.append({**{k: c[k] for k in key}, "month": f"{first:%Y-%m}",
                                     "requested": c["licences"], "renewed": got,
                                     "dropped": c["licences"] - got, "licences": got})  # fmt: skip
            continue
        held = c["licences"]
        if draw(st.booleans()):  # a recovery within the contract's first year
            day = start + timedelta(days=draw(st.integers(0, 330)))
            if day <= FIRST.date():
                taken = draw(st.integers(1, held))
                held -= taken
                named = draw(st.booleans())
                recoveries.append({**{k: c[k] for k in key}, "licences": taken, "start": day,
                                   "devices_used": held, "type": "recovery",
                                   "contract_start": start if named else None})  # fmt: skip
        end = pd.Timestamp(start) + pd.DateOffset(years=int(c["term"]))
        first_of_end = end.replace(day=1)
        if held and c["auto_renew"] and first_of_end < FIRST:
            got = draw(st.integers(0, held))
            renewals.append({**{k: c[k] for k in key}, "month": f"{end:%Y-%m}",
                             "requested": held, "renewed": got, "dropped": held - got,
                             "licences": got})  # fmt: skip
    return rows + recoveries, [{"run": "r0", **r} for r in renewals]


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
