"""The outlook (SPEC §7, O1–O6): what the next N months need, who would lose
protection, and what the partner must buy.

Pure pandas: the months are projected one after the other (a month's pools are
what the month before left), and each month is served by `plan_renewals`, the
very function `renew` runs, so the first month of the outlook is what
``renew --dry-run`` would find, by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from licreport.ledger.model import Ledger
from licreport.ledger.schema import MONTH_FIRST, MONTHLY, PANDA, PURCHASE, ROW, TRIAL
from licreport.rules import DEFAULT_HORIZON as DEFAULT_HORIZON
from licreport.rules import MAX_HORIZON as MAX_HORIZON
from licreport.rules.contracts import ANNUAL, apply_events
from licreport.rules.keys import account_ids, labels, sort_key, sort_rows
from licreport.rules.pricing import ZERO, block_prices
from licreport.rules.renewal import balances_after, plan_renewals
from licreport.rules.replay import Balances

KINDS = (ANNUAL, MONTHLY)  # row order: annual before monthly

ROW_COLUMNS = [
    "partner", "month", "kind", "product", "term", "due", "available", "served",
    "shortfall", "points_needed",
]  # fmt: skip
RISK_COLUMNS = ["partner", "month", "kind", "product", "term", "client", "client_name", "short"]
BUY_COLUMNS = [
    "partner", "product", "term", "short", "recoverable", "to_buy", "unit_price", "discount",
    "estimated_cost",
]  # fmt: skip
POINTS_COLUMNS = ["partner", "points_needed", "points_balance", "points_to_buy"]
WORK_COLUMNS = [
    "partner", "month", "client", "client_name", "product", "term", "licences", "end",
    "auto_renew", "cover",
]  # fmt: skip
TRIAL_COLUMNS = ["partner", "client", "client_name", "product", "licences", "end"]
# the renewal worklist's verdicts
COVERED, PARTLY, NOT_COVERED, MANUAL = "covered", "partly", "not covered", "manual"


@dataclass(frozen=True)
class Outlook:
    months: list[str]  # F1 … FN as YYYY-MM
    rows: pd.DataFrame  # ROW_COLUMNS: one per partner, month, kind, product, term with due > 0
    at_risk: pd.DataFrame  # RISK_COLUMNS: the clients left short, per row
    buy: pd.DataFrame  # BUY_COLUMNS: per partner, product and term with an annual shortfall
    points: pd.DataFrame  # POINTS_COLUMNS: per partner
    worklist: pd.DataFrame  # WORK_COLUMNS: annual contracts ending in the horizon, by month
    trials: pd.DataFrame  # TRIAL_COLUMNS: trials ending by the horizon's end (conversions)
    # the O6 unit prices (`latest_prices`): per partner, product and term, and the fallback
    # per product and term; found once, for the buying list and the recoverable licences'
    # value (`status.recoverable_value`: the report and the Summary sheet, one process each)
    prices: tuple[pd.Series, pd.Series]


def outlook_months(as_of: pd.Timestamp, horizon: int) -> list[pd.Timestamp]:
    """O1: the 1sts of the `horizon` months whose 1st comes strictly after `as_of`."""
    if not 1 <= horizon <= MAX_HORIZON:
        raise ValueError(f"horizon must be 1 to {MAX_HORIZON} months, not {horizon}")
    first = pd.Timestamp(as_of).normalize() + pd.offsets.MonthBegin(1)
    return [first + pd.offsets.MonthBegin(k) for k in range(horizon)]


def without_recorded_runs(ledger: Ledger, months: list[str]) -> Ledger | None:
    """O2: the ledger without the renewal lines of runs recorded for `months` and the
    exchanges those runs bought (None when there is nothing to leave out), so a month is
    never counted twice."""
    lines = ledger["Renewals"]
    firsts = pd.DatetimeIndex([pd.Timestamp(f"{m}-01") for m in months])
    recorded = lines[MONTH_FIRST].isin(firsts).fillna(False).astype(bool)
    if not recorded.any():
        return None
    runs = lines.loc[recorded, "run"].dropna().unique().tolist()
    bought = ledger["Exchanges"]["run"].isin(runs).fillna(False).astype(bool)
    return ledger.without("Renewals", recorded).without("Exchanges", bought)


@dataclass(frozen=True)
class Projection:
    """`project`'s months for some of the partners: per month its rows, its clients left
    short with their names (None: no renewal line that month) and its worklist."""

    rows: list[pd.DataFrame | None]
    risks: list[pd.DataFrame | None]
    work: list[pd.DataFrame]


def project(
    contracts: pd.DataFrame,
    start: Balances,
    firsts: list[pd.Timestamp],
    policy: str = "priority",
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """O2–O4: serve each month's due contracts from the pools carried from the month before.

    `contracts` as the ledger stands on the status date, `start` the balances on the 1st of
    F1.  Returns (rows, at_risk, worklist).  A renewed annual contract moves its end by its
    term (the same event a recorded renewal line is); monthly contracts ask for their
    licences again every month.
    """
    return joined([projection(contracts, start, firsts, policy)])


def projection(
    contracts: pd.DataFrame,
    start: Balances,
    firsts: list[pd.Timestamp],
    policy: str = "priority",
) -> Projection:
    """`project`'s months, not yet joined: partners share nothing (pools, points and
    contracts are each one partner's), so partner ranges can be projected apart."""
    catalogue = contracts.dropna(subset=["product"]).drop_duplicates("product")
    ppl = catalogue.set_index("product")["points_per_licence"]
    rows: list[pd.DataFrame | None] = []
    risks: list[pd.DataFrame | None] = []
    work = []
    balances = start
    for first in firsts:
        month = f"{first:%Y-%m}"
        plan = plan_renewals(
            contracts, balances, month=month, run="outlook", policy=policy, would=False
        )
        lines = plan.lines
        work.append(_worklist(contracts, lines, first, month))
        rows.append(_month_rows(lines, balances, month, ppl) if len(lines) else None)
        risks.append(None)
        if len(lines):
            short = lines[lines["dropped"] > 0]
            risks[-1] = short.assign(
                month=month,
                kind=labels([short["term"] == MONTHLY], [MONTHLY], ANNUAL),
                short=short["dropped"],
            )[[c for c in RISK_COLUMNS if c != "client_name"]]
            annual = lines[lines["term"] != MONTHLY]
            if len(annual):
                contracts = _renew_annual(contracts, annual, month)
        balances = balances_after(balances, plan)
    # client names once, on the rows at risk (not per month over every contract); here, in
    # the process that projects these partners, not on the joined rows
    return Projection(rows, _client_names(contracts, risks), work)


