"""The HTML status report (SPEC §5): one self-contained page for sales.

`render_report` turns the `status` / `renew` JSON documents and the 12-month
expiry pipeline into a view of aggregates and top-N lists (so the page stays
small at distributor scale), draws the inline SVG charts, and renders the
logic-free template with autoescape and StrictUndefined.  `write_report`
writes the page atomically.
"""

from __future__ import annotations

import heapq
import importlib.resources
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from licreport import i18n
from licreport.outputs import filters, svg
from licreport.outputs.filters import Formats, to_decimal

TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"

TOP_ROWS = 25
TOP_PARTNERS = 10
DETAIL_ROWS = 8
CHART_BARS = 15
PIPELINE_MONTHS = 12
MAX_PIPELINE_MONTHS = 24

TERM_ORDER = {"1": 0, "2": 1, "3": 2, "monthly": 3, "trial": 4}
TERM_COLORS = {"1": "#1d4e89", "2": "#5b8fc9", "3": "#a9c8e8"}
OTHER_COLOR = "#8c96a3"
COVERED, SHORTFALL, SPARE = "#2f6f4f", "#c2412d", "#c9d3de"
PIPELINE_COLOR = "#1d4e89"
HALF_WIDTH, FULL_WIDTH = 480, 1080  # chart viewBox widths: next to a table / full width

Row = dict[str, Any]
ZERO = Decimal(0)


# --------------------------------------------------------------------------- environment


def templates_dir() -> Path:
    """The folder holding report.html.j2: the installed package, else the checkout."""
    try:
        # A namespace package gives a MultiplexedPath: ask it for the file, not for str().
        candidate = importlib.resources.files("licreport.templates").joinpath(TEMPLATE)
        if isinstance(candidate, Path) and candidate.is_file():
            return candidate.parent
    except (ModuleNotFoundError, TypeError, ValueError):
        pass
    return Path(__file__).resolve().parents[2] / "templates"


def make_environment(
    folder: Path | None = None, formats: Formats = filters.ENGLISH
) -> jinja2.Environment:
    """The report's jinja2 environment in one language: autoescape, StrictUndefined, trimmed
    blocks, the language's filters and its gettext catalogue (`{% trans %}`, `_()`)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder or templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        formats.gettext, formats.ngettext, newstyle=True
    )
    env.globals["lang"] = formats.lang
    filters.register(env, formats)
    return env


def _stylesheet(env: jinja2.Environment) -> Markup:
    """report.css, inlined as is (our own file; never holds `</style`)."""
    assert env.loader is not None
    source, _, _ = env.loader.get_source(env, STYLESHEET)
    if "</" in source:
        raise ValueError(f"{STYLESHEET} must not contain '</'")
    return Markup(source.strip())


def stylesheet(env: jinja2.Environment) -> Markup:
    """The report's stylesheet for other pages of the same look (the match page)."""
    return _stylesheet(env)


# --------------------------------------------------------------------------- helpers


def _decimal(value: object) -> Decimal | None:
    """`to_decimal`, with a fast path for the plain ints the JSON documents hold."""
    if type(value) is int:  # not bool; the ABC checks of to_decimal cost more than this
        return Decimal(value)
    return to_decimal(value)


def _num(value: object) -> Decimal:
    """A count/points value as Decimal (blank or junk -> 0)."""
    d = _decimal(value)
    return ZERO if d is None else d


def _term(value: object) -> str:
    return str(value).strip().lower() if value is not None else ""


def _term_sort(term: str) -> tuple[int, str]:
    return TERM_ORDER.get(term, 9), term


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _month_add(ym: tuple[int, int], k: int) -> str:
    year, month = ym
    index = year * 12 + month - 1 + k
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _more(total: int, shown: int) -> int:
    return max(0, total - shown)


class _Names:
    """Id -> {id, name} cells for clients (names from meta) and partners (from status)."""

    def __init__(self, clients: Mapping[Any, Any] | None, partners: Mapping[str, str]) -> None:
        self.clients = {str(k): _text(v) for k, v in (clients or {}).items()}
        self.partners = dict(partners)

    @staticmethod
    def _cell(ident: object, names: Mapping[str, str]) -> Row:
        key = _text(ident)
        name = names.get(key, "")
        return {"id": key, "name": name if name and name != key else ""}

    def client(self, client: object) -> Row:
        return self._cell(client, self.clients)

    def partner(self, partner: object) -> Row:
        return self._cell(partner, self.partners)


# --------------------------------------------------------------------------- view model


