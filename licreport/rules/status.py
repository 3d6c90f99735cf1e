"""The "My available licenses" view, the next month's forecast and the renewal pipeline.

Everything is a frame keyed by partner, so one partner or a thousand cost the
same code; turning them into JSON or sheets is the writers' job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from licreport.ledger.schema import MONTHLY, TRIAL
from licreport.rules.contracts import ANNUAL, active_mask
from licreport.rules.history import month_text
from licreport.rules.keys import sort_rows, sorted_groups
from licreport.rules.outlook import Outlook, estimated_total
from licreport.rules.pricing import spend_summary
from licreport.rules.recovery import recoverable
from licreport.rules.replay import Balances

EXPIRY_HORIZON = 90
DEFAULT_CURRENCY = "EUR"
OVERUSE_COLUMNS = [
    "partner", "client", "client_name", "product", "term", "licences", "devices_used",
    "unlicensed",
]  # fmt: skip


@dataclass(frozen=True)
class StatusView:
    as_of: pd.Timestamp
    partners: pd.DataFrame  # partner, name, provider
    pool: pd.DataFrame  # partner, product, term, available
    monthly_pool: pd.DataFrame  # partner, product, available
    points: pd.DataFrame  # partner, available
    trials: pd.DataFrame  # product, available, days (same for every partner)
    expiring: pd.DataFrame  # partner, client, client_name, product, term, licences, end, days_left
    recoverable: pd.DataFrame  # recovery.CANDIDATE_COLUMNS
    forecast: pd.DataFrame  # partner, product, devices_due, available, shortfall, points_needed
    contracts: pd.DataFrame  # every contract with end, days_left, active, recoverable
    spend: pd.DataFrame  # pricing.SUMMARY_COLUMNS: what the pool cost (R5)
    overuse: pd.DataFrame  # OVERUSE_COLUMNS: active contracts using more devices than licences
    outlook: Outlook  # SPEC §7: the next N months, the buying list, the worklist
    policy: str = "priority"
    # partner_summary, computed on first use: the JSON, the Summary sheet and the report
    # all show it (one computation per view, each caller gets its own copy)
    _summary: dict[str, pd.DataFrame] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )


def currencies(partners: pd.DataFrame) -> pd.Series:
    """Each partner's currency: its ISO 4217 code from the optional Partners column
    `currency`, upper-cased; blank or absent -> EUR (SPEC §7)."""
    currency = (
        partners["currency"] if "currency" in partners else pd.Series(pd.NA, index=partners.index)
    )
    code = currency.astype("string").str.strip().str.upper()
    return code.mask(code == "").fillna(DEFAULT_CURRENCY)


def status_view(
    parts: dict[str, Any], next_month: Balances, outlook: Outlook, policy: str = "priority"
) -> StatusView:
    """The status view: `parts` (`view_parts`, made while the outlook was projected), the
    `outlook` built from the same ledger, and next month's forecast from it and the
    balances on its 1st (`next_month`)."""
    return StatusView(
        **parts,
        forecast=next_month_forecast(outlook, next_month),
        outlook=outlook,
        policy=policy,
    )


def view_parts(
    partners: pd.DataFrame,
    products: pd.DataFrame,
    pool: pd.DataFrame,
    discounts: pd.DataFrame,
    contracts: pd.DataFrame,
    now: Balances,
    as_of: pd.Timestamp,
) -> dict[str, Any]:
    """Every field of the status view that does not come from the outlook (all but the
    outlook and next month's forecast), so they can be made while it is projected."""
    candidates = recoverable(contracts, as_of)
    catalogue = products.drop_duplicates("product")
    trials = pd.DataFrame(
        {
            "product": catalogue["product"],
            "available": catalogue["trial_days"].fillna(0) > 0,
            "days": catalogue["trial_days"].fillna(0).astype("int64"),
        }
    ).sort_values("product")

    days_left = (contracts["end"] - as_of).dt.days
    c = contracts.assign(days_left=days_left.astype("Int64"), active=active_mask(contracts, as_of))
    soon = (
        c["kind"].isin((ANNUAL, TRIAL))
        & c["active"]
        & (c["days_left"] >= 0)
        & (c["days_left"] <= EXPIRY_HORIZON)
    )
    expiring = sort_rows(c[soon.fillna(False)], ["partner", "end", "client"])
    expiring = expiring[
        ["partner", "client", "client_name", "product", "term", "licences", "end", "days_left"]
    ]
    # candidates keep the contracts' index: one figure per contract, never a key's total
    c["recoverable"] = candidates["recoverable"].reindex(c.index).fillna(0).astype("int64")

    info = partners.drop_duplicates("partner")
    info = info.assign(currency=currencies(info))
    return {
        "as_of": as_of,
        "partners": info[["partner", "name", "provider", "currency"]],
        "pool": now.annual,
        "monthly_pool": now.monthly,
        "points": now.points,
        "trials": trials,
        "expiring": expiring,
        "recoverable": candidates,
        "contracts": c,
        "spend": spend_summary(pool[pool["date"] <= as_of], discounts),
        "overuse": overuse(c[c["active"].fillna(False).astype(bool)]),
    }


def overuse(contracts: pd.DataFrame) -> pd.DataFrame:
    """SPEC §8: contracts whose `devices_used` is above their `licences` (a finding)."""
    over = (contracts["devices_used"] > contracts["licences"]).fillna(False).astype(bool)
    c = contracts[over]
    out = c.assign(
        licences=c["licences"].astype("int64"),
        devices_used=c["devices_used"].astype("int64"),
        unlicensed=(c["devices_used"] - c["licences"]).astype("int64"),
    )
    return out.sort_values(["partner", "client", "product"], kind="stable")[OVERUSE_COLUMNS]


def _exact_sums(keys: pd.Series, values: pd.Series) -> pd.Series:
    """Money summed exactly (Decimal, never through float) per key, a blank key left out:
    ``values.groupby(keys).agg(sum)`` in one pass over the rows, each group's values
    added in row order as the groupby adds them, without a Python aggregate per group
    (12,000 partners: about 0.1 s).  A value that is not a Decimal is made one."""
    present = keys.notna().to_numpy(dtype=bool)
    sums: dict[Any, Decimal] = {}
    get, zero = sums.get, Decimal(0)
    for key, value in zip(keys[present].tolist(), values[present].tolist(), strict=True):
        sums[key] = get(key, zero) + (value if type(value) is Decimal else Decimal(value))
    return pd.Series(sums, dtype=object)


def partner_summary(view: StatusView) -> pd.DataFrame:
    """One row per partner of every aggregate the outputs show (computed once, here).

    Columns: partner, available (annual pool), monthly, points, points_needed and
    shortfall (next month, monthly), expiring_contracts, expiring_licences,
    recoverable, unlicensed, at_risk (licences and devices short over the horizon),
    annual_at_risk, monthly_at_risk, points_to_buy, licences_to_buy, estimated_total,
    spend, recoverable_value (recoverable × the O6 unit price), currency.

    Computed once per view (the status JSON, the Summary sheet and the report totals all
    ask for it); every call returns a copy the caller may change.
    """
    cached = view._summary.get("summary")
    if cached is None:
        cached = view._summary["summary"] = _partner_summary(view)
    return cached.copy()


def _partner_summary(view: StatusView) -> pd.DataFrame:
    p = view.partners.set_index("partner")
    out = pd.DataFrame(index=p.index)
    out["provider"] = p["provider"]
    out["currency"] = p["currency"]

    def total(frame: pd.DataFrame, column: str) -> pd.Series:
        if frame.empty:
            return pd.Series(0, index=out.index, dtype="int64")
        s = frame.groupby("partner")[column].sum()
        return s.reindex(out.index).fillna(0).astype("int64")

    out["available"] = total(view.pool, "available")
    out["monthly"] = total(view.monthly_pool, "available")
    out["points"] = total(view.points, "available")
    out["points_needed"] = total(view.forecast, "points_needed")
    out["shortfall"] = total(view.forecast, "shortfall")
    out["expiring_contracts"] = (
        view.expiring.groupby("partner").size().reindex(out.index).fillna(0).astype("int64")
    )
    out["expiring_licences"] = total(view.expiring, "licences")
    out["recoverable"] = total(view.recoverable, "recoverable")
    out["unlicensed"] = total(view.overuse, "unlicensed")
    o = view.outlook
    risk = o.at_risk[["partner", "short"]]  # the columns summed: a narrower copy
    annual = (o.at_risk["kind"] == ANNUAL).to_numpy()  # a blank kind is not annual, as `!=`
    out["annual_at_risk"] = total(risk[annual], "short")
    out["monthly_at_risk"] = total(risk[~annual], "short")
    points = o.points.set_index("partner")
    out["points_to_buy"] = points["points_to_buy"].reindex(out.index).fillna(0).astype("int64")
    out["licences_to_buy"] = total(o.buy, "to_buy")
    out["estimated_total"] = estimated_total(o.buy).reindex(out.index)
    out["at_risk"] = out["annual_at_risk"] + out["monthly_at_risk"]
    out["spend"] = _exact_sums(view.spend["partner"], view.spend["spend"]).reindex(out.index)
    out["recoverable_value"] = recoverable_value(view).reindex(out.index).astype(object)
    return out.reset_index()


def recoverable_value(view: StatusView) -> pd.Series:
    """Per partner: Σ recoverable × the O6 unit price of its product and term (list value;
    candidates without a known price count nothing)."""
    rec = view.recoverable
    if rec.empty:
        return pd.Series(dtype=object)
    own, anyone = view.outlook.prices
    keys = pd.MultiIndex.from_frame(rec[["partner", "product", "term"]])
    price = own.reindex(keys).to_numpy()
    fallback = anyone.reindex(pd.MultiIndex.from_frame(rec[["product", "term"]])).to_numpy()
    price = np.where(pd.isna(price), fallback, price)
    known = pd.notna(price)
    totals: dict[str, Decimal] = {}
    for partner, n, unit in zip(
        rec["partner"].to_numpy()[known].tolist(),
        rec["recoverable"].to_numpy()[known].tolist(),
        price[known].tolist(),
        strict=True,
    ):
        totals[partner] = totals.get(partner, Decimal(0)) + int(n) * Decimal(unit)
    return pd.Series(totals, dtype=object)


def next_month_forecast(outlook: Outlook, at_first: Balances) -> pd.DataFrame:
    """Per partner and product: the monthly rows of the outlook's first month (devices due,
    licences there, shortfall, points needed) and the points balance after buying each
    product's shortfall, in product order.  The numbers are the projection's own."""
    rows = outlook.rows
    first = rows[(rows["kind"] == MONTHLY) & (rows["month"] == outlook.months[0])]
    f = first.rename(columns={"due": "devices_due"}).sort_values(
        ["partner", "product"], kind="stable"
    )
    f = f.reset_index(drop=True)
    for col in ("devices_due", "available", "shortfall"):
        f[col] = f[col].astype("int64")
    f["points_needed"] = f["points_needed"].fillna(0).astype("int64")
    points = at_first.points.set_index("partner")["available"]
    spent = f.groupby("partner")["points_needed"].cumsum()
    f["points_balance_after"] = (f["partner"].map(points).fillna(0) - spent).astype("int64")
    cols = [
        "partner", "product", "devices_due", "available", "shortfall", "points_needed",
        "points_balance_after",
    ]  # fmt: skip
    return f[cols]


def pipeline(contracts: pd.DataFrame, as_of: pd.Timestamp, months: int = 12) -> pd.DataFrame:
    """Annual contracts and trials ending in each of the next `months` months, per partner."""
    first = as_of.normalize().replace(day=1)
    stop = first + pd.offsets.MonthBegin(months)
    c = contracts[
        contracts["kind"].isin((ANNUAL, TRIAL))
        & (contracts["end"] > as_of)
        & (contracts["end"] < stop)
        & (contracts["start"] <= as_of)
    ]
    out = (
        c.assign(month=month_text(c["end"]))  # each distinct day formatted once
        .groupby(["partner", "month"])
        .agg(contracts=("licences", "size"), licences=("licences", "sum"))
        .reset_index()
    )
    out["licences"] = out["licences"].astype("int64")
    return out


# --------------------------------------------------------------------------- report totals

EXPIRY_BUCKETS = (30, 60, EXPIRY_HORIZON)  # days left: 0–30, 31–60, 61–90
COVERS = ("covered", "partly", "not covered", "manual")
HISTORY_MONTHS = 12  # the report's history section: the last 12 recorded months


@dataclass(frozen=True)
class Totals:
    """Every aggregate the outputs show, one row per partner and key (SPEC §5, §7, §9).

    Computed once, with pandas, for all partners; `overall` adds the partners up for
    the all-partners report, and a partner's own report selects its rows.  The
    outputs only select and format these numbers ("if two outputs show the same
    number, one function computed it").
    """

    partners: pd.DataFrame  # partner_summary + name, dropped, pipeline, …: one row per partner
    available: pd.DataFrame  # partner, product, term ("1"/"2"/"3"/"monthly"), available
    by_product: pd.DataFrame  # partner, product, available (annual pools, every term)
    by_term: pd.DataFrame  # partner, term, available (annual pools, every product)
    monthly: (
        pd.DataFrame
    )  # partner, product, pool, devices_due, available, shortfall, points_needed
    outlook: pd.DataFrame  # partner, month, kind, due, served, shortfall, points_needed
    at_risk: pd.DataFrame  # partner, client, client_name, product, term, kind, month, months, short
    pipeline: pd.DataFrame  # partner, month, contracts, licences
    expiry: pd.DataFrame  # partner, bucket (0, 1, 2), contracts, licences
    worklist: pd.DataFrame  # partner, cover, count
    run: pd.DataFrame  # partner, lines, requested, renewed, dropped, points, exchanged, ...
    history: pd.DataFrame  # history.COLUMNS: per partner and recorded month


def _sum_by(frame: pd.DataFrame, keys: list[str], columns: list[str]) -> pd.DataFrame:
    """Σ `columns` per `keys` (sorted), as int64; an empty frame keeps its columns."""
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in columns else object)
                             for c in keys + columns})  # fmt: skip
    out = frame.groupby(keys, sort=True)[columns].sum().reset_index()
    for c in columns:
        out[c] = pd.to_numeric(out[c]).fillna(0).astype("int64")
    return out


