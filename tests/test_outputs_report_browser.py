"""The HTML report in headless Chromium: KPIs visible, charts drawn, no errors, no requests.

Skipped when Playwright or /usr/bin/chromium is missing, except under CI (the
CI environment installs both, so a missing one is a failure there).  Saves a
screenshot (screen and print media) to tests/artifacts/ for a human to look at.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from licreport.outputs.report import render_report, write_report

try:  # tests/ as a package, or as a plain folder on sys.path
    from tests.report_model import model_inputs
    from tests.test_outputs_report import distributor_inputs, sample_inputs
except ImportError:  # pragma: no cover
    from report_model import model_inputs  # type: ignore[no-redef]
    from test_outputs_report import (  # type: ignore[no-redef]
        distributor_inputs,
        sample_inputs,
    )

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


A4_CONTENT_PX = 703  # 210 mm - 2 x 12 mm margins, at 96 dpi
OVERFLOW_JS = """() => [...document.querySelectorAll('.table-wrap, figure, section')]
    .filter(e => e.scrollWidth > e.clientWidth + 1)
    .map(e => (e.closest('section') || e).id + ' ' + e.tagName.toLowerCase())"""


def _print_overflow(page: Any) -> list[str]:
    """Boxes whose content is wider than the printed page (it would be cut off on paper)."""
    wide = page.evaluate("document.documentElement.scrollWidth") > A4_CONTENT_PX
    return [*page.evaluate(OVERFLOW_JS), *(["page"] if wide else [])]


def _require(ok: bool, reason: str) -> None:
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: CI must install it)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require(False, "the playwright Python package is not installed (pip install playwright)")
    _require(CHROMIUM.is_file(), f"no Chromium at {CHROMIUM}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def test_report_in_chromium(chromium: Any, tmp_path: Path) -> None:
    report = tmp_path / "report-2026-01.html"
    write_report(report, render_report(**sample_inputs()))
    url = report.as_uri()

    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    console_errors: list[str] = []
    requests: list[str] = []
    failed: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console_errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(url, wait_until="load")

    expected = {
        "partners": "2",
        "available": "1,342",
        "monthly": "17",
        "points": "345",
        "points_needed": "114",
        "dropped": "17",
    }
    for key, value in expected.items():
        kpi = page.locator(f'[data-kpi="{key}"]')
        assert kpi.is_visible(), key
        assert kpi.inner_text().strip() == value, key
        box = kpi.bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0

    assert page.locator("svg.chart").count() == 4  # pool, pipeline, monthly, history
    for i in range(4):
        box = page.locator("svg.chart").nth(i).bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 60
    assert page.locator("svg.chart rect").count() > 10
    body = page.inner_text("body")
    assert "<script>alert(1)</script>" in body  # shown as text, never run
    assert page.evaluate("document.scripts.length") == 0
    # The page fits the viewport width: nothing overflows sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    page.emulate_media(media="print")
    page.set_viewport_size({"width": A4_CONTENT_PX, "height": 1123})
    assert _print_overflow(page) == []
    page.screenshot(path=str(ARTIFACTS / "report-print.png"), full_page=True)
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    (ARTIFACTS / "report.pdf").write_bytes(pdf)

    assert console_errors == []
    assert failed == []
    assert requests == [url]  # the document itself, nothing else
    page.close()


def test_distributor_scale_prints_within_a4(chromium: Any, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    write_report(report, render_report(**model_inputs(**distributor_inputs())))
    page = chromium.new_page(viewport={"width": A4_CONTENT_PX, "height": 1123})
    page.emulate_media(media="print")
    page.goto(report.as_uri())
    assert _print_overflow(page) == []
    assert page.locator("svg.chart").count() == 3
    page.close()


def test_narrow_screen(chromium: Any, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    write_report(report, render_report(**sample_inputs()))
    page = chromium.new_page(viewport={"width": 390, "height": 844})
    page.goto(report.as_uri())
    assert page.locator('[data-kpi="available"]').is_visible()
    # Wide tables scroll inside their own box; the page itself does not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-mobile.png"), full_page=True)
    page.close()


def test_sample_reconcile_report_in_chromium(chromium: Any, tmp_path: Path) -> None:
    """The report of the real monthly run: its KPIs are the run's own numbers."""
    from licreport import api

    sample = Path(__file__).resolve().parents[1] / "sample_data" / "ledger.xlsx"
    result = api.reconcile(sample, api.RunOptions("2026-12"), api.Outputs(tmp_path))
    dropped = sum(ln["dropped"] for p in result.document["partners"] for ln in p["lines"])
    report = tmp_path / "report-2026-12.html"
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri(), wait_until="load")
    assert page.locator('[data-kpi="partners"]').inner_text().strip() == "4"
    assert page.locator('[data-kpi="dropped"]').inner_text().strip() == f"{dropped:,}"
    assert page.locator("svg.chart").count() >= 2
    assert errors == [] and requests == [report.as_uri()]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-sample.png"), full_page=True)
    page.close()


def test_german_report_in_chromium(chromium: Any, tmp_path: Path) -> None:
    """The sample's December run with --lang de: German labels and number formats, lang
    attribute, charts drawn; on an A4 page no box overflows that does not already overflow
    in the English report (the sample's 12-column partner table is wider than A4 in both)."""
    from licreport import api

    sample = Path(__file__).resolve().parents[1] / "sample_data" / "ledger.xlsx"
    api.reconcile(sample, api.RunOptions("2026-12"), api.Outputs(tmp_path / "en"))
    page = chromium.new_page(viewport={"width": A4_CONTENT_PX, "height": 1123})
    page.emulate_media(media="print")
    page.goto((tmp_path / "en" / "report-2026-12.html").as_uri())
    english_overflow = set(_print_overflow(page))
    page.close()
    api.reconcile(sample, api.RunOptions("2026-12"), api.Outputs(tmp_path, lang="de"))
    report = tmp_path / "report-2026-12.html"
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri(), wait_until="load")
    assert page.evaluate("document.documentElement.lang") == "de"
    assert page.locator("h2", has_text="Übersicht").is_visible()
    assert page.locator("h2", has_text="Was zu kaufen ist").is_visible()
    assert page.locator('[data-kpi="partners"]').inner_text().strip() == "4"
    body = page.inner_text("body")
    assert "52.620,13\xa0€" in body or "52.620,13 €" in body  # money as de: 1.234,50 €
    assert "01.12.2026" in body  # the as-of date as de
    assert page.locator("svg.chart").count() >= 2
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.emulate_media(media="print")
    page.set_viewport_size({"width": A4_CONTENT_PX, "height": 1123})
    assert set(_print_overflow(page)) <= english_overflow
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-de-print.png"), full_page=True)
    assert errors == [] and requests == [report.as_uri()]
    page.close()