def _partner_summaries(
    partners: Sequence[Mapping[str, Any]],
    renewal: Mapping[str, Any] | None,
    pipeline: Sequence[Mapping[str, Any]],
) -> list[Row]:
    """One row of per-partner KPIs, in input order."""
    dropped: dict[str, Decimal] = defaultdict(Decimal)
    for p in (renewal or {}).get("partners") or []:
        dropped[_text(p.get("partner"))] += sum(
            (_num(line.get("dropped")) for line in p.get("lines") or []), ZERO
        )
    pipe: dict[str, Decimal] = defaultdict(Decimal)
    for item in pipeline:
        pipe[_text(item.get("partner"))] += _num(item.get("licences"))
    rows = []
    for p in partners:
        pid = _text(p.get("partner"))
        provider = _text(p.get("provider"))
        monthly_ok = provider != "Panda Security"
        expiring = p.get("expiring") or []
        forecast = p.get("forecast") or []
        row: Row = {
            "id": pid,
            "name": _text(p.get("name")),
            "provider": provider,
            "available": sum((_num(x.get("available")) for x in p.get("pool") or []), ZERO),
            "monthly": sum((_num(x.get("available")) for x in p.get("monthly_pool") or []), ZERO)
            if monthly_ok
            else None,
            "points": _num(p.get("points_balance")) if monthly_ok else None,
            "points_needed": sum((_num(x.get("points_needed")) for x in forecast), ZERO)
            if monthly_ok
            else None,
            "shortfall": sum((_num(x.get("shortfall")) for x in forecast), ZERO),
            "dropped": dropped.get(pid, ZERO) if renewal is not None else None,
            "expiring_contracts": len(expiring),
            "expiring_licences": sum((_num(x.get("licences")) for x in expiring), ZERO),
            "recoverable": sum(
                (_num(x.get("recoverable")) for x in p.get("recoverable") or []), ZERO
            ),
            "pipeline": pipe.get(pid, ZERO),
            **_outlook_totals(p),
        }
        rows.append(row)
    return rows


def _outlook_totals(p: Mapping[str, Any]) -> Row:
    """A partner's outlook and money totals, as the status model computed them."""
    summary = p.get("summary") or {}
    buy = p.get("buy") or {}
    return {
        "currency": _text(p.get("currency")) or "EUR",
        "at_risk": _num(summary.get("at_risk")),
        "annual_at_risk": _num(summary.get("annual_at_risk")),
        "monthly_at_risk": _num(summary.get("monthly_at_risk")),
        "unlicensed": _num(summary.get("unlicensed")),
        "points_to_buy": _num(buy.get("points_to_buy")),
        "licences_to_buy": _num(summary.get("licences_to_buy")),
        "estimated_total": _decimal(buy.get("estimated_total")) if buy.get("licences") else None,
        "spend": _decimal(summary.get("spend")),
        "recoverable_value": _decimal(summary.get("recoverable_value")),
    }


def _rank_key(row: Row) -> tuple[Decimal, Decimal, Decimal, Decimal, str]:
    """Partners needing attention first: licences and devices at risk over the horizon
    (annual and monthly alike), dropped devices of the run, then activity."""
    activity = (
        row["available"]
        + (row["monthly"] or ZERO)
        + row["expiring_licences"]
        + row["recoverable"]
        + row["pipeline"]
    )
    return -row["at_risk"], -(row["dropped"] or ZERO), -row["shortfall"], -activity, row["id"]


def _pool_view(partners: Sequence[Mapping[str, Any]], top_n: int, formats: Formats) -> Row:
    """Available annual licences by product x term, over all partners."""
    cells: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for p in partners:
        for x in p.get("pool") or []:
            cells[_text(x.get("product")), _term(x.get("term"))] += _num(x.get("available"))
    return _matrix(cells, top_n, formats)


def _matrix(cells: Mapping[tuple[str, str], Decimal], top_n: int, formats: Formats) -> Row:
    _ = formats.gettext
    terms = sorted({t for _prod, t in cells}, key=_term_sort)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for (product, _term_key), v in cells.items():
        totals[product] += v
    order = sorted(totals, key=lambda prod: (-totals[prod], prod))
    rows = [
        {
            "product": prod,
            "cells": [cells.get((prod, t)) for t in terms],
            "total": totals[prod],
        }
        for prod in order[:top_n]
    ]
    by_term = [sum((v for (_prod, t), v in cells.items() if t == term), ZERO) for term in terms]
    charted = order[:CHART_BARS]
    chart = svg.stacked_bars(
        charted,
        [
            svg.Series(
                formats.term(t),
                [float(cells.get((prod, t), ZERO)) for prod in charted],
                TERM_COLORS.get(t, OTHER_COLOR),
            )
            for t in terms
        ],
        title=_("Available annual licences by product and term"),
        empty=_("No licences in the pools"),
        fmt=formats.number,
        width=HALF_WIDTH,
    )
    return {
        "terms": terms,
        "rows": rows,
        "by_term": by_term,
        "total": sum(by_term, ZERO),
        "more": _more(len(order), len(rows)),
        "chart": chart,
        "chart_more": _more(len(order), len(charted)),
    }


