"""The "My available licenses" view, the next month's forecast and the renewal pipeline.

Everything is a frame keyed by partner, so one partner or a thousand cost the
same code; turning them into JSON or sheets is the writers' job.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from licreport.ledger.schema import TRIAL
from licreport.rules.contracts import ANNUAL, active_mask
from licreport.rules.pricing import spend_summary
from licreport.rules.recovery import recoverable
from licreport.rules.renewal import due_annual, due_monthly
from licreport.rules.replay import Balances

EXPIRY_HORIZON = 90


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
    annual_due: pd.DataFrame  # partner, product, term, licences_due, available, shortfall
    contracts: pd.DataFrame  # every contract with end, days_left, active, recoverable
    spend: pd.DataFrame  # pricing.SUMMARY_COLUMNS: what the pool cost (R5)


def status_view(
    partners: pd.DataFrame,
    products: pd.DataFrame,
    pool: pd.DataFrame,
    discounts: pd.DataFrame,
    contracts: pd.DataFrame,
    now: Balances,
    next_month: Balances,
    as_of: pd.Timestamp,
) -> StatusView:
    """`now`: balances on `as_of`; `next_month`: balances on the 1st of the next month."""
    first_next = (as_of + pd.offsets.MonthBegin(1)).normalize()
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

    return StatusView(
        as_of=as_of,
        partners=partners[["partner", "name", "provider"]].drop_duplicates("partner"),
        pool=now.annual,
        monthly_pool=now.monthly,
        points=now.points,
        trials=trials,
        expiring=expiring,
        recoverable=candidates,
        forecast=monthly_forecast(contracts, next_month, first_next),
        annual_due=annual_forecast(contracts, next_month, first_next),
        contracts=c,
        spend=spend_summary(pool[pool["date"] <= as_of], discounts),
    )


def monthly_forecast(
    contracts: pd.DataFrame, at_first: Balances, first: pd.Timestamp
) -> pd.DataFrame:
    """Per partner and product: devices due on `first`, licences there, shortfall, points."""
    due = due_monthly(contracts, first)
    need = due.groupby(["partner", "product"]).agg(
        devices_due=("licences", "sum"), ppl=("points_per_licence", "first")
    )
    have = at_first.monthly.set_index(["partner", "product"])["available"].clip(lower=0)
    f = need.join(have, how="left").fillna({"available": 0}).reset_index()
    f["devices_due"] = f["devices_due"].astype("int64")
    f["available"] = f["available"].astype("int64")
    f["shortfall"] = (f["devices_due"] - f["available"]).clip(lower=0)
    f["points_needed"] = (f["shortfall"] * f["ppl"].astype("Int64")).fillna(0).astype("int64")
    f = f.sort_values(["partner", "product"], kind="stable").reset_index(drop=True)
    # what the points balance would be after buying each product's shortfall, in order
    points = at_first.points.set_index("partner")["available"]
    spent = f.groupby("partner")["points_needed"].cumsum()
    f["points_balance_after"] = (f["partner"].map(points).fillna(0) - spent).astype("int64")
    cols = [
        "partner", "product", "devices_due", "available", "shortfall", "points_needed",
        "points_balance_after",
    ]  # fmt: skip
    return f[cols]


def annual_forecast(
    contracts: pd.DataFrame, at_first: Balances, first: pd.Timestamp
) -> pd.DataFrame:
    """Per partner, product and term: auto-renewing licences ending in the month of `first`."""
    due = due_annual(contracts, first)
    keys = ["partner", "product", "term"]
    need = due.groupby(keys).agg(contracts=("licences", "size"), licences_due=("licences", "sum"))
    have = at_first.annual.set_index(keys)["available"].clip(lower=0)
    f = need.join(have, how="left").fillna({"available": 0}).reset_index()
    for col in ("contracts", "licences_due", "available"):
        f[col] = f[col].astype("int64")
    f["shortfall"] = (f["licences_due"] - f["available"]).clip(lower=0)
    return f.sort_values(keys, kind="stable").reset_index(drop=True)


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
