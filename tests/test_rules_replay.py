"""Replay (R7), exchange pricing (R1 on rows) and eligibility checks (R6)."""

from __future__ import annotations

import pandas as pd
import pytest

from licreport.rules.book import replay_ledger
from tests.factory import PANDA, PRODUCTS, WG, make_ledger


def _messages(ledger) -> list[str]:
    return [str(e) for e in replay_ledger(ledger).errors]


def test_seed_exchange_priced_by_proration() -> None:
    book = replay_ledger(
        make_ledger(
            Partners=[WG],
            Products=PRODUCTS,
            Exchanges=[
                {"date": "2026-01-01", "type": "credit", "points": 100},
                {"date": "2026-01-23", "type": "exchange", "product": "AD360", "devices": 30},
                {"date": "2026-01-23", "type": "exchange", "product": "EPP", "licences": 4},
            ],
            Clients=[
                {
                    "client": "C1",
                    "product": "AD360",
                    "term": "monthly",
                    "licences": 30,
                    "start": "2026-01-23",
                }
            ],
        )
    )
    assert book.errors == []
    ex = book.exchanges
    # 30 devices on 23 Jan: 9 days, 270 device-days, 9 licences, 27 points
    assert list(ex["licences"])[1:] == [9, 4]
    # 4 whole licences of EPP at 1 point each
    assert list(ex["points"])[1:] == [27, 4]
    b = book.balances()
    assert b.points["available"].tolist() == [100 - 27 - 4]
    # the contract consumed the 9 prorated AD360 licences on its start
    assert dict(zip(b.monthly["product"], b.monthly["available"], strict=True)) == {
        "AD360": 0,
        "EPP": 4,
    }


def test_filled_licences_and_points_must_agree() -> None:
    msgs = _messages(
        make_ledger(
            Partners=[WG],
            Products=PRODUCTS,
            Exchanges=[
                {"date": "2026-01-01", "type": "credit", "points": 100},
                {
                    "date": "2026-01-23",
                    "type": "exchange",
                    "product": "AD360",
                    "devices": 30,
                    "licences": 10,
                },
                {
                    "date": "2026-01-23",
                    "type": "exchange",
                    "product": "AD360",
                    "licences": 2,
                    "points": 5,
                },
            ],
        )
    )
    assert msgs == [
        "ledger.xlsx:Exchanges:G3: licences: 10 licences given, but 30 devices on 2026-01-23 "
        "need 9 (rule R1 in docs/rules.md)",
        "ledger.xlsx:Exchanges:F4: points: 5 points given, but 2 licences × 3 points = 6",
    ]


def test_pool_going_negative_names_the_row() -> None:
    msgs = _messages(
        make_ledger(
            Partners=[PANDA],
            Products=PRODUCTS,
            Pool=[{"date": "2026-01-05", "product": "EPP", "term": "1", "quantity": 10}],
            Clients=[
                {
                    "client": "A",
                    "product": "EPP",
                    "term": "1",
                    "licences": 6,
                    "start": "2026-02-01",
                },
                {
                    "client": "B",
                    "product": "EPP",
                    "term": "1",
                    "licences": 6,
                    "start": "2026-03-01",
                },
                {
                    "client": "C",
                    "product": "EPP",
                    "term": "1",
                    "licences": 6,
                    "start": "2026-04-01",
                },
            ],
        )
    )
    # only the first row that breaks it: 10 - 6 - 6 = -2 on 1 March (row 3)
    assert msgs == [
        "ledger.xlsx:Clients:F3: licences: partner PA1: this takes the EPP 1-year pool to -2 on "
        "2026-03-01 (balances never go negative)"
    ]


def test_on_one_date_inflows_come_first() -> None:
    msgs = _messages(
        make_ledger(
            Partners=[PANDA],
            Products=PRODUCTS,
            Clients=[
                {"client": "A", "product": "EPP", "term": "1", "licences": 6, "start": "2026-02-01"}
            ],
            Pool=[{"date": "2026-02-01", "product": "EPP", "term": "1", "quantity": 6}],
        )
    )
    assert msgs == []


def test_points_never_negative() -> None:
    msgs = _messages(
        make_ledger(
            Partners=[WG],
            Products=PRODUCTS,
            Exchanges=[
                {"date": "2026-01-01", "type": "credit", "points": 20},
                {"date": "2026-01-01", "type": "exchange", "product": "AD360", "licences": 7},
            ],
        )
    )
    assert msgs == [
        "ledger.xlsx:Exchanges:F3: points: partner WG1: this takes the points balance to -1 on "
        "2026-01-01 (balances never go negative)"
    ]


def test_provider_rules() -> None:
    msgs = _messages(
        make_ledger(
            Partners=[PANDA, WG],
            Products=PRODUCTS,
            Pool=[
                {
                    "date": "2026-01-05",
                    "partner": "WG1",
                    "product": "EPP",
                    "term": "2",
                    "quantity": 10,
                },
            ],
            Exchanges=[
                {"date": "2026-01-01", "partner": "PA1", "type": "credit", "points": 20},
            ],
            Clients=[
                {
                    "partner": "PA1",
                    "client": "X",
                    "product": "EPP",
                    "term": "monthly",
                    "licences": 1,
                    "start": "2026-01-02",
                },
            ],
        )
    )
    assert "ledger.xlsx:Pool:E2: term: 2-year licences are for Panda Security partners only" in msgs
    assert "ledger.xlsx:Exchanges:C2: type: MSSP Points are for WatchGuard partners only" in msgs
    assert (
        "ledger.xlsx:Clients:E2: term: monthly licences (MSSP) are for WatchGuard partners only"
        in msgs
    )


