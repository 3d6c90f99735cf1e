"""The "My available licenses" view, the next month's forecast and the renewal pipeline.

Everything is a frame keyed by partner, so one partner or a thousand cost the
same code; turning them into JSON or sheets is the writers' job.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from licreport.ledger.schema import MONTHLY, TRIAL
from licreport.rules.contracts import ANNUAL, active_mask
from licreport.rules.outlook import Outlook, estimated_total, latest_prices
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
    prices: pd.DataFrame  # the Pool rows the O6 unit prices come from
    overuse: pd.DataFrame  # OVERUSE_COLUMNS: active contracts using more devices than licences
    outlook: Outlook  # SPEC §7: the next N months, the buying list, the worklist
    policy: str = "priority"


def status_view(
    partners: pd.DataFrame,
    products: pd.DataFrame,
    pool: pd.DataFrame,
    discounts: pd.DataFrame,
    contracts: pd.DataFrame,
    now: Balances,
    next_month: Balances,
    as_of: pd.Timestamp,
    outlook: Outlook,
    policy: str = "priority",
) -> StatusView:
    """`now`: balances on `as_of`; `next_month`: balances on the 1st of the next month (the
    outlook's first month, `outlook` built from the same ledger)."""
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
    expiring = c[soon.fillna(False)].sort_values(["partner", "end", "client"], kind="stable")
    expiring = expiring[
        ["partner", "client", "client_name", "product", "term", "licences", "end", "days_left"]
    ]
    # candidates keep the contracts' index: one figure per contract, never a key's total
    c["recoverable"] = candidates["recoverable"].reindex(c.index).fillna(0).astype("int64")

    info = partners.drop_duplicates("partner")
    currency = info["currency"] if "currency" in info else pd.Series(pd.NA, index=info.index)
    code = currency.astype("string").str.strip().str.upper()
    info = info.assign(currency=code.mask(code == "").fillna(DEFAULT_CURRENCY))
    return StatusView(
        as_of=as_of,
        partners=info[["partner", "name", "provider", "currency"]],
        pool=now.annual,
        monthly_pool=now.monthly,
        points=now.points,
        trials=trials,
        expiring=expiring,
        recoverable=candidates,
        forecast=next_month_forecast(outlook, next_month),
        contracts=c,
        spend=spend_summary(pool[pool["date"] <= as_of], discounts),
        prices=pool,
        overuse=overuse(c[c["active"].fillna(False).astype(bool)]),
        outlook=outlook,
        policy=policy,
    )


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


def _exact_sum(values: pd.Series) -> Decimal:
    """Money summed exactly (Decimal), never through float."""
    return sum((Decimal(v) for v in values), Decimal(0))


def partner_summary(view: StatusView) -> pd.DataFrame:
    """One row per partner of every aggregate the outputs show (computed once, here).

    Columns: partner, available (annual pool), monthly, points, points_needed and
    shortfall (next month, monthly), expiring_contracts, expiring_licences,
    recoverable, unlicensed, at_risk (licences and devices short over the horizon),
    annual_at_risk, monthly_at_risk, points_to_buy, licences_to_buy, estimated_total,
    spend, recoverable_value (recoverable × the O6 unit price), currency.
    """
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
    risk = o.at_risk
    out["annual_at_risk"] = total(risk[risk["kind"] == ANNUAL], "short")
    out["monthly_at_risk"] = total(risk[risk["kind"] != ANNUAL], "short")
    points = o.points.set_index("partner")
    out["points_to_buy"] = points["points_to_buy"].reindex(out.index).fillna(0).astype("int64")
    out["licences_to_buy"] = total(o.buy, "to_buy")
    out["estimated_total"] = estimated_total(o.buy).reindex(out.index)
    out["at_risk"] = out["annual_at_risk"] + out["monthly_at_risk"]
    spend = view.spend.groupby("partner")["spend"].agg(_exact_sum)
    out["spend"] = spend.reindex(out.index).astype(object)
    out["recoverable_value"] = recoverable_value(view).reindex(out.index).astype(object)
    return out.reset_index()


def recoverable_value(view: StatusView) -> pd.Series:
    """Per partner: Σ recoverable × the O6 unit price of its product and term (list value;
    candidates without a known price count nothing)."""
    rec = view.recoverable
    if rec.empty:
        return pd.Series(dtype=object)
    own, anyone = latest_prices(view.prices)
    keys = pd.MultiIndex.from_frame(rec[["partner", "product", "term"]])
    price = own.reindex(keys).to_numpy()
    fallback = anyone.reindex(pd.MultiIndex.from_frame(rec[["product", "term"]])).to_numpy()
    price = np.where(pd.isna(price), fallback, price)
    totals: dict[str, Decimal] = {}
    for partner, n, unit in zip(rec["partner"], rec["recoverable"], price, strict=True):
        if unit is not None and not pd.isna(unit):
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
    month = c["end"].dt.strftime("%Y-%m")
    out = (
        c.assign(month=month)
        .groupby(["partner", "month"])
        .agg(contracts=("licences", "size"), licences=("licences", "sum"))
        .reset_index()
    )
    out["licences"] = out["licences"].astype("int64")
    return out
