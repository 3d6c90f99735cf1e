"""Renewals of one month (R2 monthly, R3 annual), settled on the 1st of the month.

Pure: takes the contracts as they stand, the balances after every movement
dated on or before the 1st, and returns the renewal lines and the exchanges a
``--exchange`` run buys.  Recording them is the writers' job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import pandas as pd

from licreport.ledger.parse import Bad, read_month
from licreport.ledger.schema import EXCHANGE, MONTHLY
from licreport.rules.contracts import ANNUAL
from licreport.rules.keys import sort_rows, sorted_groups, sorted_order
from licreport.rules.replay import Balances
from licreport.rules.shortfall import allocate

FrameOrSeries = TypeVar("FrameOrSeries", pd.DataFrame, pd.Series)

LINE_COLUMNS = [
    "partner", "client", "product", "term", "requested", "renewed", "dropped",
    "licences", "points",
]  # fmt: skip


@dataclass(frozen=True)
class RenewalPlan:
    month: str
    run: str
    lines: pd.DataFrame  # LINE_COLUMNS
    exchanges: pd.DataFrame  # new Exchanges rows (canonical columns)
    exchanged_points: pd.Series  # per partner
    # SPEC §8: monthly devices a run without --exchange drops that the points held would
    # have kept (per partner; empty for an --exchange run)
    would_keep: pd.Series = field(default_factory=lambda: pd.Series(dtype="int64"))


def due_monthly(contracts: pd.DataFrame, first: pd.Timestamp) -> pd.DataFrame:
    """Monthly contracts due on `first`: auto_renew, started before it, not ended by it."""
    c = contracts
    due = (
        (c["kind"] == MONTHLY)
        & c["auto_renew"].fillna(True).astype(bool)
        & (c["start"] < first)
        & (c["end"].isna() | (c["end"] > first))
        & c["licences"].notna()
    )
    return c[due]


def due_annual(contracts: pd.DataFrame, first: pd.Timestamp) -> pd.DataFrame:
    """Annual contracts with auto_renew whose (current) end falls in the month of `first`."""
    c = contracts
    nxt = first + pd.offsets.MonthBegin(1)
    due = (
        (c["kind"] == ANNUAL)
        & c["auto_renew"].fillna(False).astype(bool)
        & (c["end"] >= first)
        & (c["end"] < nxt)
        & (c["licences"].fillna(0) > 0)
    )
    return c[due]


def _requests(due: pd.DataFrame, term: pd.Series | str) -> pd.DataFrame:
    """One request per (partner, client, product, term): several contracts of one key
    renew together, at their best priority and earliest start."""
    d = due.assign(term=term)
    keys = ["partner", "client", "product", "term"]
    aggregates = {
        "requested": ("licences", "sum"),
        "priority": ("priority", "min"),
        "start": ("start", "min"),
        "points_per_licence": ("points_per_licence", "first"),
    }
    try:
        # in key order, as groupby(sort=True) gives them: the rows sorted once by integer
        # sort keys, then grouped by their group number (pandas would factorise the
        # 570,000 client ids of 12 x SPEC §6 again, and sort them with Python compares)
        order, group = sorted_groups(d, keys)
    except TypeError:  # keys that do not compare: pandas decides
        out = d.groupby(keys, sort=False, dropna=False).agg(**aggregates).reset_index()
        return out.take(sorted_order(out, keys)).reset_index(drop=True)
    rows = d.take(order)
    firsts = np.flatnonzero(np.diff(group, prepend=-1))
    sums = rows.groupby(group, sort=False).agg(**aggregates).reset_index(drop=True)
    return pd.concat([rows[keys].iloc[firsts].reset_index(drop=True), sums], axis=1)


def plan_renewals(
    contracts: pd.DataFrame,
    before: Balances,
    *,
    month: str,
    run: str,
    policy: str = "priority",
    exchange: bool = False,
) -> RenewalPlan:
    """The lines of month `month`; with `exchange`, first buy missing monthly licences."""
    first = read_month(month)  # the one month reader (the loader's, --month's)
    if isinstance(first, Bad):
        raise ValueError(f"month: {first}")
    monthly = _requests(due_monthly(contracts, first), MONTHLY)
    due = due_annual(contracts, first)
    annual = _requests(due, due["term"])

    m_keys, a_keys = ["partner", "product"], ["partner", "product", "term"]
    monthly["group"] = _group_key(monthly, m_keys)
    m_avail = _available(before.monthly, m_keys)
    bought = _buy(monthly, m_avail, before.points) if exchange else _no_purchase()
    # what --exchange would have bought: every such licence keeps one dropped device
    would = _no_purchase() if exchange or monthly.empty else _buy(monthly, m_avail, before.points)
    would_keep = would.groupby("partner")["licences"].sum().astype("int64")
    if len(bought):
        extra = pd.Series(bought["licences"].to_numpy(), index=_group_key(bought, m_keys))
        m_avail = m_avail.add(extra, fill_value=0).astype("int64")
    monthly["renewed"] = allocate(monthly, m_avail, policy) if len(monthly) else []
    annual["group"] = _group_key(annual, a_keys)
    a_avail = _available(before.annual, a_keys)
    annual["renewed"] = allocate(annual, a_avail, policy) if len(annual) else []

    lines = pd.concat([annual, monthly], ignore_index=True)
    lines["requested"] = lines["requested"].astype("int64")
    lines["renewed"] = lines["renewed"].astype("int64")
    lines["dropped"] = lines["requested"] - lines["renewed"]
    lines["licences"] = lines["renewed"]
    ppl = lines["points_per_licence"].astype("Int64")
    lines["points"] = (lines["renewed"] * ppl).where(lines["term"] == MONTHLY).astype("Int64")
    lines = sort_rows(lines, ["partner", "term", "product", "client"])
    exchanges = pd.DataFrame(
        {
            "date": pd.Series(first, index=bought.index, dtype="datetime64[ns]"),
            "partner": bought["partner"].astype("str"),
            "type": EXCHANGE,
            "product": bought["product"].astype("str"),
            "points": bought["points"].astype("Int64"),
            "licences": bought["licences"].astype("Int64"),
            "run": run,
        }
    )
    spent = bought.groupby("partner")["points"].sum() if len(bought) else pd.Series(dtype="int64")
    return RenewalPlan(
        month, run, lines[LINE_COLUMNS].reset_index(drop=True), exchanges, spent, would_keep
    )


def partner_halves(
    contracts: pd.DataFrame, start: Balances, first_share: float = 0.5
) -> list[tuple[pd.DataFrame, Balances]]:
    """The contracts and balances cut in two ranges of whole partners in sort order, the
    first of about `first_share` of the contracts (a blank partner goes with the second);
    one range when there are fewer than two partners."""
    counts = contracts["partner"].value_counts(sort=False)
    partners = sorted(counts.index)
    if len(partners) < 2:
        return [(contracts, start)]
    sizes = counts.reindex(partners).to_numpy()
    cut = int(np.searchsorted(np.cumsum(sizes), sizes.sum() * first_share)) + 1
    first = set(partners[: min(cut, len(partners) - 1)])

    def half(frame: pd.DataFrame, second: bool) -> pd.DataFrame:
        inside = frame["partner"].isin(first).to_numpy(dtype=bool)
        return frame[~inside if second else inside]

    halves = []
    for second in (False, True):
        pools = (half(f, second) for f in (start.annual, start.monthly, start.points))
        halves.append((half(contracts, second), Balances(*pools)))
    return halves


def joined_plans(parts: Sequence[RenewalPlan]) -> RenewalPlan:
    """One plan from the plans of partner ranges given in partner order (`partner_halves`):
    partners share nothing a plan uses, and each of its frames is ordered by partner
    first, so the parts one after the other are the plan of all (tested)."""

    def joined(frames: list[FrameOrSeries]) -> FrameOrSeries:
        filled = [f for f in frames if len(f)]
        if len(filled) < 2:
            return filled[0] if filled else frames[0]
        return pd.concat(filled, ignore_index=isinstance(filled[0], pd.DataFrame))

    first = parts[0]
    return RenewalPlan(
        first.month,
        first.run,
        joined([p.lines for p in parts]),
        joined([p.exchanges for p in parts]),
        joined([p.exchanged_points for p in parts]),
        joined([p.would_keep for p in parts]),
    )


def _group_key(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """One string key per row ("P1|AD360|1") for the shortfall groups."""
    key = frame[keys[0]].astype(str)
    for k in keys[1:]:
        key = key + "|" + frame[k].astype(str)
    return key


def _available(balances: pd.DataFrame, keys: list[str]) -> pd.Series:
    """A balance table as licences available per group key (never below zero)."""
    available = balances["available"].clip(lower=0).to_numpy()
    return pd.Series(available, index=_group_key(balances, keys), dtype="int64")


def _no_purchase() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "partner": pd.Series(dtype="str"),
            "product": pd.Series(dtype="str"),
            "licences": pd.Series(dtype="int64"),
            "points": pd.Series(dtype="int64"),
        }
    )


def _buy(monthly: pd.DataFrame, available: pd.Series, points: pd.DataFrame) -> pd.DataFrame:
    """Exchange points for each product's missing licences, products in code order,
    as far as each partner's points balance allows (whole licences at full price:
    the exchange is dated the 1st)."""
    need = monthly.groupby(["partner", "product"], sort=True).agg(
        requested=("requested", "sum"), ppl=("points_per_licence", "first")
    )
    need = need.reset_index()
    need["available"] = _group_key(need, ["partner", "product"]).map(available).fillna(0)
    need["missing"] = (need["requested"] - need["available"]).clip(lower=0).astype("int64")
    need = need[(need["missing"] > 0) & need["ppl"].notna() & (need["ppl"] > 0)]
    balance = points.set_index("partner")["available"].to_dict()
    rows = []
    for r in need.to_dict("records"):  # one row per short (partner, product): few
        left = max(int(balance.get(r["partner"], 0)), 0)
        ppl = int(r["ppl"])
        n = min(int(r["missing"]), left // ppl)
        if n:
            balance[r["partner"]] = left - n * ppl
            rows.append((r["partner"], r["product"], n, n * ppl))
    if not rows:
        return _no_purchase()
    return pd.DataFrame(rows, columns=["partner", "product", "licences", "points"])


def balances_after(before: Balances, plan: RenewalPlan) -> Balances:
    """Pools and points after the run: the balances on the 1st, less what it used."""
    lines = plan.lines
    ann = lines[lines["term"] != MONTHLY].groupby(["partner", "product", "term"])["renewed"].sum()
    annual = before.annual.set_index(["partner", "product", "term"])["available"]
    annual_after = annual.sub(ann, fill_value=0).astype("int64").rename("available")
    mon = lines[lines["term"] == MONTHLY].groupby(["partner", "product"])["renewed"].sum()
    bought = plan.exchanges.groupby(["partner", "product"])["licences"].sum()
    monthly = before.monthly.set_index(["partner", "product"])["available"]
    monthly = monthly.add(bought, fill_value=0).sub(mon, fill_value=0).astype("int64")
    points = before.points.set_index("partner")["available"]
    points = points.sub(plan.exchanged_points, fill_value=0).astype("int64")
    return Balances(
        annual_after.reset_index(),
        monthly.rename("available").reset_index(),
        points.rename("available").reset_index(),
    )
