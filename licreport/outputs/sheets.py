"""The computed sheets as frames for the workbook writer: one table per sheet.

Status (with the chart of the partners with the most at risk, SPEC §5), Partner
summary (the chart's table), Contracts, Forecast, Buying list, Checks.  Terms read as
in every output (`terms.term_labels`: ``1 year``, ``3 years``, ``Monthly``, ``Trial``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.types import is_integer_dtype

from licreport.outputs.terms import term_labels
from licreport.outputs.workbook import ChartSpec, ComputedSheet
from licreport.rules.keys import labels, sort_rows, sorted_groups
from licreport.rules.status import StatusView, partner_summary

CHART_PARTNERS = 10  # the chart shows the partners with the most at risk, at most this many


def status_sheet(view: StatusView, chart: ChartSpec | None = None) -> ComputedSheet:
    """Available licences per partner: annual pools by product × term, monthly pool, points;
    `chart` below the table (SPEC §5: the native chart is on Status)."""
    names = view.partners.set_index("partner")
    annual = view.pool.assign(pool="annual", term=term_labels(view.pool["term"]))
    monthly = view.monthly_pool.assign(
        pool="monthly (MSSP)",
        term=term_labels(pd.Series("monthly", index=view.monthly_pool.index, dtype=object)),
    )
    points = view.points.assign(pool="MSSP Points", product="", term="")
    frame = pd.concat([annual, monthly, points], ignore_index=True)
    frame = frame.sort_values(["partner", "pool", "product", "term"], kind="stable")
    frame.insert(1, "partner_name", frame["partner"].map(names["name"]))
    frame.insert(2, "provider", frame["partner"].map(names["provider"]))
    frame = frame[["partner", "partner_name", "provider", "pool", "product", "term", "available"]]
    frame = frame.reset_index(drop=True)
    # over-use (SPEC §8): devices running above the licences held, per product and term
    over = view.overuse.assign(term=term_labels(view.overuse["term"]))
    unlicensed = over.groupby(["partner", "product", "term"])["unlicensed"].sum()
    at = pd.MultiIndex.from_frame(frame[["partner", "product", "term"]])
    frame["unlicensed"] = unlicensed.reindex(at).fillna(0).astype("int64").to_numpy()
    frame.insert(0, "as_of", view.as_of)
    return ComputedSheet(
        "Status", frame, {"as_of": "date", "available": "int", "unlicensed": "int"}, chart
    )


SUMMARY_SERIES = {  # column -> the chart's legend entry
    "annual_at_risk": "annual licences at risk",
    "monthly_at_risk": "monthly devices at risk",
}


SUMMARY = "Partner summary"


def summary_sheet(view: StatusView) -> ComputedSheet:
    """One row per partner, the most at risk first (the status model's `partner_summary`)."""
    s = partner_summary(view)
    names = view.partners.set_index("partner")["name"]
    frame = pd.DataFrame(
        {
            "partner": s["partner"].astype(str).to_numpy(),
            "partner_name": s["partner"].map(names).to_numpy(),
            "provider": s["provider"].to_numpy(),
            "at_risk": s["at_risk"].to_numpy(),
            "annual_at_risk": s["annual_at_risk"].to_numpy(),
            "monthly_at_risk": s["monthly_at_risk"].to_numpy(),
            "points_to_buy": s["points_to_buy"].to_numpy(),
            "licences_to_buy": s["licences_to_buy"].to_numpy(),
            "estimated_total": s["estimated_total"].to_numpy(),
            "currency": s["currency"].to_numpy(),
            "recoverable": s["recoverable"].to_numpy(),
            "unlicensed": s["unlicensed"].to_numpy(),
        }
    )
    frame = frame.sort_values(["at_risk", "partner"], ascending=[False, True], kind="stable")
    frame = frame.reset_index(drop=True)
    ints = ("at_risk", "annual_at_risk", "monthly_at_risk", "points_to_buy", "licences_to_buy",
            "recoverable", "unlicensed")  # fmt: skip
    formats = dict.fromkeys(ints, "int") | {"estimated_total": "money"}
    return ComputedSheet(SUMMARY, frame, formats)


def risk_chart(summary: ComputedSheet) -> ChartSpec | None:
    """The chart of the partners with the most at risk, from the Partner summary's first
    rows: what each would leave unprotected over the outlook's horizon, annual licences
    and monthly devices apart; none when nothing is at risk, never an empty series."""
    frame = summary.frame
    top = frame[frame["at_risk"] > 0].head(CHART_PARTNERS)
    series = tuple(c for c in SUMMARY_SERIES if (top[c] > 0).any())
    if not series:
        return None
    return ChartSpec(
        f"Partners with the most at risk (top {len(top)})"
        if len(frame) > len(top)
        else "At risk per partner",
        "partner",
        series,
        rows=len(top),
        labels=tuple(SUMMARY_SERIES[c] for c in series),
        source=SUMMARY,
    )


def contracts_sheet(view: StatusView) -> ComputedSheet:
    """Every contract; `status` says active, ended or not started, and `days_left` is
    given for active contracts only (an ended one has no days left, not negative ones)."""
    cols = [
        "partner", "client", "client_name", "product", "term", "licences", "start", "end",
        "days_left", "status", "auto_renew", "devices_used", "recoverable",
    ]  # fmt: skip
    # the columns shown (a contract has a dozen more), each taken once in sheet order
    shown = [c for c in view.contracts.columns if c in cols or c == "active"]
    c = sort_rows(view.contracts[shown], ["partner", "client", "product", "start"])
    active = c["active"].fillna(False).astype(bool).to_numpy()
    ended = (c["end"] <= view.as_of).fillna(False).to_numpy(dtype=bool)
    waiting = (c["start"] > view.as_of).fillna(False).to_numpy(dtype=bool)
    status = labels([active, ended, waiting], ["active", "ended", "not started"], "inactive")
    frame = c.assign(
        status=status,
        days_left=c["days_left"].where(active),
        term=term_labels(c["term"]),
    )[cols].reset_index(drop=True)
    frame["auto_renew"] = frame["auto_renew"].map({True: "yes", False: "no"})
    formats = {"start": "date", "end": "date"}
    formats |= {k: "int" for k in ("licences", "days_left", "devices_used", "recoverable")}
    return ComputedSheet("Contracts", frame, formats)


def forecast_sheet(view: StatusView) -> ComputedSheet:
    """The outlook (SPEC §7): per month, partner, kind, product and term, what is due,
    available, served and short, the points needed and the clients left short."""
    o = view.outlook
    keys = ["partner", "month", "kind", "product", "term"]
    clients = _joined(o.at_risk, keys).rename("clients_short")
    rows = o.rows.assign(order=o.rows["kind"].map({"annual": 0, "monthly": 1}))
    rows = rows.sort_values(["month", "partner", "order", "product", "term"], kind="stable")
    frame = rows.join(clients, on=keys).reset_index(drop=True)
    frame["term"] = term_labels(frame["term"])
    frame.insert(
        1, "partner_name", frame["partner"].map(view.partners.set_index("partner")["name"])
    )
    cols = ["month", "partner", "partner_name", "kind", "product", "term", "due", "available",
            "served", "shortfall", "points_needed", "clients_short"]  # fmt: skip
    ints = ("due", "available", "served", "shortfall", "points_needed")
    return ComputedSheet("Forecast", frame[cols], dict.fromkeys(ints, "int"))


def _joined(risk: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Per group of `keys` (in order of appearance; a blank key has no group, as in a
    groupby), its clients left short as one text: "C1 3, C2 1", in row order.  The rows
    are ordered by the keys' sort codes and each group's texts joined by Arrow (a list
    array cut at the groups): at 12 x SPEC §6, 1.3 million rows at risk in 0.4 s, where
    a Python join per group takes 0.9 s and a groupby with a Python function seconds.
    A blank client (no text for Arrow) or keys that do not compare: a Python join per
    group (`_joined_by_python`)."""
    keyed = risk[keys].notna().all(axis=1).to_numpy(dtype=bool)
    if not keyed.all():
        risk = risk[keyed]
    if not len(risk):
        return _joined_by_python(risk, keys)
    try:
        order, group = sorted_groups(risk, keys)
    except TypeError:
        return _joined_by_python(risk, keys)
    try:
        clients = pa.array(
            risk["client"].to_numpy(dtype=object), type=pa.large_string(), from_pandas=True
        )
    except (pa.ArrowException, UnicodeEncodeError):  # not text, or a lone surrogate
        clients = None
    if clients is None or clients.null_count or not is_integer_dtype(risk["short"]):
        return _joined_by_python(risk, keys)
    text = pc.binary_join_element_wise(
        clients,
        pa.array(risk["short"].to_numpy(dtype=np.int64)).cast(pa.large_string()),
        pa.scalar(" ", pa.large_string()),
    ).take(pa.array(order))
    starts = np.flatnonzero(np.diff(group, prepend=-1))
    offsets = pa.array(np.append(starts, len(order)), type=pa.int64())
    joined = pc.binary_join(
        pa.LargeListArray.from_arrays(offsets, text), pa.scalar(", ", pa.large_string())
    ).to_numpy(zero_copy_only=False)
    firsts = order[starts]
    seen = np.argsort(firsts, kind="stable")  # the groups in order of appearance
    index = pd.MultiIndex.from_frame(risk[keys].iloc[firsts[seen]])
    return pd.Series(joined[seen], index=index, dtype="str")


def _joined_by_python(risk: pd.DataFrame, keys: list[str]) -> pd.Series:
    """`_joined` with one Python join per group (in order of appearance), for any
    values."""
    codes = risk.groupby(keys, sort=False).ngroup().to_numpy()
    keep = np.flatnonzero(codes >= 0)  # a blank key has no group, as in a groupby
    order = keep[np.argsort(codes[keep], kind="stable")]
    text = np.array(
        [f"{c} {n}" for c, n in zip(risk["client"].tolist(), risk["short"].tolist(), strict=True)]
        + [""],  # never a 2-D array
        dtype=object,
    )[order]
    starts = np.flatnonzero(np.diff(codes[order], prepend=-1))
    joined = [", ".join(part) for part in np.split(text, starts[1:])] if len(order) else []
    index = pd.MultiIndex.from_frame(risk[keys].iloc[order[starts]])
    return pd.Series(joined, index=index, dtype="str")


def buy_sheet(view: StatusView) -> ComputedSheet:
    """The buying list (SPEC §7 O5/O6): points to buy per partner, then licences to buy per
    product and term after recovering first, priced at the latest block and its tier."""
    o = view.outlook
    info = view.partners.set_index("partner")
    points = o.points[o.points["points_needed"] > 0].assign(
        item="MSSP Points",
        product="",
        term="",
        short=o.points["points_needed"],
        recoverable=None,
        held=o.points["points_balance"],
        to_buy=o.points["points_to_buy"],
        unit_price=None,
        discount=None,
        estimated_cost=None,
    )
    licences = o.buy.assign(item="licences", term=term_labels(o.buy["term"]), held=None)
    cols = ["partner", "item", "product", "term", "short", "held", "recoverable", "to_buy",
            "unit_price", "discount", "estimated_cost"]  # fmt: skip
    frame = pd.concat([points[cols], licences[cols]], ignore_index=True)
    frame = frame.sort_values(["partner", "item", "product", "term"], kind="stable")
    frame = frame.reset_index(drop=True)
    frame.insert(1, "partner_name", frame["partner"].map(info["name"]))
    frame["currency"] = frame["partner"].map(info["currency"])
    formats = dict.fromkeys(("short", "held", "recoverable", "to_buy"), "int")
    formats |= {"unit_price": "money", "estimated_cost": "money", "discount": "percent"}
    return ComputedSheet("Buying list", frame, formats)


CHECKS = "Checks"
COMPUTED = ("Status", SUMMARY, "Contracts", "Forecast", "Buying list", CHECKS)  # their order


def checks_sheet(checks: pd.DataFrame) -> ComputedSheet:
    frame = checks.assign(
        term=term_labels(checks["term"]),
        ok=(checks["difference"] == 0).map({True: "yes", False: "NO"}),
    )
    return ComputedSheet(
        CHECKS, frame, dict.fromkeys(("in", "out", "balance", "difference"), "int")
    )


def computed_sheets(view: StatusView, checks: pd.DataFrame) -> list[ComputedSheet]:
    """The computed sheets in their order (`COMPUTED`); `checks` is the R8 table."""
    summary = summary_sheet(view)
    return [
        status_sheet(view, risk_chart(summary)),
        summary,
        contracts_sheet(view),
        forecast_sheet(view),
        buy_sheet(view),
        checks_sheet(checks),
    ]
