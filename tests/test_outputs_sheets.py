"""The computed sheets as a finance reader prints them: one table per sheet, print setup,
one term vocabulary, ended contracts shown as ended, a chart of the partners most at risk."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from licreport import api
from licreport.outputs import sheets
from licreport.outputs.filters import term
from licreport.outputs.sheets import SUMMARY_SERIES, risk_chart, summary_sheet
from licreport.outputs.terms import term_label, term_labels

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "ledger.xlsx"
COMPUTED = ("Status", "Partner summary", "Contracts", "Forecast", "Buying list", "Checks")


@pytest.fixture(scope="module")
def december(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sheets")
    api.reconcile(SAMPLE, api.RunOptions("2026-12", exchange=True), api.Outputs(out))
    return out / "ledger-2026-12.xlsx"


@pytest.mark.parametrize(
    ("value", "label"),
    [(1, "1 year"), (3, "3 years"), ("2", "2 years"), (3.0, "3 years"), ("monthly", "Monthly"),
     ("TRIAL", "Trial"), (None, ""), (float("nan"), "")],
)  # fmt: skip
def test_one_term_vocabulary(value: object, label: str) -> None:
    assert term_label(value) == label
    assert term(value) == (label or "—")  # the report's filter says the same
    assert term_labels(pd.Series([value], dtype=object)).tolist() == [label]


def test_terms_read_the_same_in_every_sheet(december: Path) -> None:
    wb = openpyxl.load_workbook(december, read_only=True)
    seen: set[str] = set()
    for name in ("Status", "Contracts", "Forecast", "Buying list", "Checks"):
        rows = list(wb[name].iter_rows(values_only=True))
        col = rows[0].index("term")
        seen |= {r[col] for r in rows[1:] if r[col]}
    assert seen == {"1 year", "2 years", "3 years", "Monthly", "Trial"}


def test_every_computed_sheet_prints_one_page_wide_with_its_header_on_each_page(
    december: Path,
) -> None:
    wb = openpyxl.load_workbook(december)
    for name in COMPUTED:
        ws = wb[name]
        assert ws.page_setup.orientation == "landscape", name
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0), name
        assert ws.sheet_properties.pageSetUpPr.fitToPage, name
        assert ws.page_setup.paperSize == 9, name  # A4
        assert ws.print_title_rows == "$1:$1", name
        assert ws.freeze_panes == "A2", name
        assert ws.auto_filter.ref.startswith("A1:"), name
        header = [c.font for c in ws[1] if c.value is not None]
        assert all(f.b and f.name for f in header), name  # bold with a font name


def test_print_titles_are_not_duplicated_by_a_second_run(december: Path, tmp_path: Path) -> None:
    api.reconcile(december, api.RunOptions("2027-01", exchange=True), api.Outputs(tmp_path))
    with zipfile.ZipFile(tmp_path / "ledger-2027-01.xlsx") as z:
        xml = z.read("xl/workbook.xml").decode()
    # + the template's own sheets (init writes print titles on each of them)
    template = len(openpyxl.load_workbook(SAMPLE, read_only=True).sheetnames)
    assert xml.count('name="_xlnm.Print_Titles"') == len(COMPUTED) + template


def test_one_table_per_sheet(december: Path) -> None:
    wb = openpyxl.load_workbook(december)
    status = wb["Status"]
    # the filter covers the whole sheet: no second table beside or below it (the chart's
    # data is Partner summary's table, not cells of its own on Status)
    assert status.auto_filter.ref == f"A1:I{status.max_row}"
    assert status.max_column == 9
    (chart,) = status._charts
    refs = {s.val.numRef.f for s in chart.series} | {chart.series[0].cat.strRef.f}
    assert all(r.startswith("'Partner summary'!") for r in refs)


def test_ended_contracts_are_shown_as_ended(december: Path) -> None:
    rows = list(openpyxl.load_workbook(december, read_only=True)["Contracts"].values)
    head = rows[0]
    by = {r[head.index("client")] + " " + str(r[head.index("end")]): r for r in rows[1:]}
    # C-ATL-004 cancelled its monthly PM on 2026-09-01: 91 days before 2026-12-01
    atl = by["C-ATL-004 2026-09-01 00:00:00"]
    assert atl[head.index("status")] == "ended" and atl[head.index("days_left")] is None
    days = [r[head.index("days_left")] for r in rows[1:]]
    assert all(d is None or d >= 0 for d in days)
    statuses = {r[head.index("status")] for r in rows[1:]}
    assert statuses <= {"active", "ended", "not started", "inactive"}
    active = [r for r in rows[1:] if r[head.index("status")] == "active" and r[head.index("end")]]
    assert all(r[head.index("days_left")] is not None for r in active)


def test_the_chart_shows_the_partners_most_at_risk(december: Path) -> None:
    book = openpyxl.load_workbook(december)
    ws = book["Partner summary"]
    rows = list(ws.values)
    head = rows[0]
    # SPEC §7 sums over the horizon (tests/golden): CBT 460 monthly devices, ATL 10 + 261,
    # IBX 45 annual licences, NRD 10; the most at risk first
    assert [(r[0], r[head.index("at_risk")]) for r in rows[1:]] == [
        ("CBT", 460), ("ATL", 271), ("IBX", 45), ("NRD", 10),
    ]  # fmt: skip
    # The chart is on Status (SPEC §5), below its table, plotting Partner summary's rows.
    assert not ws._charts
    (chart,) = book["Status"]._charts
    assert chart.anchor._from.row == book["Status"].max_row + 2  # two blank rows below
    assert [s.tx.v for s in chart.series] == list(SUMMARY_SERIES.values())
    assert chart.series[0].cat.strRef.f == "'Partner summary'!$A$2:$A$5"
    assert chart.series[0].val.numRef.f == "'Partner summary'!$E$2:$E$5"
    assert chart.series[1].val.numRef.f == "'Partner summary'!$F$2:$F$5"
    assert chart.legend.legendPos == "b"


def test_no_empty_series_and_only_the_top_partners(monkeypatch: pytest.MonkeyPatch) -> None:
    n = 14
    summary = pd.DataFrame(
        {
            "partner": [f"P{i:02d}" for i in range(n)],
            "provider": "Panda Security",
            "currency": "EUR",
            "at_risk": list(range(n)),
            "annual_at_risk": list(range(n)),
            "monthly_at_risk": 0,
            "points_to_buy": 0,
            "licences_to_buy": 0,
            "estimated_total": None,
            "recoverable": 0,
            "unlicensed": 0,
        }
    )
    monkeypatch.setattr("licreport.outputs.sheets.partner_summary", lambda view: summary)

    class View:
        partners = pd.DataFrame({"partner": summary["partner"], "name": "x"})

    sheet = summary_sheet(View())  # type: ignore[arg-type]
    chart = risk_chart(sheet)
    assert chart is not None and chart.source == "Partner summary"
    assert chart.values == ("annual_at_risk",)  # the all-zero monthly series is left out
    assert chart.rows == 10  # the ten most at risk of 13 partners with anything at risk
    assert sheet.frame["partner"].tolist()[:3] == ["P13", "P12", "P11"]
    assert "top 10" in chart.title
    monkeypatch.setattr(
        "licreport.outputs.sheets.partner_summary",
        lambda view: summary.assign(at_risk=0, annual_at_risk=0),
    )
    assert risk_chart(summary_sheet(View())) is None  # type: ignore[arg-type]  # none at risk


def test_clients_short_joined_as_a_groupby_would() -> None:
    """Forecast's clients_short: the rows of each group in order, "client short" joined
    with ", "; a blank key has no group (as in a groupby).  Joined by Arrow, the same
    Series as the Python join per group, which a blank client still takes."""
    rng = np.random.default_rng(7)
    n = 500
    keys = ["partner", "month", "kind", "product", "term"]
    risk = pd.DataFrame(
        {
            "partner": pd.Series(rng.choice(["P1", "P2", "P3", None], n), dtype="str"),
            "month": rng.choice(["2027-01", "2027-02"], n),
            "kind": rng.choice(["annual", "monthly"], n),
            "product": rng.choice(["AD360", "FE"], n),
            "term": rng.choice(["1", "3", "monthly"], n),
            "client": [f"C{i}" for i in rng.integers(0, 50, n)],
            "short": rng.integers(1, 9, n),
        }
    )
    text = risk["client"] + " " + risk["short"].astype(str)
    expected = risk.assign(text=text).groupby(keys, sort=False)["text"].agg(", ".join)
    got = sheets._joined(risk, keys)
    assert got.index.equals(expected.index)
    assert got.tolist() == expected.tolist()
    assert sheets._joined(risk.iloc[:0], keys).empty
    pd.testing.assert_series_equal(got, sheets._joined_by_python(risk, keys))
    # a blank client has no text for Arrow: joined by Python (as "nan 3"), as before
    row = int(np.flatnonzero(risk[keys].notna().all(axis=1))[0])
    blank = risk.assign(client=risk["client"].where(risk.index != row, None))
    by_python = sheets._joined_by_python(blank, keys)
    pd.testing.assert_series_equal(sheets._joined(blank, keys), by_python)
    assert not by_python.equals(got)