def _client_names(
    contracts: pd.DataFrame, risks: list[pd.DataFrame | None]
) -> list[pd.DataFrame | None]:
    """Each frame of `risks` with its clients' names: the first name given for the
    partner and client in `contracts` (blank if none), as a left merge on the first row
    of each (partner, client) with a name gives.  The keys are `sort_key` codes (the
    client ids' ranks are known by then), not a merge on two text columns: 1.8 s for the
    650,000 rows at risk of half the partners at 12 x SPEC §6."""
    frames = [r for r in risks if r is not None]
    if not frames:
        return risks
    has_name = contracts["client_name"].notna().to_numpy(dtype=bool)
    named = contracts.loc[has_name, ["partner", "client", "client_name"]]  # not every column
    keys = pd.concat([named[["partner", "client"]], *(r[["partner", "client"]] for r in frames)])
    try:
        ids = account_ids([sort_key(keys[c].reset_index(drop=True)) for c in ("partner", "client")])
    except TypeError:  # keys that do not compare: the merge decides
        names = named[["partner", "client", "client_name"]].drop_duplicates(["partner", "client"])
        return [
            None
            if r is None
            else r.merge(names, on=["partner", "client"], how="left")[RISK_COLUMNS]
            for r in risks
        ]
    known, first = np.unique(ids[: len(named)], return_index=True)
    name = named["client_name"]
    out: list[pd.DataFrame | None] = []
    at = len(named)
    for r in risks:
        if r is None:
            out.append(None)
            continue
        wanted = ids[at : at + len(r)]
        at += len(r)
        pos = np.minimum(np.searchsorted(known, wanted), max(len(known) - 1, 0))
        found = known[pos] == wanted if len(known) else np.zeros(len(r), dtype=bool)
        picked = name.iloc[first[pos[found]]].to_numpy()
        values = pd.Series(np.nan, index=range(len(r)), dtype=object)
        values.iloc[np.flatnonzero(found)] = picked
        out.append(
            r.reset_index(drop=True).assign(client_name=values.astype(name.dtype))[RISK_COLUMNS]
        )
    return out


