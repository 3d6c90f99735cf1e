"""The outlook (SPEC §7 O1–O6) and the findings of §8, with hand-worked numbers."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from licreport.rules.book import replay_ledger
from licreport.rules.outlook import Outlook, build_outlook, outlook_months
from licreport.rules.recovery import recoverable
from licreport.rules.renewal import plan_renewals
from licreport.rules.status import overuse
from tests.factory import PANDA, PRODUCTS, WG, make_ledger
from tests.test_rules_months import funded_ledgers

AS_OF = pd.Timestamp("2026-12-01")
TIERS = [{"min_quantity": 2, "discount": 10}, {"min_quantity": 50, "discount": 20}]


def outlook_of(ledger, as_of=AS_OF, horizon=3, policy="priority") -> Outlook:
    book = replay_ledger(ledger)
    assert not book.errors, book.errors
    contracts = book.contracts_at(as_of)
    first = outlook_months(as_of, horizon)[0]
    return build_outlook(
        contracts,
        book.balances(first),
        as_of,
        horizon,
        policy,
        recoverable=recoverable(contracts, as_of),
        partners=ledger["Partners"],
        pool=ledger["Pool"],
        tiers=ledger["Discounts"],
    )


def rows(o: Outlook) -> list[tuple]:
    cols = ["month", "kind", "product", "term", "due", "available", "served", "shortfall"]
    return [tuple(r) for r in o.rows[cols].itertuples(index=False)]


def test_months_start_strictly_after_the_status_date() -> None:
    got = [f"{m:%Y-%m}" for m in outlook_months(pd.Timestamp("2026-12-01"), 3)]
    assert got == ["2027-01", "2027-02", "2027-03"]
    assert f"{outlook_months(pd.Timestamp('2026-11-15'), 1)[0]:%Y-%m-%d}" == "2026-12-01"
    with pytest.raises(ValueError):
        outlook_months(AS_OF, 13)


def panda_ledger(**extra):
    """AD360 1-year: blocks 20 @ 50.00, 14 @ 45.00 (the latest priced) and 5 unpriced (later);
    A 8 licences ending 15 Jan 2027, B 9 ending 10 Feb 2027 (both auto-renew), C 10 licences
    using 4 until 1 Jun 2027.  Pool: 39 − 27 assigned = 12 available."""
    return make_ledger(
        Partners=[PANDA],
        Products=PRODUCTS,
        Discounts=TIERS,
        Pool=[
            {
                "date": "2025-12-01",
                "product": "AD360",
                "term": "1",
                "quantity": 20,
                "unit_price": "50",
            },
            {
                "date": "2026-03-01",
                "product": "AD360",
                "term": "1",
                "quantity": 14,
                "unit_price": "45",
            },
            {"date": "2026-04-01", "product": "AD360", "term": "1", "quantity": 5},
            *extra.get("pool", []),
        ],
        Clients=[
            {
                "client": "A",
                "client_name": "Alpha",
                "product": "AD360",
                "term": "1",
                "licences": 8,
                "start": "2026-01-15",
                "auto_renew": True,
            },
            {
                "client": "B",
                "client_name": "Beta",
                "product": "AD360",
                "term": "1",
                "licences": 9,
                "start": "2026-02-10",
                "auto_renew": True,
            },
            {
                "client": "C",
                "client_name": "Gamma",
                "product": "AD360",
                "term": "1",
                "licences": 10,
                "devices_used": 4,
                "start": "2026-06-01",
            },
            *extra.get("clients", []),
        ],
    )


def test_annual_shortfall_in_the_second_month() -> None:
    o = outlook_of(panda_ledger())
    # Jan: A asks 8 of 12 -> served; Feb: B asks 9 of the 4 left -> 5 short; A renewed
    # in January ends in January 2028, so it is not due again within the horizon
    assert rows(o) == [
        ("2027-01", "annual", "AD360", "1", 8, 12, 8, 0),
        ("2027-02", "annual", "AD360", "1", 9, 4, 4, 5),
    ]
    risk = o.at_risk
    assert risk[["month", "client", "client_name", "short"]].values.tolist() == [
        ["2027-02", "B", "Beta", 5]
    ]
    assert o.rows["points_needed"].isna().all()
    assert o.points[["points_needed", "points_balance", "points_to_buy"]].values.tolist() == [
        [0, 0, 0]
    ]


def test_buying_list_recovers_first_then_prices_the_latest_block_at_its_tier() -> None:
    o = outlook_of(panda_ledger())
    b = o.buy.iloc[0]
    # C: 6 unused, 182 of 365 days left on 1 Dec 2026 -> floor(6 × 182 / 365) = 2 recoverable
    assert (b["short"], b["recoverable"], b["to_buy"]) == (5, 2, 3)
    # latest priced block is 45.00 (the later block has no price); 3 licences -> 10 % tier
    assert b["unit_price"] == Decimal("45")
    assert b["estimated_cost"] == Decimal("121.5")  # 3 × 45 × 0.90


def test_unknown_price_and_the_price_of_another_partner() -> None:
    other = {"partner": "PA2", "name": "Other", "provider": "Panda Security"}
    ledger = make_ledger(
        Partners=[PANDA, other],
        Products=PRODUCTS,
        Pool=[
            {"date": "2024-01-01", "partner": "PA1", "product": "EPP", "term": "3", "quantity": 5},
            {
                "date": "2026-01-01",
                "partner": "PA2",
                "product": "EPP",
                "term": "1",
                "quantity": 1,
                "unit_price": "12.5",
            },
            {"date": "2025-01-01", "partner": "PA1", "product": "EPP", "term": "1", "quantity": 5},
        ],
        Clients=[
            {
                "partner": "PA1",
                "client": "X",
                "product": "EPP",
                "term": "3",
                "licences": 5,
                "start": "2024-01-20",
                "auto_renew": True,
            },
            {
                "partner": "PA1",
                "client": "Y",
                "product": "EPP",
                "term": "1",
                "licences": 1,
                "start": "2026-01-20",
                "auto_renew": True,
            },
            {
                "partner": "PA1",
                "client": "Y2",
                "product": "EPP",
                "term": "1",
                "licences": 4,
                "start": "2025-02-20",
                "end": "2027-01-25",
                "auto_renew": True,
            },
        ],
    )
    o = outlook_of(ledger)
    buy = o.buy.set_index(["product", "term"])
    # 3-year pool empty: 5 short, nobody ever priced an EPP 3-year block -> unknown
    assert buy.loc[("EPP", "3"), "to_buy"] == 5
    assert buy.loc[("EPP", "3"), "unit_price"] is None
    assert buy.loc[("EPP", "3"), "estimated_cost"] is None
    # 1-year: 5 due, pool 0 -> 5 short; PA1 has no priced block, PA2's 12.50 is used;
    # no Discounts sheet -> no tier
    assert buy.loc[("EPP", "1"), "to_buy"] == 5
    assert buy.loc[("EPP", "1"), "unit_price"] == Decimal("12.5")
    assert buy.loc[("EPP", "1"), "estimated_cost"] == Decimal("62.5")


def watchguard_ledger(credit: int):
    """AD360 (3 points): 50 monthly licences bought on 1 Oct 2026 (150 points); X (20
    devices) from 15 Oct: 17 days -> ceil(340 / 30) = 12 licences; pool 38 afterwards."""
    return make_ledger(
        Partners=[WG],
        Products=PRODUCTS,
        Exchanges=[
            {"date": "2026-09-01", "type": "credit", "points": credit},
            {"date": "2026-10-01", "type": "exchange", "product": "AD360", "licences": 50},
        ],
        Clients=[
            {
                "client": "X",
                "client_name": "Xeno",
                "product": "AD360",
                "term": "monthly",
                "licences": 20,
                "start": "2026-10-15",
            },
        ],
    )


def test_monthly_licences_carry_over_and_the_balance_counts_once() -> None:
    o = outlook_of(watchguard_ledger(credit=160))
    # pool 38 on 1 Jan: Jan serves 20 (18 left), Feb 18 of 20, Mar nothing
    assert rows(o) == [
        ("2027-01", "monthly", "AD360", "monthly", 20, 38, 20, 0),
        ("2027-02", "monthly", "AD360", "monthly", 20, 18, 18, 2),
        ("2027-03", "monthly", "AD360", "monthly", 20, 0, 0, 20),
    ]
    assert o.rows["points_needed"].tolist() == [0, 6, 60]
    # 66 points needed, 160 − 150 = 10 held: buy 56 (not 66 − 10 per month)
    p = o.points.iloc[0]
    assert (p["points_needed"], p["points_balance"], p["points_to_buy"]) == (66, 10, 56)
    assert o.buy.empty


def test_points_to_buy_is_never_negative() -> None:
    p = outlook_of(watchguard_ledger(credit=400)).points.iloc[0]
    assert (p["points_needed"], p["points_balance"], p["points_to_buy"]) == (66, 250, 0)


def test_exchange_would_keep_counts_what_the_points_held_would_buy() -> None:
    first = pd.Timestamp("2027-03-01")
    ledger = watchguard_ledger(credit=160)  # with X at 60 devices instead of 20
    ledger.tables["Clients"].frame.loc[0, "licences"] = 60
    book = replay_ledger(ledger)
    plan = plan_renewals(book.contracts_at(first), book.balances(first), month="2027-03", run="r")
    # 60 asked, 50 − ceil(60 × 17 / 30) = 50 − 34 = 16 in the pool -> 44 dropped; 10
    # points held buy floor(10 / 3) = 3 licences -> 3 devices kept
    assert int(plan.lines["dropped"].sum()) == 44
    assert plan.would_keep.to_dict() == {"WG1": 3}
    with_exchange = plan_renewals(
        book.contracts_at(first), book.balances(first), month="2027-03", run="r", exchange=True
    )
    assert int(with_exchange.lines["dropped"].sum()) == 44 - 3
    assert with_exchange.would_keep.empty


def test_overuse_is_listed_with_its_unlicensed_devices_and_nothing_to_recover() -> None:
    ledger = panda_ledger(
        clients=[
            {
                "client": "D",
                "client_name": "Delta",
                "product": "EPP",
                "term": "1",
                "licences": 10,
                "devices_used": 13,
                "start": "2026-05-01",
            },
        ],
        pool=[{"date": "2026-01-01", "product": "EPP", "term": "1", "quantity": 10}],
    )
    book = replay_ledger(ledger)
    assert not book.errors  # a finding, not a data error
    contracts = book.contracts_at(AS_OF)
    found = overuse(contracts)
    assert found[["client", "licences", "devices_used", "unlicensed"]].values.tolist() == [
        ["D", 10, 13, 3]
    ]
    assert "D" not in set(recoverable(contracts, AS_OF)["client"])


def test_a_recorded_run_of_an_outlook_month_is_not_counted_twice() -> None:
    from licreport.rules.outlook import without_recorded_runs

    ledger = watchguard_ledger(credit=160)
    book = replay_ledger(ledger)
    jan = pd.Timestamp("2027-01-01")
    plan = plan_renewals(book.contracts_at(jan), book.balances(jan), month="2027-01", run="r1")
    recorded = ledger.with_rows({"Renewals": plan.lines.assign(run="r1", month="2027-01")})
    assert replay_ledger(recorded).balances(jan).monthly["available"].tolist() == [18]
    as_of = pd.Timestamp("2026-12-15")
    before = outlook_of(ledger, as_of)
    stripped = without_recorded_runs(recorded, ["2027-01", "2027-02", "2027-03"])
    assert stripped is not None
    assert rows(outlook_of(stripped, as_of)) == rows(before)
    assert without_recorded_runs(ledger, ["2027-01"]) is None


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(ledger=funded_ledgers(), policy=st.sampled_from(["priority", "smallest-first",
                                                        "proportional"]))  # fmt: skip
def test_first_month_of_the_outlook_is_what_renew_drops(ledger, policy) -> None:
    """O4's consequence: nothing is dated after the status date (every date of the random
    ledgers is on or before 1 Dec 2026), so the January outlook equals what
    `renew --month 2027-01 --dry-run` finds, client by client."""
    book = replay_ledger(ledger)
    assume(not book.errors)
    o = outlook_of(ledger, AS_OF, horizon=2, policy=policy)
    first = pd.Timestamp("2027-01-01")
    plan = plan_renewals(
        book.contracts_at(first), book.balances(first), month="2027-01", run="r", policy=policy
    )
    lines = plan.lines[plan.lines["requested"] > 0]
    kind = lines["term"].map(lambda t: "monthly" if t == "monthly" else "annual")
    expected = (
        lines.assign(kind=kind)
        .groupby(["kind", "product", "term"])[["requested", "renewed", "dropped"]]
        .sum()
        .reset_index()
    )
    jan = o.rows[o.rows["month"] == "2027-01"]
    assert sorted(
        zip(jan["kind"], jan["product"], jan["term"], jan["due"], jan["served"], jan["shortfall"],
            strict=True)
    ) == sorted(
        zip(expected["kind"], expected["product"], expected["term"], expected["requested"],
            expected["renewed"], expected["dropped"], strict=True)
    )  # fmt: skip
    risk = o.at_risk[o.at_risk["month"] == "2027-01"]
    dropped = lines[lines["dropped"] > 0]
    got = zip(risk["client"], risk["product"], risk["term"], risk["short"], strict=True)
    want = zip(
        dropped["client"], dropped["product"], dropped["term"], dropped["dropped"], strict=True
    )
    assert sorted(got) == sorted(want)


@pytest.mark.parametrize("share", [0.5, 0.45, 0.2])
def test_the_outlook_of_two_partner_halves_is_the_outlook_of_all(tmp_path, share) -> None:
    """`status_model` projects each half of the partners on a core of its own: joined, the
    halves give the frames one projection of every partner gives, row for row (each
    month's frames are ordered by partner first), wherever the partners are cut."""
    from licreport import api
    from licreport.rules.outlook import joined, project, projection
    from licreport.rules.renewal import partner_halves
    from tests.test_benchmarks_generate import gen

    folder = gen.write_csv(gen.generate(0.02, 7), tmp_path / "ledger")
    book = api.load_clean(folder, api.Options()).book
    firsts = outlook_months(AS_OF, 3)
    contracts, at_f1 = book.contracts_at(AS_OF), book.balances(firsts[0])
    halves = partner_halves(contracts, at_f1, first_share=share)
    assert len(halves) == 2
    first, second = (set(c["partner"]) for c, _ in halves)
    assert max(first) < min(second) and len(first) + len(second) == contracts["partner"].nunique()
    # the first range ends with the partner that takes it to `share` of the contracts
    counts = contracts["partner"].value_counts()
    before = len(halves[0][0]) - counts[max(first)]
    assert before < share * len(contracts) <= len(halves[0][0])
    whole = project(contracts, at_f1, firsts)
    split = joined([projection(c, b, firsts) for c, b in halves])
    for one, two in zip(whole, split, strict=True):
        pd.testing.assert_frame_equal(one, two)
    rows_, at_risk, worklist = whole
    assert len(rows_) and len(at_risk) and len(worklist)  # every frame has rows to compare
    assert set(at_risk["month"]) == {f"{f:%Y-%m}" for f in firsts}


def test_fewer_than_two_partners_are_one_range() -> None:
    from licreport.rules.renewal import partner_halves

    book = replay_ledger(panda_ledger())
    contracts, at_f1 = book.contracts_at(AS_OF), book.balances(outlook_months(AS_OF, 1)[0])
    assert [c is contracts for c, _ in partner_halves(contracts, at_f1)] == [True]


@pytest.mark.parametrize("seed", range(6))
def test_client_names_are_the_merge_on_the_first_named_contract(seed: int) -> None:
    """`_client_names` names each row at risk as the left merge on the first contract with
    a name of its partner and client did: a client named twice keeps its first name, one
    never named (or of another partner) stays blank, months without rows stay None."""
    import numpy as np

    from licreport.rules.outlook import RISK_COLUMNS, _client_names

    rng = np.random.default_rng(seed)
    n = 500
    clients = [f"C{i:03d}" for i in range(60)]
    names = np.array([f"Client {i}" for i in range(90)] + [None] * 40, dtype=object)
    contracts = pd.DataFrame(
        {
            "partner": pd.Series(rng.choice(["P1", "P2", "P3"], n), dtype=object),
            "client": pd.Series(rng.choice(clients, n), dtype=object),
            "client_name": pd.Series(rng.choice(names, n), dtype=object),
        }
    )

    def risk(m: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "partner": pd.Series(rng.choice(["P1", "P2", "P3", "P4"], m), dtype=object),
                "month": "2027-01",
                "kind": "monthly",
                "product": "AD360",
                "term": "monthly",
                "client": pd.Series(rng.choice([*clients, "C999"], m), dtype=object),
                "short": rng.integers(1, 9, m),
            }
        ).set_axis(rng.permutation(m) + 7)  # rows of the month's lines, not 0..m-1

    risks = [risk(80), None, risk(120)]
    firsts = contracts.dropna(subset=["client_name"]).drop_duplicates(["partner", "client"])
    expected = [
        None if r is None else r.merge(firsts, on=["partner", "client"], how="left")[RISK_COLUMNS]
        for r in risks
    ]
    got = _client_names(contracts, risks)
    assert got[1] is None
    for g, e in zip(got, expected, strict=True):
        if e is not None:
            pd.testing.assert_frame_equal(g, e)
            assert e["client_name"].isna().any() and e["client_name"].notna().any()
    twice = contracts.dropna(subset=["client_name"]).groupby(["partner", "client"])
    assert (twice["client_name"].nunique() > 1).any()  # a client named differently twice
