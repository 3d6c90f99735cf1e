"""The status model's report totals (rules.status.Totals), hand-worked on the two-partner
documents of the report tests."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pandas as pd
import pytest

from licreport.rules import status
from tests.report_model import model_inputs, view_from
from tests.test_outputs_report import sample_docs


def totals() -> status.Totals:
    return model_inputs(**sample_docs())["totals"]


def rows(frame: pd.DataFrame, keys: list[str], value: str) -> dict[tuple, int]:
    return {tuple(str(r[k]) for k in keys): int(r[value]) for r in frame.to_dict("records")}


def test_available_by_product_term_per_partner_and_overall() -> None:
    t = totals()
    # P001: AD360 1200/40/15 and EDR 7 (1-year); W001: AD360 60 (1) and 20 (3), monthly 12 + 5
    assert rows(
        t.available[t.available["partner"] == "W001"], ["product", "term"], "available"
    ) == {
        ("AD360", "1"): 60,
        ("AD360", "3"): 20,
        ("AD360", "monthly"): 12,
        ('EDR & "Plus"', "monthly"): 5,
    }
    every = status.overall(t)
    assert rows(every.available, ["product", "term"], "available") == {
        ("AD360", "1"): 1260,
        ("AD360", "2"): 40,
        ("AD360", "3"): 35,
        ("AD360", "monthly"): 12,
        ('EDR & "Plus"', "1"): 7,
        ('EDR & "Plus"', "monthly"): 5,
    }
    assert rows(every.by_term, ["term"], "available") == {("1",): 1267, ("2",): 40, ("3",): 35}
    assert rows(every.by_product, ["product"], "available") == {
        ("AD360",): 1335,
        ('EDR & "Plus"',): 7,
    }
    total = status.summary_total(t.partners)
    assert total["available"] == 1335 + 7 == 1342  # the KPI is the matrix's total
    assert total["monthly"] == 17 and total["points"] == 345


def test_monthly_by_product_joins_pool_and_forecast() -> None:
    every = status.overall(totals())
    got = {r["product"]: r for r in every.monthly.to_dict("records")}
    assert got["AD360"]["pool"] == 12 and got["AD360"]["devices_due"] == 50
    assert got["AD360"]["shortfall"] == 38 and got["AD360"]["points_needed"] == 114
    assert got['EDR & "Plus"']["pool"] == 5 and got['EDR & "Plus"']["shortfall"] == 0
    total = status.summary_total(totals().partners)
    assert (total["devices_due"], total["monthly_available"], total["shortfall"]) == (55, 17, 38)


def test_run_totals_per_partner_and_overall() -> None:
    t = totals()
    run = {r["partner"]: r for r in t.run.to_dict("records")}
    # W001: 30 + 20 requested, 30 + 8 renewed, 12 dropped (C011), points 90 + 24, 30 exchanged
    assert {k: run["W001"][k] for k in status.RUN_COLUMNS[1:]} == {
        "lines": 2, "requested": 50, "renewed": 38, "dropped": 12, "points": 114,
        "exchanged": 30, "dropped_lines": 1, "dropped_clients": 1,
    }  # fmt: skip
    assert run["P001"]["points"] is None  # an annual line has no points
    every = status.overall(t).run.to_dict("records")[0]
    assert (every["requested"], every["renewed"], every["dropped"]) == (75, 58, 17)
    assert every["points"] == 114 and every["dropped_lines"] == 2 and every["lines"] == 3
    assert status.summary_total(t.partners)["dropped"] == 17


def test_expiry_buckets() -> None:
    t = totals()
    # P001: 18 days (25), 7 days (5) -> 0–30; 67 days (10) -> 61–90; W001: 82 days (40)
    per = {(r["partner"], r["bucket"]): (r["contracts"], r["licences"]) for r in
           t.expiry.to_dict("records")}  # fmt: skip
    assert per == {("P001", 0): (2, 30), ("P001", 2): (1, 10), ("W001", 2): (1, 40)}
    every = {r["bucket"]: (r["contracts"], r["licences"]) for r in
             status.overall(t).expiry.to_dict("records")}  # fmt: skip
    assert every == {0: (2, 30), 2: (2, 50)}


def test_clients_at_risk_one_row_per_client_first_month_largest_short() -> None:
    assert totals().at_risk.empty  # the documents have no outlook
    risk = pd.DataFrame(
        [
            ("P001", "2027-02", "annual", "AD360", "1", "C001", "Contoso", 8),
            ("P001", "2027-01", "annual", "AD360", "1", "C001", "Contoso", 5),
            ("W001", "2027-01", "monthly", "AD360", "monthly", "C011", "x", 3),
        ],
        columns=["partner", "month", "kind", "product", "term", "client", "client_name", "short"],
    )
    view = view_from(sample_docs()["status"], [])
    outlook = replace(view.outlook, at_risk=risk)
    got = status.clients_at_risk(outlook).to_dict("records")
    assert [(r["partner"], r["client"], r["month"], r["months"], r["short"]) for r in got] == [
        ("P001", "C001", "2027-01", 2, 8),
        ("W001", "C011", "2027-01", 1, 3),
    ]


def test_money_by_currency_never_adds_across_currencies() -> None:
    partners = pd.DataFrame(
        {
            "currency": ["EUR", "SEK", "EUR", "EUR"],
            "spend": [Decimal("10.005"), Decimal("7"), None, Decimal("0.005")],
        }
    )
    got = status.money_by_currency(partners, "spend").to_dict("records")
    assert got == [
        {"currency": "EUR", "amount": Decimal("10.010")},  # exact: rounded only when shown
        {"currency": "SEK", "amount": Decimal("7")},
    ]


def test_history_overall_adds_partners_per_month() -> None:
    every = status.overall(totals()).history
    got = {r["month"]: (r["requested"], r["renewed"], r["dropped"]) for r in
           every.to_dict("records")}  # fmt: skip
    assert got == {"2025-12": (50, 45, 5), "2026-01": (75, 58, 17)}


@pytest.mark.parametrize("seed", range(6))
def test_clients_at_risk_is_the_groupby_it_replaces(seed: int) -> None:
    """Grouped on sort keys, the rows a groupby on (partner, client, product, term) gives:
    its order, the first client name and kind that are not blank, the first month, the
    number of months and the largest shortfall; rows with a blank key part left out."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = 3_000

    def pick(values: list, blank: float = 0.0) -> pd.Series:
        got = [values[i] for i in rng.integers(len(values), size=n)]
        return pd.Series([None if rng.random() < blank else v for v in got], dtype="str")

    risk = pd.DataFrame(
        {
            "partner": pick(["P2", "P10", "P1", "é"], blank=0.01),
            "month": pick(["2027-01", "2027-03", "2026-12"]),
            "kind": pick(["annual", "monthly"], blank=0.2),
            "product": pick(["AD360", "EPP"]),
            "term": pick(["1", "2", "monthly"], blank=0.01),
            "client": pick([f"C{k}" for k in range(400)] + ["c1", "Z"], blank=0.01),
            "client_name": pick(["Contoso", "Élan", "=x"], blank=0.5),
            "short": rng.integers(1, 50, n),
        }
    )
    keys = ["partner", "client", "product", "term"]
    codes, months = pd.factorize(risk["month"], sort=True)
    want = (
        risk.assign(term=risk["term"].astype(str), month_code=codes)
        .groupby(keys, sort=True)
        .agg(
            client_name=("client_name", "first"),
            kind=("kind", "first"),
            month_code=("month_code", "min"),
            months=("month", "size"),
            short=("short", "max"),
        )
        .reset_index()
    )
    want["month"] = months.take(want["month_code"].to_numpy())
    want["short"] = want["short"].astype("int64")
    outlook = replace(view_from(sample_docs()["status"], []).outlook, at_risk=risk)
    got = status.clients_at_risk(outlook)
    pd.testing.assert_frame_equal(got, want[got.columns.tolist()])