def available_by_product_term(view: StatusView) -> pd.DataFrame:
    """Per partner, product and term: the annual pools (terms "1"/"2"/"3") and the monthly
    pool (term "monthly"), as the status date finds them."""
    annual = view.pool.assign(term=view.pool["term"].astype(str))
    monthly = view.monthly_pool.assign(term=MONTHLY)
    cols = ["partner", "product", "term", "available"]
    return _sum_by(pd.concat([annual[cols], monthly[cols]]), cols[:3], ["available"])


def monthly_by_product(view: StatusView) -> pd.DataFrame:
    """Per partner and product: the monthly pool now and next month's forecast."""
    pool = _sum_by(
        view.monthly_pool.rename(columns={"available": "pool"}), ["partner", "product"], ["pool"]
    )
    cols = ["devices_due", "available", "shortfall", "points_needed"]
    forecast = _sum_by(view.forecast, ["partner", "product"], cols)
    out = pool.merge(forecast, on=["partner", "product"], how="outer")
    for c in ["pool", *cols]:
        out[c] = out[c].fillna(0).astype("int64")
    return out.sort_values(["partner", "product"], kind="stable").reset_index(drop=True)


def outlook_by_month(outlook: Outlook) -> pd.DataFrame:
    """Per partner, month and kind: due, served, short and points needed (O4, O5)."""
    rows = outlook.rows.assign(points_needed=outlook.rows["points_needed"].fillna(0))
    return _sum_by(
        rows, ["partner", "month", "kind"], ["due", "served", "shortfall", "points_needed"]
    )