def test_catalogue_family_and_trial_rules() -> None:
    msgs = _messages(
        make_ledger(
            Partners=[WG],
            Products=[*PRODUCTS, {"product": "FUS", "family": "Fusion"}],
            Pool=[
                {"date": "2026-01-01", "product": "AD360", "term": "1", "quantity": 50},
                {"date": "2026-01-01", "product": "EDR", "term": "1", "quantity": 50},
                {"date": "2026-01-01", "product": "PM", "term": "1", "quantity": 50},
            ],
            Clients=[
                {
                    "client": "A",
                    "product": "AD360",
                    "term": "1",
                    "licences": 5,
                    "start": "2026-01-10",
                },
                # same family EDR while AD360 is active: error
                {
                    "client": "A",
                    "product": "EDR",
                    "term": "1",
                    "licences": 5,
                    "start": "2026-06-10",
                },
                # a module is its own family: fine
                {"client": "A", "product": "PM", "term": "1", "licences": 5, "start": "2026-06-10"},
                # a trial of the same family: fine
                {
                    "client": "B",
                    "product": "AD360",
                    "term": "1",
                    "licences": 5,
                    "start": "2026-01-10",
                },
                {
                    "client": "B",
                    "product": "AD360",
                    "term": "trial",
                    "licences": 5,
                    "start": "2026-01-10",
                },
                {
                    "client": "B",
                    "product": "AD360",
                    "term": "trial",
                    "licences": 5,
                    "start": "2026-05-10",
                },
                {
                    "client": "C",
                    "product": "FUS",
                    "term": "trial",
                    "licences": 1,
                    "start": "2026-05-10",
                },
                {
                    "client": "D",
                    "product": "NOPE",
                    "term": "1",
                    "licences": 1,
                    "start": "2026-05-10",
                },
            ],
            Exchanges=[
                {"date": "2026-01-01", "type": "credit", "points": 20},
                {"date": "2026-01-02", "type": "exchange", "product": "FUS", "licences": 1},
            ],
        )
    )
    expected = {
        "ledger.xlsx:Clients:D3: product: client A already holds AD360 of family EDR (row 2) at "
        "the same time; one product per family unless a trial",
        "ledger.xlsx:Clients:E7: term: a second trial of this product for this client",
        "ledger.xlsx:Clients:E8: term: this product has no trial (no trial_days in Products)",
        "ledger.xlsx:Clients:D9: product: unknown product (not in Products)",
        "ledger.xlsx:Exchanges:D3: product: product is not offered monthly (no points_per_licence "
        "in Products)",
    }
    assert expected <= set(msgs)
    assert not any("PM" in m for m in msgs)


def test_annual_renewal_lines_consume_the_pool() -> None:
    book = replay_ledger(
        make_ledger(
            Partners=[PANDA],
            Products=PRODUCTS,
            Pool=[{"date": "2025-01-05", "product": "EPP", "term": "1", "quantity": 10}],
            Clients=[
                {
                    "client": "A",
                    "product": "EPP",
                    "term": "1",
                    "licences": 6,
                    "start": "2025-02-01",
                    "auto_renew": True,
                }
            ],
            Renewals=[
                {
                    "run": "r",
                    "month": "2026-02",
                    "client": "A",
                    "product": "EPP",
                    "term": "1",
                    "requested": 6,
                    "renewed": 4,
                    "dropped": 2,
                    "licences": 4,
                }
            ],
        )
    )
    assert book.errors == []
    assert book.balances(pd.Timestamp("2026-01-31")).annual["available"].tolist() == [4]
    assert book.balances().annual["available"].tolist() == [0]
    assert book.contracts.iloc[0]["end"] == pd.Timestamp("2027-02-01")


@pytest.mark.parametrize("seed", range(6))
def test_several_products_is_the_nunique_groupby(seed: int) -> None:
    """`checks._several_products` flags the rows of each (partner, client, family) that
    holds two products or more, as ``transform("nunique") > 1`` did: blank keys are a
    group of their own, blank products are not counted."""
    import numpy as np

    from licreport.rules.checks import _several_products

    rng = np.random.default_rng(seed)
    n = 3_000

    def column(values: list, blank: float) -> pd.Series:
        picked = np.array(rng.choice(values, n), dtype=object)
        picked[rng.random(n) < blank] = None
        return pd.Series(picked, dtype="str")

    c = pd.DataFrame(
        {
            "partner": column(["P1", "P2"], 0.02),
            "client": column([f"C{i}" for i in range(400)], 0.02),
            "family": column(["EDR", "ENC", "PATCH"], 0.02),
            "product": column(["AD360", "EPP", "FE", "PM"], 0.1),
        }
    ).set_axis(rng.permutation(n) * 3)
    keys = ["partner", "client", "family"]
    want = c.groupby(keys, dropna=False, sort=False)["product"].transform("nunique") > 1
    got = _several_products(c, keys)
    np.testing.assert_array_equal(got, want.to_numpy(dtype=bool))
    assert 0 < got.sum() < n