def _forecast_view(partners: Sequence[Mapping[str, Any]], top_n: int, formats: Formats) -> Row:
    """Monthly pool now and next month's renewal need, per product over all partners."""
    _ = formats.gettext
    agg: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for p in partners:
        for x in p.get("monthly_pool") or []:
            agg[_text(x.get("product"))]["pool"] += _num(x.get("available"))
        for x in p.get("forecast") or []:
            a = agg[_text(x.get("product"))]
            for key in ("devices_due", "available", "shortfall", "points_needed"):
                a[key] += _num(x.get(key))
    keys = ("pool", "devices_due", "available", "shortfall", "points_needed")
    order = sorted(agg, key=lambda prod: (-agg[prod]["shortfall"], -agg[prod]["devices_due"], prod))
    rows = [{"product": prod, **{k: agg[prod][k] for k in keys}} for prod in order[:top_n]]
    totals = {k: sum((a[k] for a in agg.values()), ZERO) for k in keys}
    charted = [prod for prod in order if agg[prod]["devices_due"] or agg[prod]["available"]]
    charted = charted[:CHART_BARS]
    covered = [max(ZERO, agg[x]["devices_due"] - agg[x]["shortfall"]) for x in charted]
    chart = svg.stacked_bars(
        charted,
        [
            svg.Series(_("Covered"), [float(c) for c in covered], COVERED),
            svg.Series(_("Shortfall"), [float(agg[x]["shortfall"]) for x in charted], SHORTFALL),
            svg.Series(
                _("Spare"),
                [
                    float(max(ZERO, agg[x]["available"] - c))
                    for x, c in zip(charted, covered, strict=True)
                ],
                SPARE,
            ),
        ],
        title=_("Next month: devices due against monthly licences available"),
        empty=_("No monthly contracts due next month"),
        fmt=formats.number,
        width=HALF_WIDTH,
    )
    coverage = (
        (totals["devices_due"] - totals["shortfall"]) / totals["devices_due"]
        if totals["devices_due"]
        else None
    )
    return {
        "rows": rows,
        "totals": totals,
        "coverage": coverage,
        "more": _more(len(order), len(rows)),
        "chart": chart,
    }


def _tagged(
    partners: Sequence[Mapping[str, Any]], key: str
) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for p in partners:
        pid = _text(p.get("partner"))
        for x in p.get(key) or []:
            yield pid, x


def _expiring_row(pid: str, x: Mapping[str, Any], names: _Names) -> Row:
    return {
        "partner": names.partner(pid),
        "client": names.client(x.get("client")),
        "product": _text(x.get("product")),
        "term": x.get("term"),
        "licences": _num(x.get("licences")),
        "end": _text(x.get("end")),
        "days_left": _num(x.get("days_left")),
    }


def _expiring_key(item: tuple[str, Mapping[str, Any]]) -> tuple[Decimal, str, str, str, str]:
    pid, x = item
    return (
        _num(x.get("days_left")),
        _text(x.get("end")),
        pid,
        _text(x.get("client")),
        _text(x.get("product")),
    )


def _expiring_view(
    partners: Sequence[Mapping[str, Any]], top_n: int, names: _Names, formats: Formats
) -> Row:
    """Contracts and trials ending within 90 days: buckets and the nearest top-N."""
    _ = formats.gettext
    labels = (_("Ending in 0–30 days"), _("Ending in 31–60 days"), _("Ending in 61–90 days"))
    buckets: list[Row] = [{"label": label, "contracts": 0, "licences": ZERO} for label in labels]
    count = 0
    for _, x in _tagged(partners, "expiring"):
        count += 1
        days_left = _num(x.get("days_left"))
        b = buckets[0 if days_left <= 30 else 1 if days_left <= 60 else 2]
        b["contracts"] += 1
        b["licences"] += _num(x.get("licences"))
    nearest = heapq.nsmallest(top_n, _tagged(partners, "expiring"), key=_expiring_key)
    return {
        "buckets": buckets,
        "rows": [_expiring_row(pid, x, names) for pid, x in nearest],
        "count": count,
        "licences": sum((b["licences"] for b in buckets), ZERO),
        "more": _more(count, len(nearest)),
    }