def joined(parts: Sequence[Projection]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """`project`'s (rows, at_risk, worklist) from the projections of partner ranges given in
    partner order (`partner_halves`): month by month, one range after the other, as each
    month's frames are ordered by partner first."""
    months = range(len(parts[0].work))
    rows = [r for m in months for p in parts if (r := p.rows[m]) is not None]
    risks = [r for m in months for p in parts if (r := p.risks[m]) is not None]
    work = [p.work[m] for m in months for p in parts]
    return _concat(rows, ROW_COLUMNS), _concat(risks, RISK_COLUMNS), _concat(work, WORK_COLUMNS)


def _worklist(
    contracts: pd.DataFrame, lines: pd.DataFrame, first: pd.Timestamp, month: str
) -> pd.DataFrame:
    """Annual contracts ending in the month of `first`, and whether the pool covers them:
    `manual` without auto_renew, else by their renewal line (covered / partly / not
    covered)."""
    c = contracts
    nxt = first + pd.offsets.MonthBegin(1)
    ending = c[
        ((c["kind"] == ANNUAL) & (c["end"] >= first) & (c["end"] < nxt)).fillna(False)
        & (c["licences"].fillna(0) > 0)
    ]
    keys = ["partner", "client", "product", "term"]
    annual = lines[(lines["term"] != MONTHLY).to_numpy(dtype=bool)]  # the only ones that match
    line = annual.set_index(keys)[["requested", "renewed"]]
    at = line.reindex(pd.MultiIndex.from_frame(ending[keys].astype(object)))
    renewed, requested = at["renewed"].to_numpy(), at["requested"].to_numpy()
    auto = ending["auto_renew"].fillna(False).astype(bool).to_numpy()
    cover = labels(
        [~auto, renewed >= requested, renewed > 0], [MANUAL, COVERED, PARTLY], NOT_COVERED
    )
    return ending.assign(
        month=month,
        licences=ending["licences"].astype("int64"),
        auto_renew=auto,
        cover=cover,
    ).pipe(sort_rows, ["partner", "end", "client", "product"])[WORK_COLUMNS]


def trials_ending(
    contracts: pd.DataFrame, as_of: pd.Timestamp, firsts: list[pd.Timestamp]
) -> pd.DataFrame:
    """Trials active on `as_of` that end before the horizon does: conversion opportunities,
    listed apart from renewals."""
    stop = firsts[-1] + pd.offsets.MonthBegin(1)
    c = contracts
    t = c[((c["kind"] == TRIAL) & (c["start"] <= as_of) & (c["end"] > as_of) & (c["end"] < stop))
          .fillna(False)]  # fmt: skip
    t = t.assign(licences=t["licences"].astype("Int64"))  # blank: a data error, never a crash
    return t.sort_values(["partner", "end", "client"], kind="stable")[TRIAL_COLUMNS]


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.concat(frames, ignore_index=True)[columns]


def _month_rows(
    lines: pd.DataFrame, balances: Balances, month: str, ppl: pd.Series
) -> pd.DataFrame:
    """One row per partner, kind, product and term of one month's renewal lines."""
    kind = labels([lines["term"] == MONTHLY], [MONTHLY], ANNUAL)
    g = (
        lines[["partner", "product", "term", "requested", "renewed"]]  # what is grouped
        .assign(kind=kind)
        .groupby(["partner", "kind", "product", "term"], sort=True)
        .agg(due=("requested", "sum"), served=("renewed", "sum"))
        .reset_index()
    )
    g = g[g["due"] > 0]
    annual = balances.annual.set_index(["partner", "product", "term"])["available"].clip(lower=0)
    monthly = balances.monthly.set_index(["partner", "product"])["available"].clip(lower=0)
    keys_a = pd.MultiIndex.from_arrays([g["partner"], g["product"], g["term"]])
    keys_m = pd.MultiIndex.from_arrays([g["partner"], g["product"]])
    available = np.where(
        g["kind"] == MONTHLY,
        monthly.reindex(keys_m).fillna(0).to_numpy(),
        annual.reindex(keys_a).fillna(0).to_numpy(),
    )
    g["available"] = available.astype("int64")
    g["due"] = g["due"].astype("int64")
    g["served"] = g["served"].astype("int64")
    g["shortfall"] = g["due"] - g["served"]
    price = g["product"].map(ppl).astype("Int64")
    g["points_needed"] = (g["shortfall"] * price).where(g["kind"] == MONTHLY).astype("Int64")
    g["month"] = month
    return g[ROW_COLUMNS]


def _renew_annual(contracts: pd.DataFrame, lines: pd.DataFrame, month: str) -> pd.DataFrame:
    """Contracts after the month's annual lines, applied as recorded renewal lines are."""
    renewals = lines.assign(month=month, **{MONTH_FIRST: pd.Timestamp(f"{month}-01")})
    renewals[ROW] = np.arange(len(renewals), dtype=np.int64)
    no_recoveries = pd.DataFrame(
        {c: pd.Series(dtype=object) for c in ("partner", "client", "product", "term", "type")}
        | {c: pd.Series(dtype="datetime64[ns]") for c in ("start", "end", "contract_start")}
        | {c: pd.Series(dtype="Int64") for c in ("licences", "devices_used", ROW)}
    )
    return apply_events(contracts, renewals, no_recoveries).contracts


def points_to_buy(
    rows: pd.DataFrame, points_f1: pd.DataFrame, partners: pd.DataFrame
) -> pd.DataFrame:
    """O5, per partner: Σ points needed over the horizon less the balance on the 1st of F1
    (counted once); all 0 for a Panda Security partner."""
    p = partners.drop_duplicates("partner")[["partner", "provider"]].reset_index(drop=True)
    monthly = rows[rows["kind"] == MONTHLY]
    needed = monthly.groupby("partner")["points_needed"].sum()
    balance = points_f1.set_index("partner")["available"]
    p["points_needed"] = p["partner"].map(needed).fillna(0).astype("int64")
    p["points_balance"] = p["partner"].map(balance).fillna(0).clip(lower=0).astype("int64")
    panda = (p["provider"] == PANDA).to_numpy()
    p.loc[panda, ["points_needed", "points_balance"]] = 0
    p["points_to_buy"] = (p["points_needed"] - p["points_balance"]).clip(lower=0)
    return p[POINTS_COLUMNS]


def latest_prices(pool: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """O6 unit prices: the latest priced purchase block per (partner, product, term) and,
    for the fallback, per (product, term) over every partner (on one date, the last in
    sheet order; blocks without a price skipped)."""
    purchase = (pool["type"].fillna(PURCHASE) == PURCHASE).to_numpy(dtype=bool)
    priced = pool[purchase & pool["unit_price"].notna().to_numpy(dtype=bool)]
    priced = priced.sort_values(["date", ROW], kind="stable")
    own = priced.drop_duplicates(["partner", "product", "term"], keep="last")
    anyone = priced.drop_duplicates(["product", "term"], keep="last")
    return (
        own.set_index(["partner", "product", "term"])["unit_price"],
        anyone.set_index(["product", "term"])["unit_price"],
    )


def buying_list(
    rows: pd.DataFrame,
    recoverable: pd.DataFrame,
    prices: tuple[pd.Series, pd.Series],
    tiers: pd.DataFrame,
) -> pd.DataFrame:
    """O6, per partner, product and term with an annual shortfall over the horizon:
    recover first, buy the rest at the latest block's price (`prices`, as `latest_prices`
    finds them) and the R5 tier of `to_buy`."""
    annual = rows[rows["kind"] == ANNUAL]
    keys = ["partner", "product", "term"]
    short = annual.groupby(keys, sort=True)["shortfall"].sum()
    short = short[short > 0]
    if short.empty:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in BUY_COLUMNS})
        return empty.astype({c: "int64" for c in ("short", "recoverable", "to_buy")})
    b = short.rename("short").reset_index()
    index = pd.MultiIndex.from_frame(b[keys])
    rec = recoverable.groupby(keys)["recoverable"].sum()
    b["recoverable"] = rec.reindex(index).fillna(0).astype("int64").to_numpy()
    b["short"] = b["short"].astype("int64")
    b["to_buy"] = (b["short"] - b["recoverable"]).clip(lower=0)
    own, anyone = prices
    price = own.reindex(index).to_numpy(dtype=object, copy=True)
    fallback = anyone.reindex(pd.MultiIndex.from_frame(b[["product", "term"]])).to_numpy()
    unknown = pd.isna(price)
    price[unknown] = fallback[unknown]
    b["unit_price"] = pd.Series(price, index=b.index, dtype=object).where(pd.notna(price), None)
    # R5 exactly as for a block bought today: quantity × unit price × (1 − tier discount)
    priced = block_prices(
        pd.DataFrame({"type": PURCHASE, "quantity": b["to_buy"], "unit_price": b["unit_price"]}),
        tiers,
    )
    b["discount"] = priced["discount"].where(b["unit_price"].notna(), None)
    b["estimated_cost"] = priced["price"]
    return b[BUY_COLUMNS]