def clients_at_risk(outlook: Outlook) -> pd.DataFrame:
    """One row per partner, client, product and term left short in the outlook: the first
    month short, how many months, and the largest shortfall."""
    risk = outlook.at_risk
    cols = ["partner", "client", "client_name", "product", "term", "kind", "month", "months",
            "short"]  # fmt: skip
    keys = ["partner", "client", "product", "term"]
    # the first month short as the least code of the sorted months ("YYYY-MM" sorts as
    # time): a min over a python-storage string column has no fast path in pandas
    codes, months = pd.factorize(risk["month"], sort=True)
    r = risk.assign(term=risk["term"].astype(str), month_code=codes)
    r = r[r[keys].notna().all(axis=1).to_numpy()]  # as a groupby: no blank key part
    if r.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    # grouped on sort keys (`keys.sorted_groups`: the client ids are known by then), each
    # group's rows in their order, as ``groupby(keys, sort=True)`` would
    order, group = sorted_groups(r, keys)
    rows = r.take(order)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    out = rows.iloc[starts][keys].reset_index(drop=True)
    out["client_name"] = _first_present(rows["client_name"], starts)
    out["kind"] = _first_present(rows["kind"], starts)
    out["month"] = months.take(np.minimum.reduceat(rows["month_code"].to_numpy(), starts))
    out["months"] = np.diff(np.r_[starts, len(rows)]).astype("int64")
    out["short"] = np.maximum.reduceat(rows["short"].to_numpy(dtype=np.int64), starts)
    return out[cols]


