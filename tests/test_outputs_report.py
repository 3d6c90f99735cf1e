"""HTML report: escaping, CSP, no URLs, KPIs, charts, footer, empty input, scale, golden file."""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
import tempfile
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
import pytest
from babel.dates import format_date
from babel.numbers import format_decimal
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup, escape

from licreport import i18n
from licreport.outputs import filters, report, svg
from licreport.outputs.report import _rank_key, render_report, templates_dir, write_report
from tests.report_model import model_inputs

GOLDEN = Path(__file__).parent / "golden" / "report.html"
SCRIPT = "<script>alert(1)</script>"
PRODUCT = 'EDR & "Plus"'
SHA = "3f2a" * 16


def sample_inputs() -> dict[str, Any]:
    """render_report's arguments for `sample_docs` (the status model built from them)."""
    return model_inputs(**sample_docs())


def sample_docs() -> dict[str, Any]:
    """Two partners (Panda Security, WatchGuard), a hostile client name and product name."""
    status = {
        "as_of": "2026-01-23",
        "partners": [
            {
                "partner": "P001",
                "name": "Acme IT & Co",
                "provider": "Panda Security",
                "pool": [
                    {"product": "AD360", "term": 1, "available": 1200},
                    {"product": "AD360", "term": 2, "available": 40},
                    {"product": "AD360", "term": 3, "available": 15},
                    {"product": PRODUCT, "term": 1, "available": 7},
                ],
                "monthly_pool": [],
                "points_balance": 0,
                "trials": [{"product": "AD360", "available": True, "days": 30}],
                "expiring": [
                    {
                        "client": "C001",
                        "product": "AD360",
                        "term": 1,
                        "licences": 25,
                        "end": "2026-02-10",
                        "days_left": 18,
                    },
                    {
                        "client": "C011",
                        "product": PRODUCT,
                        "term": 3,
                        "licences": 10,
                        "end": "2026-03-31",
                        "days_left": 67,
                    },
                    {
                        "client": "C003",
                        "product": "AD360",
                        "term": "trial",
                        "licences": 5,
                        "end": "2026-01-30",
                        "days_left": 7,
                    },
                ],
                "recoverable": [
                    {"client": "C001", "product": "AD360", "term": 1, "recoverable": 6}
                ],
                "forecast": [],
            },
            {
                "partner": "W001",
                "name": "Northwind MSP",
                "provider": "WatchGuard",
                "pool": [
                    {"product": "AD360", "term": 1, "available": 60},
                    {"product": "AD360", "term": 3, "available": 20},
                ],
                "monthly_pool": [
                    {"product": "AD360", "available": 12},
                    {"product": PRODUCT, "available": 5},
                ],
                "points_balance": 345,
                "trials": [{"product": "AD360", "available": False, "days": 30}],
                "expiring": [
                    {
                        "client": "C020",
                        "product": "AD360",
                        "term": 1,
                        "licences": 40,
                        "end": "2026-04-15",
                        "days_left": 82,
                    }
                ],
                "recoverable": [
                    {"client": "C020", "product": "AD360", "term": 3, "recoverable": 4}
                ],
                "forecast": [
                    {
                        "product": "AD360",
                        "devices_due": 50,
                        "available": 12,
                        "shortfall": 38,
                        "points_needed": 114,
                    },
                    {
                        "product": PRODUCT,
                        "devices_due": 5,
                        "available": 5,
                        "shortfall": 0,
                        "points_needed": 0,
                    },
                ],
            },
        ],
    }
    renewal = {
        "month": "2026-01",
        "run": "R-2026-01",
        "already_applied": False,
        "partners": [
            {
                "partner": "W001",
                "lines": [
                    {
                        "client": "C010",
                        "product": "AD360",
                        "term": "monthly",
                        "requested": 30,
                        "renewed": 30,
                        "dropped": 0,
                        "licences": 30,
                        "points": 90,
                    },
                    {
                        "client": "C011",
                        "product": "AD360",
                        "term": "monthly",
                        "requested": 20,
                        "renewed": 8,
                        "dropped": 12,
                        "licences": 8,
                        "points": 24,
                    },
                ],
                "exchanged_points": 30,
                "monthly_pool_after": [{"product": "AD360", "available": 0}],
                "pool_after": [],
            },
            {
                "partner": "P001",
                "lines": [
                    {
                        "client": "C001",
                        "product": "AD360",
                        "term": 1,
                        "requested": 25,
                        "renewed": 20,
                        "dropped": 5,
                        "licences": 20,
                        "points": None,
                    }
                ],
                "exchanged_points": 0,
                "monthly_pool_after": [],
                "pool_after": [{"product": "AD360", "term": 1, "available": 1200}],
            },
        ],
    }
    pipeline = [
        {"partner": "P001", "month": "2026-02", "contracts": 2, "licences": 35},
        {"partner": "W001", "month": "2026-03", "contracts": 1, "licences": 10},
        {"partner": "P001", "month": "2026-05", "contracts": 3, "licences": 50},
        {"partner": "W001", "month": "2026-12", "contracts": 2, "licences": 20},
    ]
    meta = {
        "as_of": "2026-01-23",
        "month": "2026-01",
        "policy": "priority",
        "input_name": "acme-ledger.xlsx",
        "sha256": SHA,
        "version": "0.1.0",
        "client_names": {"C011": SCRIPT, "C001": "Contoso & Sons"},
    }
    history = [  # two recorded months; W001 ran both, P001 only January
        {"partner": "W001", "month": "2025-12", "requested": 50, "renewed": 45, "dropped": 5,
         "points_renewed": 135, "points_bought": 0, "points_credited": 300},
        {"partner": "W001", "month": "2026-01", "requested": 50, "renewed": 38, "dropped": 12,
         "points_renewed": 114, "points_bought": 30, "points_credited": 0},
        {"partner": "P001", "month": "2026-01", "requested": 25, "renewed": 20, "dropped": 5,
         "points_renewed": 0, "points_bought": 0, "points_credited": 0},
    ]  # fmt: skip
    return {
        "status": status,
        "renewal": renewal,
        "pipeline": pipeline,
        "meta": meta,
        "history": history,
    }