def estimated_total(buy: pd.DataFrame) -> pd.Series:
    """Per partner: Σ known costs; None when the partner's list has no known cost."""
    known = buy[buy["estimated_cost"].notna()]
    totals: dict[str, Decimal] = {}
    for partner, cost in zip(known["partner"], known["estimated_cost"], strict=True):
        totals[partner] = totals.get(partner, ZERO) + cost
    return pd.Series(totals, dtype=object)


def build_outlook(
    contracts: pd.DataFrame,
    at_f1: Balances,
    as_of: pd.Timestamp,
    horizon: int,
    policy: str,
    *,
    recoverable: pd.DataFrame,
    partners: pd.DataFrame,
    pool: pd.DataFrame,
    tiers: pd.DataFrame,
    projected: Sequence[Projection] | None = None,
) -> Outlook:
    """O1–O6 for every partner: `contracts` on `as_of` and `at_f1` the balances on the 1st
    of F1, both with the recorded runs of F1 … FN left out (`without_recorded_runs`).
    `projected`: the months already projected, by partner range (`projection`)."""
    firsts = outlook_months(as_of, horizon)
    prices = latest_prices(pool)
    if projected is None:
        rows, at_risk, worklist = project(contracts, at_f1, firsts, policy)
    else:
        rows, at_risk, worklist = joined(projected)
    return Outlook(
        months=[f"{f:%Y-%m}" for f in firsts],
        rows=rows,
        at_risk=at_risk,
        buy=buying_list(rows, recoverable, prices, tiers),
        points=points_to_buy(rows, at_f1.points, partners),
        worklist=worklist,
        trials=trials_ending(contracts, as_of, firsts),
        prices=prices,
    )