def _first_present(values: pd.Series, starts: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Per group of rows from each of `starts` to the next, its first value that is not
    blank (blank if none), as a groupby's ``first``."""
    n = len(values)
    at = np.minimum.reduceat(np.where(values.notna().to_numpy(), np.arange(n), n), starts)
    return values.array.take(np.where(at == n, -1, at), allow_fill=True)


def expiry_buckets(view: StatusView) -> pd.DataFrame:
    """Per partner: contracts and licences ending within 0–30, 31–60 and 61–90 days."""
    e = view.expiring
    bucket = np.searchsorted(np.array(EXPIRY_BUCKETS[:-1]), e["days_left"].astype("int64"))
    e = e.assign(bucket=bucket, contracts=1)
    return _sum_by(e, ["partner", "bucket"], ["contracts", "licences"])


def worklist_counts(outlook: Outlook) -> pd.DataFrame:
    """Per partner and verdict (covered, partly, not covered, manual): annual contracts."""
    w = outlook.worklist.assign(count=1)
    return _sum_by(w, ["partner", "cover"], ["count"])


RUN_COLUMNS = ["partner", "lines", "requested", "renewed", "dropped", "points", "exchanged",
               "dropped_lines", "dropped_clients"]  # fmt: skip


def run_totals(lines: pd.DataFrame | None, exchanged: pd.Series | None) -> pd.DataFrame:
    """Per partner, the renewal run's lines: requested, renewed, dropped, points (None when
    no line has points), points exchanged, lines and clients with dropped devices."""
    if lines is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RUN_COLUMNS})
    short = lines["dropped"] > 0
    pts = pd.to_numeric(lines["points"], errors="coerce")
    g = lines.assign(
        lines=1,
        dropped_lines=short.astype("int64"),
        has_points=pts.notna(),
        points=pts.fillna(0),
        short_client=lines["client"].where(short),
    ).groupby("partner", sort=False)
    out = g[["lines", "requested", "renewed", "dropped", "points", "dropped_lines"]].sum()
    out["dropped_clients"] = g["short_client"].nunique()
    has_points = g["has_points"].any()
    ex = exchanged if exchanged is not None else pd.Series(dtype="int64")
    index = out.index.union(ex.index)
    out = out.reindex(index).fillna(0).astype("int64")
    out["exchanged"] = ex.reindex(index).fillna(0).astype("int64")
    out["points"] = (
        out["points"].astype(object).where(has_points.reindex(index, fill_value=False), None)
    )
    return out.rename_axis("partner").reset_index()[RUN_COLUMNS]