class _Page(HTMLParser):
    """Collects what the checks need: tags, attributes, text, style text, KPI values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self.kpis: dict[str, str] = {}
        self.metas: list[dict[str, str]] = []
        self._in: list[str] = []
        self._kpi: str | None = None
        self._footer = 0
        self.footer_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = {k: v or "" for k, v in attrs}
        for k, v in values.items():
            self.attrs.append((tag, k, v))
        if tag == "meta":
            self.metas.append(values)
        if tag == "footer":
            self._footer += 1
        if "data-kpi" in values:
            self._kpi = values["data-kpi"]
            self.kpis[self._kpi] = ""
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "footer":
            self._footer -= 1
        if self._kpi and tag == "span":
            self._kpi = None
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if self._in and self._in[-1] == "style":
            self.styles.append(data)
            return
        self.text.append(data)
        if self._footer:
            self.footer_text.append(data)
        if self._kpi:
            self.kpis[self._kpi] += data


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture(scope="module")
def html() -> str:
    return render_report(**sample_inputs())


@pytest.fixture(scope="module")
def page(html: str) -> _Page:
    return parse(html)


# --------------------------------------------------------------------------- safety


def test_hostile_text_is_escaped(html: str, page: _Page) -> None:
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert SCRIPT in " ".join(page.text)  # shown to the reader as text
    assert "EDR &amp; &#34;Plus&#34;" in html or "EDR &amp; &quot;Plus&quot;" in html
    assert PRODUCT in "".join(page.text)


def test_content_security_policy(page: _Page) -> None:
    csp = [
        m["content"]
        for m in page.metas
        if m.get("http-equiv", "").lower() == "content-security-policy"
    ]
    assert len(csp) == 1
    policy = csp[0]
    assert "default-src 'none'" in policy
    assert "style-src 'unsafe-inline'" in policy
    assert "script-src" not in policy  # no script at all: default-src 'none' blocks it
    assert "http" not in policy


def test_no_network_reference(html: str, page: _Page) -> None:
    for tag, name, value in page.attrs:
        if name in ("src", "href", "srcset", "action", "poster", "data", "xlink:href"):
            assert "//" not in value, (tag, name, value)
            assert value.startswith(("#", "data:")), (tag, name, value)
    for css in page.styles:
        assert "url(" not in css
        assert "@import" not in css
    assert "http://" not in html and "https://" not in html
    assert not {"script", "img", "iframe", "object", "embed", "link"} & set(page.tags) - {"link"}
    assert [v for t, k, v in page.attrs if t == "link" and k == "href"] == ["data:,"]


def test_print_styles(page: _Page) -> None:
    css = "".join(page.styles)
    assert "size: A4" in css and "margin: 12mm" in css
    assert "@media print" in css and "break-before: page" in css


# --------------------------------------------------------------------------- content


def test_kpis(page: _Page) -> None:
    assert page.kpis == {
        "partners": "2",
        "available": "1,342",
        "monthly": "17",
        "points": "345",
        "points_needed": "114",
        "at_risk": "0",  # inputs without an outlook: nothing at risk, nothing to buy
        "points_to_buy": "0",
        "dropped": "17",
        "expiring": "80",
        "recoverable": "10",
    }


def test_sections_and_figures(page: _Page) -> None:
    text = " ".join(" ".join(page.text).split())
    for heading in (
        "Available annual licences",
        "Renewal pipeline",
        "Recoverable licences",
        "Monthly pool and points needed next month",
        "Shortfall and dropped devices",
        "Acme IT & Co",
        "Northwind MSP",
    ):
        assert heading in text
    assert page.tags.count("svg") == 4  # pool, pipeline, monthly forecast, history
    assert "Contoso & Sons" in text and "C001" in text
    assert "Renewal run R-2026-01 for January 2026" in text
    assert "1 Feb 2026" in text  # forecast date: the 1st after as-of


def _section_text(html: str, section: str) -> str:
    """The text of one <section id=…> of the page, whitespace collapsed."""
    start = html.index(f'<section id="{section}"')
    page = parse(html[start : html.index("</section>", start)])
    return " ".join(" ".join(page.text).split())


def test_history_section_adds_up_every_partner(html: str) -> None:
    # 2025-12: W001 only; 2026-01: W001 (50/38/12) + P001 (25/20/5) = 75/58/17
    text = _section_text(html, "history")
    assert "Dec 2025 50 45 5 135 0 300" in text
    assert "Jan 2026 75 58 17 114 30 0" in text
    assert text.count(" 2025 ") + text.count(" 2026 ") >= 2


def test_footer(page: _Page) -> None:
    footer = " ".join(" ".join(page.footer_text).split())
    assert SHA in footer
    assert "23 Jan 2026" in footer and "2026-01-23" in footer
    assert "acme-ledger.xlsx" in footer and "licreport 0.1.0" in footer
    assert "ceil(device-days / 30)" in footer and "half-up" in footer
    assert "priority" in footer


def test_empty_lists_and_no_run() -> None:
    inputs = sample_docs()
    for p in inputs["status"]["partners"]:
        for key in ("pool", "monthly_pool", "trials", "expiring", "recoverable", "forecast"):
            p[key] = []
        p.pop("name")
    html = render_report(**model_inputs(inputs["status"], None, [], inputs["meta"]))
    page = parse(html)
    assert page.kpis["dropped"] == "—" and page.kpis["available"] == "0"
    assert "No renewal run in this report" in html
    assert (
        page.tags.count("svg") == 1
    )  # the empty pipeline chart; pool and forecast show a sentence instead


def test_no_partners_at_all() -> None:
    meta = {"as_of": "2026-01-23", "month": "2026-01"}
    html = render_report(**model_inputs({"as_of": "2026-01-23", "partners": []}, None, [], meta))
    assert "No partners in this ledger." in html
    run = {"month": "2026-01", "run": "R1", "already_applied": True, "partners": []}
    html = render_report(**model_inputs({"as_of": "2026-01-23", "partners": []}, run, [], meta))
    assert "already applied" in html


def test_deterministic() -> None:
    assert render_report(**sample_inputs()) == render_report(**sample_inputs())


def test_write_report_is_atomic(tmp_path: Path, html: str) -> None:
    target = tmp_path / "out" / "report-2026-01.html"
    write_report(target, html)
    write_report(target, html)
    assert target.read_text(encoding="utf-8") == html
    assert [p.name for p in target.parent.iterdir()] == [target.name]


def test_templates_found() -> None:
    assert (templates_dir() / "report.html.j2").is_file()


# --------------------------------------------------------------------------- filters, svg


@pytest.mark.parametrize(
    ("func", "args", "expected"),
    [
        (filters.number, (1234567,), "1,234,567"),
        (filters.number, (Decimal("1234.5"),), "1,234.5"),
        (filters.number, (2.005,), "2.01"),
        (filters.number, (None,), "—"),
        (filters.money, ("1234.505",), "1,234.51"),
        (filters.money, (Decimal("0.125"), "EUR"), "EUR 0.13"),
        (filters.percent, (Decimal("0.855"),), "86%"),
        (filters.date, ("2026-02-01",), "1 Feb 2026"),
        (filters.month_label, ("2026-02",), "February 2026"),
        (filters.month_label, ("2026-02", "short"), "Feb 2026"),
        (filters.pluralise, (1, "partner"), "1 partner"),
        (filters.pluralise, (1000, "partner"), "1,000 partners"),
        (filters.term, (3,), "3 years"),
        (filters.term, ("monthly",), "Monthly"),
        (filters.days, (0,), "today"),
    ],
)
def test_filters(func: Any, args: tuple[Any, ...], expected: str) -> None:
    assert func(*args) == expected


def test_svg_escapes_labels() -> None:
    chart = svg.stacked_bars([SCRIPT], [svg.Series('a "b" & c', [3.0], "#000")], title="<t>")
    assert "<script" not in chart and "&lt;script&gt;" in chart
    assert "&lt;t&gt;" in chart and "&#34;b&#34; &amp; c" in chart
    col = svg.column_chart([SCRIPT], [2.0], title="x", tooltips=["<b>"])
    assert "<script" not in col and "<b>" not in col
    assert svg.nice_ticks(7) == [0, 2, 4, 6, 8]


# --------------------------------------------------------------------------- scale


def distributor_inputs(partners: int = 1000, contracts: int = 100_000) -> dict[str, Any]:
    """1,000 partners, 100,000 expiring contracts, 12-month pipeline per partner."""
    base = sample_docs()
    per = contracts // partners
    products = [f"PRD{i:02d} & <x>" for i in range(12)]
    rows = []
    for i in range(partners):
        pid = f"P{i:04d}"
        wg = i % 2 == 1
        rows.append(
            {
                "partner": pid,
                "name": f"Partner {i} <b>&",
                "provider": "WatchGuard" if wg else "Panda Security",
                "pool": [
                    {"product": prod, "term": t, "available": (i * 7 + j) % 90}
                    for j, prod in enumerate(products)
                    for t in ((1, 3) if wg else (1, 2, 3))
                ],
                "monthly_pool": [{"product": prod, "available": i % 13} for prod in products]
                if wg
                else [],
                "points_balance": i * 3 if wg else 0,
                "trials": [{"product": prod, "available": True, "days": 30} for prod in products],
                "expiring": [
                    {
                        "client": f"{pid}-C{k:03d}",
                        "product": products[k % 12],
                        "term": 1 + k % 3,
                        "licences": 1 + k % 50,
                        "end": f"2026-0{2 + k % 3}-1{k % 10}",
                        "days_left": (i + k) % 91,
                    }
                    for k in range(per)
                ],
                "recoverable": [
                    {
                        "client": f"{pid}-C{k:03d}",
                        "product": products[k % 12],
                        "term": 1,
                        "recoverable": (i + k) % 17,
                    }
                    for k in range(20)
                ],
                "forecast": [
                    {
                        "product": prod,
                        "devices_due": 40,
                        "available": i % 13,
                        "shortfall": 40 - i % 13,
                        "points_needed": 3 * (40 - i % 13),
                    }
                    for prod in products
                ]
                if wg
                else [],
            }
        )
    pipeline = [
        {"partner": f"P{i:04d}", "month": f"2026-{m:02d}", "contracts": 8, "licences": 120 + i % 7}
        for i in range(partners)
        for m in range(1, 13)
    ]
    renewal = {
        "month": "2026-01",
        "run": "R-2026-01",
        "already_applied": False,
        "partners": [
            {
                "partner": f"P{i:04d}",
                "lines": [
                    {
                        "client": f"P{i:04d}-C{k:03d}",
                        "product": products[k % 12],
                        "term": "monthly",
                        "requested": 10,
                        "renewed": 10 - (i + k) % 4,
                        "dropped": (i + k) % 4,
                        "licences": 10 - (i + k) % 4,
                        "points": 3,
                    }
                    for k in range(50)
                ],
                "exchanged_points": 0,
                "monthly_pool_after": [],
                "pool_after": [],
            }
            for i in range(partners)
        ],
    }
    meta = copy.deepcopy(base["meta"])
    meta["client_names"] = {
        f"P{i:04d}-C{k:03d}": f"Client {k} of {i}" for i in range(50) for k in range(per)
    }
    return {
        "status": {"as_of": "2026-01-23", "partners": rows},
        "renewal": renewal,
        "pipeline": pipeline,
        "meta": meta,
    }


def test_distributor_scale_stays_small() -> None:
    docs = distributor_inputs()
    assert sum(len(p["expiring"]) for p in docs["status"]["partners"]) == 100_000
    html = render_report(**model_inputs(**docs))
    size = len(html.encode("utf-8"))
    assert size < 2_000_000, size
    page = parse(html)
    assert page.kpis["partners"] == "1,000"
    assert "+ 975 more partners not shown." in html
    assert "+ 990 more partners not shown in detail" in html
    assert "+ 99,975 more contracts not shown." in html
    assert "<b>" not in html
    assert page.tags.count("svg") == 3


# --------------------------------------------------------------------------- golden


def test_golden(html: str, update_golden: bool) -> None:
    if update_golden:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(html, encoding="utf-8", newline="\n")
    if not GOLDEN.exists():
        pytest.fail(f"{GOLDEN} missing: run pytest --update-golden")
    expected = GOLDEN.read_text(encoding="utf-8")
    if html != expected:
        diff = next(
            (i for i, (a, b) in enumerate(zip(html, expected, strict=False)) if a != b),
            min(len(html), len(expected)),
        )
        context = re.sub(r"\s+", " ", html[max(0, diff - 80) : diff + 80])
        pytest.fail(
            f"report differs from {GOLDEN.name} at char {diff}: …{context}… "
            "(pytest --update-golden to accept)"
        )


def test_partners_rank_by_risk_then_dropped_then_activity() -> None:
    """SPEC §7: at risk over the horizon, then dropped devices of the run, then activity;
    next month's shortfall is not a key of its own (it is part of what is at risk)."""

    def row(pid: str, at_risk: int, dropped: int, shortfall: int, available: int) -> dict:
        zero = Decimal(0)
        return {"id": pid, "at_risk": Decimal(at_risk), "dropped": Decimal(dropped),
                "shortfall": Decimal(shortfall), "available": Decimal(available),
                "monthly": zero, "expiring_licences": zero, "recoverable": zero,
                "pipeline": zero}  # fmt: skip

    rows = [
        row("A", 10, 0, 10, 5),  # ties B on risk and dropped; less activity
        row("B", 10, 0, 0, 50),
        row("C", 10, 3, 0, 0),  # as much at risk, more dropped
        row("D", 40, 0, 0, 0),  # most at risk
        row("E", 0, 0, 0, 0),
    ]
    assert [r["id"] for r in sorted(rows, key=_rank_key)] == ["D", "C", "B", "A", "E"]


