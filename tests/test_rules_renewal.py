"""Monthly (R2) and annual (R3) renewal of one month, with the shortfall policies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from licreport.rules import renewal
from licreport.rules.book import replay_ledger
from licreport.rules.renewal import balances_after, plan_renewals
from tests.factory import PANDA, PRODUCTS, WG, make_ledger

FIRST = pd.Timestamp("2026-12-01")


def _plan(ledger, policy="priority", exchange=False):
    book = replay_ledger(ledger)
    assert book.errors == []
    before = book.balances(FIRST)
    plan = plan_renewals(
        book.contracts_at(FIRST),
        before,
        month="2026-12",
        run="2026-12-test",
        policy=policy,
        exchange=exchange,
    )
    return plan, before


def _monthly_ledger(points: int = 0) -> object:
    # 12 AD360 licences in the monthly pool on 1 December; clients need 10 + 5 + 8 = 23
    return make_ledger(
        Partners=[WG],
        Products=PRODUCTS,
        Exchanges=[
            {"date": "2026-10-01", "type": "credit", "points": 200 + points},
            # on the 1st: whole licences, 3 points each
            {"date": "2026-11-01", "type": "exchange", "product": "AD360", "licences": 23},
            {"date": "2026-12-01", "type": "exchange", "product": "AD360", "licences": 12},
        ],
        Clients=[
            {
                "client": "A",
                "product": "AD360",
                "term": "monthly",
                "licences": 10,
                "start": "2026-11-01",
                "priority": 2,
            },
            {
                "client": "B",
                "product": "AD360",
                "term": "monthly",
                "licences": 5,
                "start": "2026-11-01",
                "priority": 1,
            },
            {
                "client": "C",
                "product": "AD360",
                "term": "monthly",
                "licences": 8,
                "start": "2026-11-01",
            },
        ],
    )


@pytest.mark.parametrize(
    ("policy", "renewed"),
    [
        ("priority", {"A": 7, "B": 5, "C": 0}),
        ("smallest-first", {"A": 0, "B": 5, "C": 7}),
        # shares of 12: A 10*12/23 = 5.22, B 2.61, C 4.17 -> 5/2/4, leftover 1 to B (.61)
        ("proportional", {"A": 5, "B": 3, "C": 4}),
    ],
)
def test_monthly_shortfall_policies(policy: str, renewed: dict[str, int]) -> None:
    plan, _ = _plan(_monthly_ledger(), policy)
    got = dict(zip(plan.lines["client"], plan.lines["renewed"], strict=True))
    assert got == renewed
    lines = plan.lines.set_index("client")
    assert (lines["dropped"] == lines["requested"] - lines["renewed"]).all()
    # monthly lines carry their value in points: renewed x 3
    assert (lines["points"] == lines["renewed"] * 3).all()


def test_monthly_exchange_buys_missing_licences_as_far_as_points_go() -> None:
    # credits 200 - 69 (23 on 1 Nov) - 36 (12 on 1 Dec) = 95 points: 31 licences at 3
    plan, before = _plan(_monthly_ledger(), exchange=True)
    assert before.points["available"].tolist() == [95]
    assert plan.exchanges[["product", "licences", "points"]].to_dict("records") == [
        {"product": "AD360", "licences": 11, "points": 33}
    ]
    assert plan.exchanges["date"].tolist() == [FIRST]
    assert plan.lines["dropped"].sum() == 0
    after = balances_after(before, plan)
    assert after.points["available"].tolist() == [95 - 33]
    assert after.monthly["available"].tolist() == [0]


def test_monthly_exchange_limited_by_balance() -> None:
    ledger = _monthly_ledger(points=-95 + 6)  # only 6 points left: 2 licences
    plan, _ = _plan(ledger, exchange=True)
    assert plan.exchanges["licences"].tolist() == [2]
    assert plan.lines["renewed"].sum() == 14


def test_monthly_due_rules() -> None:
    ledger = make_ledger(
        Partners=[WG],
        Products=PRODUCTS,
        Exchanges=[
            {"date": "2026-10-01", "type": "credit", "points": 1000},
            {"date": "2026-11-01", "type": "exchange", "product": "EPP", "licences": 100},
        ],
        Clients=[
            {
                "client": "A",
                "product": "EPP",
                "term": "monthly",
                "licences": 1,
                "start": "2026-11-15",
            },
            # starts on the 1st of the run month: not due (it consumed on its start)
            {
                "client": "B",
                "product": "EPP",
                "term": "monthly",
                "licences": 1,
                "start": "2026-12-01",
            },
            # cancelled: end on the 1st
            {
                "client": "C",
                "product": "EPP",
                "term": "monthly",
                "licences": 1,
                "start": "2026-11-01",
                "end": "2026-12-01",
            },
            {
                "client": "D",
                "product": "EPP",
                "term": "monthly",
                "licences": 1,
                "start": "2026-11-01",
                "auto_renew": False,
            },
            # ends later: still due
            {
                "client": "E",
                "product": "EPP",
                "term": "monthly",
                "licences": 1,
                "start": "2026-11-01",
                "end": "2027-01-15",
            },
        ],
    )
    plan, _ = _plan(ledger)
    assert plan.lines["client"].tolist() == ["A", "E"]


def _annual_ledger() -> object:
    return make_ledger(
        Partners=[PANDA],
        Products=PRODUCTS,
        Pool=[
            {"date": "2025-01-02", "product": "EPP", "term": "1", "quantity": 23},
            {"date": "2026-11-20", "product": "EPP", "term": "1", "quantity": 12},
        ],
        Clients=[
            {
                "client": "A",
                "product": "EPP",
                "term": "1",
                "licences": 10,
                "start": "2025-12-05",
                "auto_renew": True,
                "priority": 2,
            },
            {
                "client": "B",
                "product": "EPP",
                "term": "1",
                "licences": 5,
                "start": "2025-12-20",
                "auto_renew": True,
                "priority": 1,
            },
            {
                "client": "C",
                "product": "EPP",
                "term": "1",
                "licences": 8,
                "start": "2025-12-31",
                "auto_renew": True,
            },
        ],
    )


@pytest.mark.parametrize(
    ("policy", "renewed"),
    [
        ("priority", {"A": 7, "B": 5, "C": 0}),
        ("smallest-first", {"A": 0, "B": 5, "C": 7}),
        ("proportional", {"A": 5, "B": 3, "C": 4}),
    ],
)
def test_annual_renewal_shares_a_short_pool(policy: str, renewed: dict[str, int]) -> None:
    plan, before = _plan(_annual_ledger(), policy)
    assert before.annual["available"].tolist() == [12]
    assert dict(zip(plan.lines["client"], plan.lines["renewed"], strict=True)) == renewed
    assert plan.lines["points"].isna().all()
    after = balances_after(before, plan)
    assert after.annual["available"].tolist() == [0]


def test_annual_renewal_extends_end_when_recorded() -> None:
    plan, _ = _plan(_annual_ledger(), "priority")
    ledger = _annual_ledger().with_rows(
        {"Renewals": plan.lines.assign(run=plan.run, month=plan.month)}
    )
    book = replay_ledger(ledger)
    assert book.errors == []
    ends = dict(zip(book.contracts["client"], book.contracts["end"], strict=True))
    assert ends == {
        "A": pd.Timestamp("2027-12-05"),
        "B": pd.Timestamp("2027-12-20"),
        "C": pd.Timestamp("2026-12-31"),  # not renewed: ends
    }
    assert book.contracts.set_index("client").at["A", "licences"] == 7
    assert book.balances().annual["available"].tolist() == [0]


def test_requests_are_the_groupby_in_key_order() -> None:
    """`_requests` groups by sort keys made once; the same frame as a pandas groupby of
    the keys in key order, blanks included (a blank key is a group of its own)."""
    rng = np.random.default_rng(11)
    n = 400
    due = pd.DataFrame(
        {
            "partner": pd.Series(rng.choice(["P2", "P1", "P10", None], n), dtype="str"),
            "client": pd.Series(rng.choice([f"C{i}" for i in range(30)] + [None], n), dtype="str"),
            "product": pd.Series(rng.choice(["FE", "AD360", None], n), dtype="str"),
            "term": pd.Series(rng.choice(["1", "3", None], n), dtype="str"),
            "licences": pd.array(rng.integers(1, 20, n), dtype="Int64"),
            "priority": pd.array(
                np.where(rng.random(n) < 0.3, None, rng.integers(1, 5, n)), dtype="Int64"
            ),
            "start": pd.to_datetime("2025-01-01") + pd.to_timedelta(rng.integers(0, 400, n), "D"),
            "points_per_licence": pd.array(
                np.where(rng.random(n) < 0.5, None, rng.integers(1, 9, n)), dtype="Int64"
            ),
        }
    )
    keys = ["partner", "client", "product", "term"]
    expected = (
        due.groupby(keys, sort=True, dropna=False)
        .agg(
            requested=("licences", "sum"),
            priority=("priority", "min"),
            start=("start", "min"),
            points_per_licence=("points_per_licence", "first"),
        )
        .reset_index()
    )
    got = renewal._requests(due, due["term"])
    pd.testing.assert_frame_equal(got, expected)
    assert got["partner"].isna().any() and got["client"].isna().any()  # blanks were grouped


def _buy_by_rows(monthly: pd.DataFrame, available: dict, points: pd.DataFrame) -> list:
    """The purchase as a loop over the short (partner, product) rows: the code `_buy`
    replaced, kept here as its reference."""
    need = (
        monthly.groupby(["partner", "product"], sort=True)
        .agg(requested=("requested", "sum"), ppl=("points_per_licence", "first"))
        .reset_index()
    )
    balance = points.set_index("partner")["available"].to_dict()
    rows = []
    for r in need.to_dict("records"):
        missing = max(r["requested"] - available.get((r["partner"], r["product"]), 0), 0)
        if not missing or pd.isna(r["ppl"]) or r["ppl"] <= 0:
            continue
        left = max(int(balance.get(r["partner"], 0)), 0)
        n = min(missing, left // int(r["ppl"]))
        if n:
            balance[r["partner"]] = left - n * int(r["ppl"])
            rows.append((r["partner"], r["product"], n, n * int(r["ppl"])))
    return rows


@pytest.mark.parametrize("seed", range(8))
def test_buy_is_the_loop_over_short_products(seed: int) -> None:
    """`_buy` buys a partner's short products one after the other (in code order) while
    its points last, every partner's k-th product at once: the same purchases as the loop
    over the rows, with pools missing, balances missing or negative, products without
    points and several products per partner; and `_pools` gives each (partner, product)
    one group, the same in the requests and the balances."""
    rng = np.random.default_rng(seed)
    n = 300
    partners = [f"P{i}" for i in range(25)]
    products = ["AD360", "EPP", "FE", "PM", "ART"]
    monthly = pd.DataFrame(
        {
            "partner": pd.Series(rng.choice(partners, n), dtype=object),
            "product": pd.Series(rng.choice(products, n), dtype=object),
            "requested": rng.integers(0, 30, n),
        }
    )
    ppl = {"AD360": 3, "EPP": 2, "FE": None, "PM": 1, "ART": 7}
    monthly["points_per_licence"] = pd.array(monthly["product"].map(ppl), dtype="Int64")
    pools = pd.DataFrame(
        [
            (p, q, int(rng.integers(-5, 60)))
            for p in partners
            for q in products
            if rng.random() < 0.6
        ],
        columns=["partner", "product", "available"],
    )
    points = pd.DataFrame(
        [(p, int(rng.integers(-20, 120))) for p in partners if rng.random() < 0.8],
        columns=["partner", "available"],
    )
    monthly["group"], available = renewal._pools(monthly, pools, ["partner", "product"])
    keys = zip(pools["partner"], pools["product"], strict=True)
    by_pool = dict(zip(keys, available.to_numpy(), strict=True))
    assert (available.to_numpy() >= 0).all() and available.index.is_unique
    same = monthly.groupby(["partner", "product"])["group"].nunique()
    assert (same == 1).all() and monthly.groupby("group")["partner"].nunique().max() == 1

    got = renewal._buy(monthly, available, points)
    expected = _buy_by_rows(monthly, by_pool, points)
    assert (
        list(got[["partner", "product", "licences", "points"]].itertuples(index=False, name=None))
        == expected
    )
    assert len(expected) > 3  # purchases were made, several partners with two products or more
    assert got.groupby("partner").size().max() > 1