def report_totals(
    view: StatusView,
    *,
    pipeline_rows: pd.DataFrame,
    history_rows: pd.DataFrame,
    lines: pd.DataFrame | None = None,
    exchanged: pd.Series | None = None,
) -> Totals:
    """Every aggregate of the report, per partner, from the status model, the 12-month
    pipeline, the recorded history and the run's lines (None: no run in this report)."""
    summary = partner_summary(view)
    run = run_totals(lines, exchanged)
    info = view.partners.set_index("partner")
    summary["name"] = summary["partner"].map(info["name"])
    dropped = run.set_index("partner")["dropped"] if lines is not None else None
    summary["dropped"] = (
        summary["partner"].map(dropped).fillna(0).astype("int64").astype(object)
        if dropped is not None
        else None
    )
    pipe = pipeline_rows.groupby("partner")["licences"].sum()
    summary["pipeline"] = summary["partner"].map(pipe).fillna(0).astype("int64")
    rec = view.recoverable.groupby("partner").size()
    summary["recoverable_contracts"] = summary["partner"].map(rec).fillna(0).astype("int64")
    buy = view.outlook.buy
    unknown = buy[buy["unit_price"].isna()].groupby("partner").size()
    summary["unknown_prices"] = summary["partner"].map(unknown).fillna(0).astype("int64")
    monthly = monthly_by_product(view)
    for column, name in (("devices_due", "devices_due"), ("available", "monthly_available")):
        per = monthly.groupby("partner")[column].sum()
        summary[name] = summary["partner"].map(per).fillna(0).astype("int64")
    contracts = pipeline_rows.groupby("partner")["contracts"].sum()
    summary["pipeline_contracts"] = summary["partner"].map(contracts).fillna(0).astype("int64")
    available = available_by_product_term(view)
    annual = available[available["term"] != MONTHLY]
    return Totals(
        partners=summary,
        available=available,
        by_product=_sum_by(annual, ["partner", "product"], ["available"]),
        by_term=_sum_by(annual, ["partner", "term"], ["available"]),
        monthly=monthly,
        outlook=outlook_by_month(view.outlook),
        at_risk=clients_at_risk(view.outlook),
        pipeline=pipeline_rows[["partner", "month", "contracts", "licences"]],
        expiry=expiry_buckets(view),
        worklist=worklist_counts(view.outlook),
        run=run,
        history=history_rows,
    )