@settings(max_examples=50, deadline=None)
@given(
    shorts=st.lists(st.integers(1, 4), min_size=0, max_size=40),
    n=st.integers(1, 10),
)
def test_the_largest_clients_at_risk_are_taken_from_the_candidates(
    shorts: list[int], n: int
) -> None:
    """The report makes rows only of the clients at risk that can be shown: the `n`
    largest (ties on the shortfall ordered by month, partner, client) are the same."""
    import heapq

    frame = pd.DataFrame(
        {
            "partner": [f"P{i % 3}" for i in range(len(shorts))],
            "client": [f"C{(i * 7) % 11:02d}" for i in range(len(shorts))],
            "month": [f"2027-0{1 + i % 4}" for i in range(len(shorts))],
            "short": pd.Series(shorts, dtype="int64"),
        }
    )
    every = report._rows(frame)
    picked = report._rows(report._largest_short(frame, n))
    key = report._at_risk_key
    assert heapq.nsmallest(n, picked, key=key) == heapq.nsmallest(n, every, key=key)
    assert len(picked) <= len(every)


# --------------------------------------------------------------------------- compiled templates


def test_compiled_templates_are_cached_and_a_bad_cache_is_no_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    compiled: list[str] = []
    compile_ = jinja2.Environment.compile

    def counted(self: jinja2.Environment, source: Any, name: Any = None, *a: Any) -> Any:
        compiled.append(name)
        return compile_(self, source, name, *a)

    monkeypatch.setattr(jinja2.Environment, "compile", counted)
    report.make_environment().get_template(report.TEMPLATE)
    folder = tmp_path / f"_jinja2-cache-{os.getuid()}"
    cached = list(folder.iterdir())
    assert compiled == [report.TEMPLATE] and len(cached) == 1
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    report.make_environment().get_template(report.TEMPLATE)
    assert compiled == [report.TEMPLATE]  # the second run loads it

    cut = len(jinja2.bccache.bc_magic) + 1  # cut short in the checksum: compiled again
    cached[0].write_bytes(cached[0].read_bytes()[:cut])
    report.make_environment().get_template(report.TEMPLATE)
    assert compiled == [report.TEMPLATE] * 2

    def full(*_: Any, **__: Any) -> Any:
        raise OSError(28, "No space left on device")

    cached[0].unlink()
    with monkeypatch.context() as m:  # cannot be written: compiled, no error
        m.setattr(jinja2.bccache.tempfile, "NamedTemporaryFile", full)
        report.make_environment().get_template(report.TEMPLATE)
    assert compiled == [report.TEMPLATE] * 3 and not list(folder.iterdir())

    folder.rmdir()
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    folder.symlink_to(tmp_path / "elsewhere")  # not a folder of ours: not used
    env = report.make_environment()
    assert env.bytecode_cache is None
    env.get_template(report.TEMPLATE)
    assert not list((tmp_path / "elsewhere").iterdir())


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_the_report_s_gettext_is_jinja2_s_newstyle_gettext(
    lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`_gettext_callables` (each message translated once, no context call) renders what
    jinja2's own newstyle callables render, in every language."""
    ours = render_report(**sample_inputs(), lang=lang)
    monkeypatch.setattr(report, "_gettext_callables", lambda formats: {})
    assert render_report(**sample_inputs(), lang=lang) == ours
    assert 'lang="' + lang in ours


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_gettext_pluralize_and_pgettext_are_jinja2_s(
    lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = (
        '{{ _("Renewal run") }}|{{ _("100%% <sure>") }}|{{ pgettext("renewal run", "none") }}|'
        "{% for n in (1, 2, 5) %}{% trans count=n, num=name %}"
        "+ {{ num }} more partner not shown in detail (see the partner table above and the "
        "workbook's Status sheet).{% pluralize count %}+ {{ num }} more partners not shown in "
        "detail (see the partner table above and the workbook's Status sheet).{% endtrans %}"
        "{% endfor %}|{% trans who=name %}{{ who }} & co{% endtrans %}"
    )
    formats = filters.Formats(lang)
    ours = report.make_environment(formats=formats).from_string(source).render(name="<b>")
    monkeypatch.setattr(report, "_gettext_callables", lambda formats: {})
    jinja = report.make_environment(formats=formats).from_string(source).render(name="<b>")
    assert ours == jinja and "&lt;b&gt;" in ours and "100% <sure>" in ours  # messages are markup


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_messages_without_variables_are_translated_when_the_template_compiles(
    lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`_StaticMessages`: a message with no variables (and no "%") is its translation in
    the compiled template, not a call at render time; the page is what the callables
    render, wherever the message goes (written out, filtered, joined, kept, a macro's
    argument), and a call that is not the global ``_`` is left alone."""
    source = (
        '{% macro cell(v) %}[{{ v }}]{% endmacro %}{{ _("Renewal run") }}|'
        '{{ _("Renewal run")|upper }}|{{ _("Renewal run") ~ "<" }}|{% set t = _("Dropped") %}'
        '{{ t }}|{{ cell(_("Points")) }}|{{ pgettext("renewal run", "none") }}|'
        '{{ gettext("Monthly pool &amp; points") }}|{{ _("100%% <sure>") }}|'
        '{{ _("Renewed", n=1) }}|{{ d._("Renewal run") }}|{{ _(name) }}'
    )
    called: list[tuple[str, ...]] = []

    def rendered(**values: Any) -> str:
        env = report.make_environment(formats=filters.Formats(lang))
        for name in ("_", "gettext", "pgettext"):
            f = env.globals[name]
            env.globals[name] = lambda *a, _f=f, **k: called.append(a) or _f(*a, **k)
        return env.from_string(source).render(**values)

    values = {"d": {"_": str.upper}, "name": "Dropped"}
    ours = rendered(**values)
    assert called == [("100%% <sure>",), ("Renewed",), ("Dropped",)]
    monkeypatch.setattr(report, "_bytecode_cache", lambda formats: None)
    sample = render_report(**sample_inputs(), lang=lang)

    monkeypatch.setattr(report._StaticMessages, "filter_stream", lambda self, stream: stream)
    assert rendered(**values) == ours and len(called) == 3 + 10  # 7 were compiled
    assert render_report(**sample_inputs(), lang=lang) == sample
    assert "100% <sure>" in ours and "&lt;|" in ours and "|RENEWAL RUN|" in ours
    assert ("Renewal run" in ours) == ("&amp; points" in ours) == (lang == "en")


def test_a_template_compiles_once_per_language_and_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compiled templates hold their language's messages: the bytecode cache keeps one per
    language, and a changed catalogue is another key (the template's source is the same)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    pages = {lang: render_report(**sample_inputs(), lang=lang) for lang in ("en", "de", "en")}
    folder = tmp_path / f"_jinja2-cache-{os.getuid()}"
    cached = sorted(f.name.split("-", 2)[-1] for f in folder.iterdir())
    de = report._compiled_variant(filters.Formats("de")).split("-", 1)[1]
    assert cached == [f"{de}.cache"] * 2 + ["en.cache"] * 2  # the template and its macros
    assert pages["en"] != pages["de"]
    assert render_report(**sample_inputs(), lang="de") == pages["de"]  # from the cache

    variants = {report._compiled_variant(filters.Formats(lang)) for lang in i18n.LANGUAGES}
    assert len(variants) == len(i18n.LANGUAGES)
    assert all(v.startswith(report.COMPILED + "-") for v in variants)
    before = report._compiled_variant(filters.Formats("de"))
    changed = tmp_path / "messages.mo"
    changed.write_bytes(i18n.catalogue_path("de").read_bytes() + b"\0")
    monkeypatch.setattr(i18n, "catalogue_path", lambda lang: changed)
    assert report._compiled_variant(filters.Formats("de")) != before


@given(st.integers(-(10**30), 10**30))
def test_whole_numbers_take_the_short_path_to_the_same_text(value: int) -> None:
    assert filters.number(value) == filters.number(Decimal(value)) == f"{value:,}"
    assert filters.to_decimal(value) == Decimal(value)
    if abs(value) < 10**20:  # past the context's 28 digits quantize refuses either way
        assert filters.number(value, 2) == filters.number(Decimal(value), 2)


@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**70), 2**70).map(float))
def test_a_chart_s_float_takes_the_short_path_to_its_decimal_s_text(value: float) -> None:
    """The charts' floats: shown as the shortest decimal that reads back as the float
    (`to_decimal`), whole ones past 2**53 included (2**60 is 1,152,921,504,606,847,000)."""
    assert filters.to_decimal(value) == Decimal(repr(value))
    assert filters.number(value) == filters.number(Decimal(repr(value)))
    assert filters.number(float(2**60)) == "1,152,921,504,606,847,000"


@pytest.mark.parametrize("lang", [lang for lang in i18n.LANGUAGES if lang != i18n.DEFAULT])
def test_a_language_s_whole_numbers_are_laid_out_once_as_babel_lays_them_out(lang: str) -> None:
    formats = filters.Formats(lang)
    locale = i18n.babel_locale(lang)
    for value in (0, 7, -7, 999, 1_000, 1_234, -12_345, 10**9, 10**20):
        want = format_decimal(int(value), locale=locale)
        for shown in (value, Decimal(value), float(value), Decimal(value).scaleb(0)):
            assert formats.number(shown) == want, (value, shown)
    assert formats.number(1_234) is formats.number(1_234)  # the second from the cache


@pytest.mark.parametrize("lang", [lang for lang in i18n.LANGUAGES if lang != i18n.DEFAULT])
def test_a_language_s_days_are_laid_out_once_as_babel_lays_them_out(lang: str) -> None:
    formats = filters.Formats(lang)
    locale = i18n.babel_locale(lang)
    for day in (dt.date(2026, 2, 1), dt.date(1999, 12, 31), dt.date(2026, 11, 30)):
        want = format_date(day, "medium", locale=locale)
        for shown in (day, dt.datetime(day.year, day.month, day.day, 13), pd.Timestamp(day),
                      day.isoformat(), f" {day.isoformat()}T08:00"):  # fmt: skip
            assert formats.date(shown) == want, (day, shown)
    assert formats.date("not a day") == "not a day" and formats.date(None) == filters.DASH
    assert formats.date(dt.date(2026, 2, 1)) is formats.date("2026-02-01")  # from the cache


def test_a_dict_s_fields_read_as_jinja2_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """`_Environment.getattr` takes a plain dict's item at once; jinja2 tries the attribute
    first. Same result: an item, a dict method of the same name, a missing field, and
    objects that are not plain dicts."""

    class Row(dict):  # not a plain dict: jinja2's order
        extra = "attribute"

    source = (
        '{{ d.a }}|{{ d.items()|list|length }}|{{ d.get("a") }}|{{ d.keys is defined }}|'
        "{{ d.missing is defined }}|{{ n.real }}|{{ r.extra }}|{{ r.b }}|{{ d.a.b is defined }}"
    )
    values = {"d": {"a": 1, "items": 2, "get": 3, "keys": 4}, "n": 5, "r": Row(b=6, extra=7)}
    ours = report.make_environment().from_string(source).render(**values)
    sample = render_report(**sample_inputs())
    with pytest.raises(jinja2.UndefinedError, match="missing"):
        report.make_environment().from_string("{{ d.missing }}").render(**values)

    monkeypatch.setattr(report._Environment, "getattr", jinja2.Environment.getattr)
    assert report.make_environment().from_string(source).render(**values) == ours
    assert ours == "1|4|1|True|False|5|attribute|6|False"
    assert render_report(**sample_inputs()) == sample


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_month_labels_are_made_once_per_month_and_style(lang: str) -> None:
    formats = filters.Formats(lang)
    for value in ("2026-02", "2026-12", "2025-02", "", "not a month"):
        for style in ("long", "short", "abbr"):
            made = formats._month_label(value, style)
            assert formats.month_label(value, style) == made
            assert formats.month_label(value, style) is formats.month_label(value, style)
    assert formats.month_label(pd.Timestamp("2026-02-10").date()) == formats.month_label("2026-02")
    assert len({formats.month_label("2026-02", s) for s in ("long", "short", "abbr")}) == 3


def test_client_names_are_the_dict_of_the_clients_rows() -> None:
    """`ClientNames` answers as ``dict(zip(ids, names))`` of the rows with both an id and
    a name does: a later row of an id wins, an id without a name (or no id) is absent."""
    from licreport.ledger import model  # noqa: F401  (pandas' Python string storage)
    from licreport.outputs.report import ClientNames

    rng = np.random.default_rng(3)
    ids = [f"C{k:03d}" for k in rng.integers(0, 400, 30_000)] + [None, "C999", "Ç1", "c001"]
    names = [f"Name {k}" for k in rng.integers(0, 50, 30_000)] + ["lost", None, "é", "lower"]
    frame = pd.DataFrame({"id": pd.array(ids, dtype="str"), "name": pd.array(names, dtype="str")})
    named = frame.dropna()
    want = dict(zip(named["id"].tolist(), named["name"].tolist(), strict=True))
    got = ClientNames(frame["id"], frame["name"])
    assert dict(got.items()) == want and len(got) == len(want)
    assert all(got[k] == v for k, v in want.items())
    assert got.get("C999", "") == "" and got.get("zz", "") == "" and "C999" not in got


def test_written_values_are_escaped_as_jinja2_escapes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The report's templates (`report._Template`) write values out as plain text
    (`filters.html_text`) where jinja2 makes a Markup of each: the same page, escaped the
    same, wherever the values go (written out, kept by a macro, a `{% set %}` block, a
    filter block, a call block, a translated message)."""

    class Html:
        def __html__(self) -> str:
            return "<i>safe</i>"

    source = (
        "{% macro cell(v) %}<td>{{ v }}</td>{% endmacro %}"
        "{% macro wrap() %}[{{ caller() }}]{% endmacro %}"
        "{{ s }}|{{ m }}|{{ h }}|{{ n }}|{{ d }}|{{ none }}|{{ s ~ m }}|{{ cell(s) }}|"
        "{% set kept %}{{ s }}{{ m }}{% endset %}{{ kept }}|{{ kept|length }}|"
        "{% filter upper %}{{ s }}{% endfilter %}|{% call wrap() %}{{ s }}{% endcall %}|"
        "{% trans who=s %}{{ who }} & co{% endtrans %}|{{ _('Renewal run') }}|{{ s|e }}"
    )
    values = {
        "s": "<script>alert('x') & \"y\"</script>",
        "m": Markup("<b>bold</b>"),
        "h": Html(),
        "n": 12,
        "d": Decimal("3.50"),
    }
    ours = report.make_environment().from_string(source).render(**values)
    sample = render_report(**sample_inputs(), lang="de")

    monkeypatch.setattr(report._Environment, "template_class", jinja2.Template)
    assert report.make_environment().from_string(source).render(**values) == ours
    assert render_report(**sample_inputs(), lang="de") == sample
    assert "<script>" not in ours and "&lt;script&gt;alert(&#39;x&#39;) &amp; &#34;y&#34;" in ours
    assert "<b>bold</b>" in ours and "<i>safe</i>" in ours
    for value in [*values.values(), None, "", "plain"]:
        assert filters.html_text(value) == str(escape(value))