def _recoverable_key(item: tuple[str, Mapping[str, Any]]) -> tuple[Decimal, str, str, str]:
    pid, x = item
    return -_num(x.get("recoverable")), pid, _text(x.get("client")), _text(x.get("product"))


def _recoverable_row(pid: str, x: Mapping[str, Any], names: _Names) -> Row:
    return {
        "partner": names.partner(pid),
        "client": names.client(x.get("client")),
        "product": _text(x.get("product")),
        "term": x.get("term"),
        "recoverable": _num(x.get("recoverable")),
    }


def _recoverable_view(partners: Sequence[Mapping[str, Any]], top_n: int, names: _Names) -> Row:
    """Licences that can be recovered today: total and the largest top-N."""
    count, total = 0, ZERO
    for _, x in _tagged(partners, "recoverable"):
        count += 1
        total += _num(x.get("recoverable"))
    largest = heapq.nsmallest(top_n, _tagged(partners, "recoverable"), key=_recoverable_key)
    return {
        "rows": [_recoverable_row(pid, x, names) for pid, x in largest],
        "count": count,
        "total": total,
        "more": _more(count, len(largest)),
    }


def _pipeline_view(pipeline: Sequence[Mapping[str, Any]], month: str, formats: Formats) -> Row:
    """Contracts and licences expiring per month, over all partners, 12 months from `month`."""
    _ = formats.gettext
    contracts: dict[str, Decimal] = defaultdict(Decimal)
    licences: dict[str, Decimal] = defaultdict(Decimal)
    for item in pipeline:
        ym = filters.parse_month(item.get("month"))
        if ym is None:
            continue
        key = f"{ym[0]:04d}-{ym[1]:02d}"
        contracts[key] += _num(item.get("contracts"))
        licences[key] += _num(item.get("licences"))
    start = filters.parse_month(month)
    window = [_month_add(start, k) for k in range(PIPELINE_MONTHS)] if start else []
    months = sorted(set(window) | set(licences))[:MAX_PIPELINE_MONTHS]
    rows = [{"month": m, "contracts": contracts[m], "licences": licences[m]} for m in months]
    labels = [formats.month_label(m, "abbr") for m in months]
    years = [m[:4] if i == 0 or m.endswith("-01") else "" for i, m in enumerate(months)]
    tips = [
        _("%(month)s: %(licences)s in %(contracts)s")
        % {
            "month": formats.month_label(m),
            "licences": formats.pluralise(licences[m], "licence"),
            "contracts": formats.pluralise(contracts[m], "contract"),
        }
        for m in months
    ]
    chart = svg.column_chart(
        labels,
        [float(licences[m]) for m in months],
        title=_("Licences expiring per month over the next 12 months"),
        sublabels=years,
        tooltips=tips,
        color=PIPELINE_COLOR,
        empty=_("No expiries in the next 12 months"),
        fmt=formats.number,
        short=formats.compact,
        width=FULL_WIDTH,
    )
    peak = max(rows, key=lambda r: (r["licences"], r["contracts"]), default=None)
    return {
        "rows": rows,
        "contracts": sum(contracts.values(), ZERO),
        "licences": sum(licences.values(), ZERO),
        "peak": peak if peak and peak["licences"] else None,
        "chart": chart,
    }


def _dropped_key(item: tuple[str, Mapping[str, Any]]) -> tuple[Decimal, str, str, str]:
    pid, x = item
    return -_num(x.get("dropped")), pid, _text(x.get("client")), _text(x.get("product"))


def _line_row(pid: str, x: Mapping[str, Any], names: _Names) -> Row:
    return {
        "partner": names.partner(pid),
        "client": names.client(x.get("client")),
        "product": _text(x.get("product")),
        "term": x.get("term"),
        "requested": _num(x.get("requested")),
        "renewed": _num(x.get("renewed")),
        "dropped": _num(x.get("dropped")),
        "points": _decimal(x.get("points")),
    }