OVERALL = "*"  # the partner key of the all-partners rows `overall` returns


def overall(totals: Totals) -> Totals:
    """All partners added up: the same frames, with one partner `OVERALL` (money per
    currency, never across currencies: see `money_by_currency`)."""

    def up(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        cols = [c for c in frame.columns if c not in keys and c != "partner"]
        out = _sum_by(frame, keys, cols) if keys else _total_row(frame, cols)
        out.insert(0, "partner", OVERALL)
        return out

    run = totals.run
    run_all = up(run.drop(columns="points"), [])
    known = [p for p in run["points"].tolist() if p is not None]
    run_all["points"] = [sum(known) if known else None]
    return Totals(
        partners=totals.partners,
        available=up(totals.available, ["product", "term"]),
        by_product=up(totals.by_product, ["product"]),
        by_term=up(totals.by_term, ["term"]),
        monthly=up(totals.monthly, ["product"]),
        outlook=up(totals.outlook, ["month", "kind"]),
        at_risk=totals.at_risk,
        pipeline=up(totals.pipeline, ["month"]),
        expiry=up(totals.expiry, ["bucket"]),
        worklist=up(totals.worklist, ["cover"]),
        run=run_all[RUN_COLUMNS] if len(run) else run,
        history=up(totals.history, ["month"]),
    )


def _total_row(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: [int(pd.to_numeric(frame[c]).sum())] for c in columns})


SUMMED = [
    "available", "monthly", "points", "points_needed", "shortfall", "expiring_contracts",
    "expiring_licences", "recoverable", "unlicensed", "at_risk", "annual_at_risk",
    "monthly_at_risk", "points_to_buy", "licences_to_buy", "pipeline", "recoverable_contracts",
    "unknown_prices", "devices_due", "monthly_available", "pipeline_contracts",
]  # fmt: skip


def summary_total(partners: pd.DataFrame) -> dict[str, object]:
    """The partner summaries added up (the all-partners KPIs): counts in `SUMMED`, the run's
    dropped devices (None without a run), and the partners per provider."""
    total: dict[str, object] = {c: int(partners[c].sum()) for c in SUMMED}
    dropped = partners["dropped"]
    total["dropped"] = int(dropped.fillna(0).sum()) if dropped.notna().any() else None
    total["partners"] = len(partners)
    total["providers"] = partners["provider"].fillna("Unknown").value_counts().sort_index()
    return total


def money_by_currency(partners: pd.DataFrame, column: str) -> pd.DataFrame:
    """Σ a money column of the partner summaries per currency (known amounts only)."""
    known = partners[partners[column].notna()]
    totals: dict[str, Decimal] = {}
    for currency, amount in zip(known["currency"], known[column], strict=True):
        totals[currency] = totals.get(currency, Decimal(0)) + amount
    return pd.DataFrame({"currency": sorted(totals), "amount": [totals[c] for c in sorted(totals)]})