def test_month_text_of_each_kind_of_month_column() -> None:
    """`history.month_text` (made once per distinct value): dates, periods and text as
    ``YYYY-MM``, a blank staying blank, row for row."""
    from licreport.rules.history import month_text

    dates = pd.Series(pd.to_datetime(["2026-12-01", None, "2027-01-31", "2026-12-01"]))
    periods = pd.Series(pd.PeriodIndex(["2026-12", None, "2027-01", "2026-12"], freq="M"))
    text = pd.Series(["2026-12-01", None, "2027-01", "2026-12-15"], dtype="str")
    for column in (dates, periods, text):
        got = month_text(column)
        assert got.iloc[[0, 2, 3]].tolist() == ["2026-12", "2027-01", "2026-12"]
        assert pd.isna(got.iloc[1])
        assert got.index.equals(column.index)


def test_pipeline_counts_annual_and_trial_contracts_ending_in_each_month() -> None:
    """The report's renewal pipeline, hand-counted: as of 2026-12-10 the 12 months run
    from December 2026 to November 2027; a contract counts in the month of its end if it
    has started and has not ended, whatever its partner's other contracts do."""
    rows = [  # partner, kind, start, end, licences
        ("P1", "annual", "2026-01-01", "2026-12-31", 10),
        ("P1", "annual", "2026-02-01", "2026-12-15", 5),
        ("P1", "trial", "2026-11-20", "2026-12-20", 3),
        ("P1", "monthly", "2026-12-01", "2026-12-31", 99),
        ("P2", "annual", "2026-01-01", "2027-11-30", 7),
        ("P2", "annual", "2027-01-01", "2027-12-31", 50),
        ("P2", "annual", "2025-12-01", "2026-12-10", 8),
        ("P2", "annual", "2026-01-01", "2027-12-01", 9),
    ]
    contracts = pd.DataFrame(rows, columns=["partner", "kind", "start", "end", "licences"])
    contracts["start"] = pd.to_datetime(contracts["start"])
    contracts["end"] = pd.to_datetime(contracts["end"])
    got = status.pipeline(contracts, pd.Timestamp("2026-12-10"))
    # P1 December: the two annual contracts (10 + 5) and the trial (3); the monthly one
    # is not in the pipeline.  P2: the one ending 2027-11-30 (7); the one starting in
    # January has not started, the one ending on the status date has ended, the one
    # ending 2027-12-01 is past the twelfth month.
    assert got.to_dict("records") == [
        {"partner": "P1", "month": "2026-12", "contracts": 3, "licences": 18},
        {"partner": "P2", "month": "2027-11", "contracts": 1, "licences": 7},
    ]
