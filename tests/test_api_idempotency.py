"""A month applied by several runs, through the public api (the month rules themselves are
tested in tests/test_rules_months.py)."""

from __future__ import annotations

from licreport import api


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
