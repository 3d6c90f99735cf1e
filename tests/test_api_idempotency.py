"""Running a month twice equals running it once (Hypothesis over random ledgers)."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from licreport import api
from licreport.rules.book import replay_ledger
from tests.factory import make_ledger
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


def _loaded(ledger) -> api.Loaded:
    return api.Loaded(ledger, replay_ledger(ledger))


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
    loaded = _loaded(ledger)
    assume(not loaded.book.errors)
    run = api.RunOptions("2026-12", policy, exchange)
    once = api._month_run(loaded, run, lambda step: None)
    assert once.plan is not None
    again = api._month_run(_loaded(ledger.with_rows(once.appended)), run, lambda step: None)
    if once.plan.lines.empty:
        # nothing was due: nothing is recorded, and a second run again finds nothing to do
        assert again.plan is not None and again.plan.lines.empty
        assert again.plan.exchanges.empty
        return
    assert again.plan is None
    doc, first = again.document, once.document
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


def test_already_applied_after_mixed_runs_reports_each_partners_own_run(tmp_path) -> None:
    # issue 10, defect 3: reconcile --partner IBX, then a full reconcile --exchange on its
    # output, then renew on the result: every partner got IBX's run and ATL 0 points
    from pathlib import Path

    sample = Path(__file__).resolve().parents[1] / "sample_data" / "ledger.xlsx"
    month = api.RunOptions("2026-12")
    first = api.reconcile(sample, month, api.Outputs(tmp_path / "a"), api.Options(partner="IBX"))
    ibx_run = first.document["run"]
    second = api.reconcile(
        tmp_path / "a" / "ledger-2026-12.xlsx",
        api.RunOptions("2026-12", exchange=True),
        api.Outputs(tmp_path / "b"),
    )
    full_run = second.document["run"]
    assert full_run != ibx_run
    bought = {p["partner"]: p["exchanged_points"] for p in second.document["partners"]}
    assert bought["ATL"] == 59  # the sample's design: ATL's 59 points buy monthly licences
    (output,) = [p for p in second.written if p.suffix == ".xlsx"]
    again = api.renew(output, month, api.Outputs(tmp_path / "c"))
    doc = again.document
    assert doc["already_applied"] is True and again.written == []
    assert doc["run"] == full_run  # the run recorded last
    runs = {p["partner"]: p["run"] for p in doc["partners"]}
    assert runs == {"ATL": full_run, "CBT": full_run, "IBX": ibx_run, "NRD": full_run}
    points = {p["partner"]: p["exchanged_points"] for p in doc["partners"]}
    assert points == bought | {"IBX": 0}
    lines = {p["partner"]: p["lines"] for p in doc["partners"]}
    assert lines["IBX"] == next(
        p["lines"] for p in first.document["partners"] if p["partner"] == "IBX"
    )
    assert f"{full_run} (ATL, CBT, NRD); {ibx_run} (IBX)" in again.summary[0]