def _run_view(
    renewal: Mapping[str, Any] | None, policy: str, top_n: int, names: _Names
) -> Row | None:
    """The renewal run: totals, dropped devices per partner and the largest dropped lines."""
    if renewal is None:
        return None
    partners = renewal.get("partners") or []
    requested = renewed = dropped = exchanged = ZERO
    points: Decimal | None = None
    lines_dropped: list[tuple[str, Mapping[str, Any]]] = []
    per_partner: list[Row] = []
    line_count = 0
    for p in partners:
        pid = _text(p.get("partner"))
        exchanged += _num(p.get("exchanged_points"))
        p_dropped, clients = ZERO, set()
        for x in p.get("lines") or []:
            line_count += 1
            requested += _num(x.get("requested"))
            renewed += _num(x.get("renewed"))
            d = _num(x.get("dropped"))
            dropped += d
            pts = _decimal(x.get("points"))
            if pts is not None:
                points = (points or ZERO) + pts
            if d > 0:
                p_dropped += d
                clients.add(_text(x.get("client")))
                lines_dropped.append((pid, x))
        if p_dropped > 0:
            per_partner.append(
                {"partner": names.partner(pid), "clients": len(clients), "dropped": p_dropped}
            )
    per_partner.sort(key=lambda r: (-r["dropped"], r["partner"]["id"]))
    largest = heapq.nsmallest(top_n, lines_dropped, key=_dropped_key)
    return {
        "month": _text(renewal.get("month")),
        "run": _text(renewal.get("run")),
        "already_applied": bool(renewal.get("already_applied")),
        "policy": policy,
        "lines": line_count,
        "requested": requested,
        "renewed": renewed,
        "dropped": dropped,
        "points": points,
        "exchanged": exchanged,
        "coverage": renewed / requested if requested else None,
        "partners": per_partner[:top_n],
        "partners_more": _more(len(per_partner), top_n),
        "dropped_rows": [_line_row(pid, x, names) for pid, x in largest],
        "dropped_more": _more(len(lines_dropped), len(largest)),
        "dropped_lines": len(lines_dropped),
    }


def _partner_detail(
    p: Mapping[str, Any], summary: Row, renewal: Mapping[str, Any] | None, names: _Names
) -> Row:
    """One partner's section: its KPIs and short lists (DETAIL_ROWS rows each)."""
    pid = summary["id"]
    cells: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for x in p.get("pool") or []:
        cells[_text(x.get("product")), _term(x.get("term"))] += _num(x.get("available"))
    terms = sorted({t for _, t in cells}, key=_term_sort)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for (prod, _), v in cells.items():
        totals[prod] += v
    products = sorted(totals, key=lambda prod: (-totals[prod], prod))
    pool_rows = [
        {"product": prod, "cells": [cells.get((prod, t)) for t in terms]}
        for prod in products[:DETAIL_ROWS]
    ]
    monthly: dict[str, Row] = {}
    for x in p.get("monthly_pool") or []:
        monthly.setdefault(_text(x.get("product")), {"pool": ZERO, "fc": None})
        monthly[_text(x.get("product"))]["pool"] += _num(x.get("available"))
    for x in p.get("forecast") or []:
        monthly.setdefault(_text(x.get("product")), {"pool": ZERO, "fc": None})["fc"] = x
    forecast_rows = [
        {
            "product": prod,
            "pool": v["pool"],
            "devices_due": _num((v["fc"] or {}).get("devices_due")),
            "shortfall": _num((v["fc"] or {}).get("shortfall")),
            "points_needed": _num((v["fc"] or {}).get("points_needed")),
        }
        for prod, v in sorted(monthly.items())[:DETAIL_ROWS]
    ]
    trials = [
        {
            "product": _text(x.get("product")),
            "available": bool(x.get("available")),
            "days": x.get("days"),
        }
        for x in (p.get("trials") or [])[:DETAIL_ROWS]
    ]
    expiring = heapq.nsmallest(
        DETAIL_ROWS, ((pid, x) for x in p.get("expiring") or []), key=_expiring_key
    )
    recoverable = heapq.nsmallest(
        DETAIL_ROWS, ((pid, x) for x in p.get("recoverable") or []), key=_recoverable_key
    )
    dropped_lines: list[tuple[str, Mapping[str, Any]]] = []
    for rp in (renewal or {}).get("partners") or []:
        if _text(rp.get("partner")) == pid:
            dropped_lines += [(pid, x) for x in rp.get("lines") or [] if _num(x.get("dropped"))]
    dropped = heapq.nsmallest(DETAIL_ROWS, dropped_lines, key=_dropped_key)
    return {
        **summary,
        "terms": terms,
        "pool_rows": pool_rows,
        "pool_more": _more(len(products), len(pool_rows)),
        "forecast_rows": forecast_rows,
        "forecast_more": _more(len(monthly), len(forecast_rows)),
        "trials": trials,
        "trials_more": _more(len(p.get("trials") or []), len(trials)),
        "expiring_rows": [_expiring_row(pid, x, names) for pid, x in expiring],
        "expiring_more": _more(summary["expiring_contracts"], len(expiring)),
        "recoverable_rows": [_recoverable_row(pid, x, names) for pid, x in recoverable],
        "recoverable_more": _more(len(p.get("recoverable") or []), len(recoverable)),
        "dropped_rows": [_line_row(pid, x, names) for pid, x in dropped],
        "dropped_more": _more(len(dropped_lines), len(dropped)),
    }


def _by_currency(summaries: Sequence[Row], key: str) -> list[Row]:
    """Money of every partner added up per currency (never across currencies)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for s in summaries:
        if s[key] is not None:
            totals[s["currency"]] += s[key]
    return [{"currency": c, "amount": totals[c]} for c in sorted(totals)]


def _outlook_view(
    partners: Sequence[Mapping[str, Any]], summaries: Sequence[Row], top_n: int, names: _Names
) -> Row:
    """The next months over all partners: due, served and short per month and kind, and the
    clients at risk (largest first)."""
    months: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    # one row per client, product and term: from the first month short, the largest short
    clients: dict[tuple[str, str, str, str], Row] = {}
    for pid, r in _tagged(partners, "outlook"):
        cell = months[_text(r.get("month")), _text(r.get("kind"))]
        for key in ("due", "served", "shortfall"):
            cell[key] += _num(r.get(key))
        cell["points_needed"] += _num(r.get("points_needed"))
        for x in r.get("at_risk") or []:
            who = (pid, _text(x.get("client")), _text(r.get("product")), _text(r.get("term")))
            row = clients.setdefault(
                who,
                {
                    "partner": names.partner(pid),
                    "month": _text(r.get("month")),
                    "months": 0,
                    "kind": _text(r.get("kind")),
                    "client": {
                        "id": _text(x.get("client")),
                        "name": _text(x.get("client_name")),
                    },
                    "product": _text(r.get("product")),
                    "term": r.get("term"),
                    "short": ZERO,
                },
            )
            row["months"] += 1
            row["month"] = min(row["month"], _text(r.get("month")))
            row["short"] = max(row["short"], _num(x.get("short")))
    risks = list(clients.values())
    rows = [{"month": m, "kind": k, **v} for (m, k), v in sorted(months.items())]
    risks.sort(key=lambda x: (-x["short"], x["month"], x["partner"]["id"], x["client"]["id"]))
    return {
        "rows": rows,
        "at_risk": risks[:top_n],
        "at_risk_more": _more(len(risks), top_n),
        "annual": sum((s["annual_at_risk"] for s in summaries), ZERO),
        "monthly": sum((s["monthly_at_risk"] for s in summaries), ZERO),
    }


def _buy_view(
    partners: Sequence[Mapping[str, Any]], summaries: Sequence[Row], top_n: int, names: _Names
) -> Row:
    """What to buy: points net of the balance, licences after recovering first, with cost."""
    currency = {s["id"]: s["currency"] for s in summaries}
    points: list[Row] = []
    licences: list[Row] = []
    for p in partners:
        pid = _text(p.get("partner"))
        buy = p.get("buy") or {}
        if _num(buy.get("points_needed")):
            points.append(
                {
                    "partner": names.partner(pid),
                    "needed": _num(buy.get("points_needed")),
                    "balance": _num(buy.get("points_balance")),
                    "to_buy": _num(buy.get("points_to_buy")),
                }
            )
        for x in buy.get("licences") or []:
            licences.append(
                {
                    "partner": names.partner(pid),
                    "product": _text(x.get("product")),
                    "term": x.get("term"),
                    "short": _num(x.get("short")),
                    "recoverable": _num(x.get("recoverable")),
                    "to_buy": _num(x.get("to_buy")),
                    "unit_price": _decimal(x.get("unit_price")),
                    "estimated_cost": _decimal(x.get("estimated_cost")),
                    "currency": currency.get(pid, "EUR"),
                }
            )
    points.sort(key=lambda r: (-r["to_buy"], r["partner"]["id"]))
    licences.sort(key=lambda r: (-r["to_buy"], r["partner"]["id"], r["product"]))
    return {
        "points": points[:top_n],
        "points_more": _more(len(points), top_n),
        "points_to_buy": sum((r["to_buy"] for r in points), ZERO),
        "licences": licences[:top_n],
        "licences_more": _more(len(licences), top_n),
        "licences_to_buy": sum((r["to_buy"] for r in licences), ZERO),
        "costs": _by_currency(summaries, "estimated_total"),
        "unknown_prices": sum(1 for r in licences if r["unit_price"] is None),
        "recoverable_value": _by_currency(summaries, "recoverable_value"),
        "spend": _by_currency(summaries, "spend"),
    }


def _worklist_view(partners: Sequence[Mapping[str, Any]], top_n: int, names: _Names) -> Row:
    """Annual contracts ending over the horizon, soonest first, and what the pool covers."""
    counts: dict[str, int] = defaultdict(int)
    rows: list[Row] = []
    for pid, x in _tagged(partners, "worklist"):
        counts[_text(x.get("cover"))] += 1
        rows.append(
            {
                "partner": names.partner(pid),
                "client": {"id": _text(x.get("client")), "name": _text(x.get("client_name"))},
                "product": _text(x.get("product")),
                "term": x.get("term"),
                "licences": _num(x.get("licences")),
                "end": _text(x.get("end")),
                "auto_renew": bool(x.get("auto_renew")),
                "cover": _text(x.get("cover")),
            }
        )
    rows.sort(key=lambda r: (r["end"], r["partner"]["id"], r["client"]["id"], r["product"]))
    trials: list[Row] = []
    for pid, x in _tagged(partners, "trials_ending"):
        trials.append(
            {
                "partner": names.partner(pid),
                "client": {"id": _text(x.get("client")), "name": _text(x.get("client_name"))},
                "product": _text(x.get("product")),
                "licences": _num(x.get("licences")),
                "end": _text(x.get("end")),
            }
        )
    trials.sort(key=lambda r: (r["end"], r["partner"]["id"], r["client"]["id"]))
    return {
        "rows": rows[:top_n],
        "more": _more(len(rows), top_n),
        "count": len(rows),
        "counts": [
            {"cover": c, "count": counts.get(c, 0)}
            for c in ("covered", "partly", "not covered", "manual")
        ],
        "trials": trials[:top_n],
        "trials_more": _more(len(trials), top_n),
    }


def _overuse_view(partners: Sequence[Mapping[str, Any]], top_n: int, names: _Names) -> Row:
    """Contracts using more devices than they hold licences for (SPEC §8)."""
    rows: list[Row] = [
        {
            "partner": names.partner(pid),
            "client": names.client(x.get("client")),
            "product": _text(x.get("product")),
            "term": x.get("term"),
            "licences": _num(x.get("licences")),
            "devices_used": _num(x.get("devices_used")),
            "unlicensed": _num(x.get("unlicensed")),
        }
        for pid, x in _tagged(partners, "overuse")
    ]
    rows.sort(key=lambda r: (-r["unlicensed"], r["partner"]["id"], r["client"]["id"]))
    return {
        "rows": rows[:top_n],
        "more": _more(len(rows), top_n),
        "unlicensed": sum((r["unlicensed"] for r in rows), ZERO),
    }


def build_view(
    *,
    status: Mapping[str, Any],
    renewal: Mapping[str, Any] | None,
    pipeline: Sequence[Mapping[str, Any]],
    meta: Mapping[str, Any],
    top_n: int = TOP_ROWS,
    top_partners: int = TOP_PARTNERS,
    formats: Formats = filters.ENGLISH,
) -> Row:
    """Everything the template shows, aggregated and cut to top-N lists, its words and
    numbers in the language of `formats`."""
    _ = formats.gettext
    partners = list(status.get("partners") or [])
    names = _Names(
        meta.get("client_names"),
        {_text(p.get("partner")): _text(p.get("name")) for p in partners},
    )
    as_of = _text(meta.get("as_of") or status.get("as_of"))
    month = _text(meta.get("month") or (renewal or {}).get("month") or as_of[:7])
    policy = _text(meta.get("policy")) or "priority"
    summaries = _partner_summaries(partners, renewal, pipeline)
    ranked = sorted(range(len(partners)), key=lambda i: _rank_key(summaries[i]))
    providers: dict[str, int] = defaultdict(int)
    for s in summaries:
        providers[s["provider"] or _("Unknown")] += 1

    pool = _pool_view(partners, top_n, formats)
    forecast = _forecast_view(partners, top_n, formats)
    expiring = _expiring_view(partners, top_n, names, formats)
    recoverable = _recoverable_view(partners, top_n, names)
    pipe = _pipeline_view(pipeline, month, formats)
    run = _run_view(renewal, policy, top_n, names)
    outlook = _outlook_view(partners, summaries, top_n, names)
    buy = _buy_view(partners, summaries, top_n, names)
    worklist = _worklist_view(partners, top_n, names)
    overuse = _overuse_view(partners, top_n, names)
    watchguard = any(s["monthly"] is not None for s in summaries)
    points_balance = sum((s["points"] or ZERO for s in summaries), ZERO)

    kpis = [
        {
            "key": "partners",
            "label": _("Partners"),
            "value": len(partners),
            "hint": " · ".join(
                f"{formats.number(n)} {name}" for name, n in sorted(providers.items())
            ),
            "alert": False,
        },
        {
            "key": "available",
            "label": _("Available annual licences"),
            "value": pool["total"],
            "hint": _("virtual licences in the pools"),
            "alert": False,
        },
        {
            "key": "monthly",
            "label": _("Monthly pool"),
            "value": forecast["totals"]["pool"] if watchguard else None,
            "hint": _("monthly licences (WatchGuard)"),
            "alert": False,
        },
        {
            "key": "points",
            "label": _("Points balance"),
            "value": points_balance if watchguard else None,
            "hint": _("MSSP Points (WatchGuard)"),
            "alert": False,
        },
        {
            "key": "points_needed",
            "label": _("Points needed next month"),
            "value": forecast["totals"]["points_needed"] if watchguard else None,
            "hint": _("shortfall %(devices)s")
            % {"devices": formats.pluralise(forecast["totals"]["shortfall"], "device")},
            "alert": forecast["totals"]["shortfall"] > 0,
        },
        {
            "key": "at_risk",
            "label": _("At risk in the outlook"),
            "value": outlook["annual"] + outlook["monthly"],
            "hint": "",
            "alert": outlook["annual"] + outlook["monthly"] > 0,
        },
        {
            "key": "points_to_buy",
            "label": _("Points to buy"),
            "value": buy["points_to_buy"] if watchguard else None,
            "hint": "",
            "alert": buy["points_to_buy"] > 0,
        },
        {
            "key": "dropped",
            "label": _("Dropped devices"),
            "value": run["dropped"] if run else None,
            "hint": _("renewal run %(month)s") % {"month": formats.month_label(run["month"])}
            if run
            else _("no renewal run"),
            "alert": bool(run and run["dropped"] > 0),
        },
        {
            "key": "expiring",
            "label": _("Expiring in 90 days"),
            "value": expiring["licences"],
            "hint": formats.pluralise(expiring["count"], "contract"),
            "alert": False,
        },
        {
            "key": "recoverable",
            "label": _("Recoverable licences"),
            "value": recoverable["total"],
            "hint": formats.pluralise(recoverable["count"], "contract"),
            "alert": False,
        },
    ]
    table = [summaries[i] for i in ranked[:top_n]]
    details = [
        _partner_detail(partners[i], summaries[i], renewal, names) for i in ranked[:top_partners]
    ]
    if len(partners) == 1:
        s = summaries[0]
        scope = f"{s['id']} — {s['name']}" if s["name"] else s["id"]
    else:
        scope = formats.pluralise(len(partners), "partner")
    return {
        "title": _("Licence status report"),
        "as_of": as_of,
        "month": month,
        "scope": scope,
        "kpis": kpis,
        "pool": pool,
        "forecast": forecast,
        "forecast_date": _month_add(filters.parse_month(as_of) or (2000, 1), 1) + "-01",
        "expiring": expiring,
        "recoverable": recoverable,
        "pipeline": pipe,
        "run": run,
        "outlook": outlook,
        "horizon": _text(meta.get("horizon")),
        "outlook_months": list(meta.get("outlook_months") or []),
        "buy": buy,
        "worklist": worklist,
        "overuse": overuse,
        "partners": table,
        "partners_total": len(partners),
        "partners_more": _more(len(partners), len(table)),
        "details": details,
        "details_more": _more(len(partners), len(details)),
        "top_n": top_n,
        "detail_rows": DETAIL_ROWS,
        "policy": policy,
        "input_name": _text(meta.get("input_name")),
        "sha256": _text(meta.get("sha256")),
        "version": _text(meta.get("version")),
    }


# --------------------------------------------------------------------------- public API


def render_report(
    *,
    status: dict[str, Any],
    renewal: dict[str, Any] | None,
    pipeline: list[dict[str, Any]],
    meta: dict[str, Any],
    top_n: int = TOP_ROWS,
    top_partners: int = TOP_PARTNERS,
    lang: str = i18n.DEFAULT,
) -> str:
    """The report as one self-contained HTML string (inline CSS and SVG, no script), in
    the language `lang` (SPEC §11)."""
    formats = Formats(lang)
    env = make_environment(formats=formats)
    view = build_view(
        status=status,
        renewal=renewal,
        pipeline=pipeline,
        meta=meta,
        top_n=top_n,
        top_partners=top_partners,
        formats=formats,
    )
    return env.get_template(TEMPLATE).render(css=_stylesheet(env), **view)


def write_report(path: Path, html: str) -> None:
    """Write `html` to `path` atomically: a temp file in the same folder, then os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(html)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
