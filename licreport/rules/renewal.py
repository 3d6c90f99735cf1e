"""Renewals of one month (R2 monthly, R3 annual), settled on the 1st of the month.

Pure: takes the contracts as they stand, the balances after every movement
dated on or before the 1st, and returns the renewal lines and the exchanges a
``--exchange`` run buys.  Recording them is the writers' job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from licreport.ledger.parse import Bad, read_month
from licreport.ledger.schema import EXCHANGE, MONTHLY
from licreport.rules.contracts import ANNUAL
from licreport.rules.keys import account_ids, sort_rows, sorted_groups, sorted_order
from licreport.rules.replay import Balances
from licreport.rules.shortfall import allocate

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
    keys = ["partner", "client", "product", "term"]
    # the columns grouped and aggregated only: the rows are taken in key order below
    d = due[["partner", "client", "product", "licences", "priority", "start",
             "points_per_licence"]].assign(term=term)  # fmt: skip
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
    would: bool = True,
) -> RenewalPlan:
    """The lines of month `month`; with `exchange`, first buy missing monthly licences.
    Without `would`, what ``--exchange`` would have kept is not worked out (the outlook
    never shows it): `would_keep` is empty."""
    first = read_month(month)  # the one month reader (the loader's, --month's)
    if isinstance(first, Bad):
        raise ValueError(f"month: {first}")
    # the columns the due contracts are chosen and requested by: the rows due are copied
    contracts = contracts[["partner", "client", "product", "term", "kind", "auto_renew", "start",
                           "end", "licences", "priority", "points_per_licence"]]  # fmt: skip
    monthly = _requests(due_monthly(contracts, first), MONTHLY)
    due = due_annual(contracts, first)
    annual = _requests(due, due["term"])

    monthly["group"], m_avail = _pools(monthly, before.monthly, ["partner", "product"])
    bought = _buy(monthly, m_avail, before.points) if exchange else _no_purchase()
    # what --exchange would have bought: every such licence keeps one dropped device
    kept = not would or exchange or monthly.empty
    would_bought = _no_purchase() if kept else _buy(monthly, m_avail, before.points)
    would_keep = would_bought.groupby("partner")["licences"].sum().astype("int64")
    if len(bought):
        extra = pd.Series(bought["licences"].to_numpy(), index=bought["group"].to_numpy())
        m_avail = m_avail.add(extra, fill_value=0).astype("int64")
    monthly["renewed"] = allocate(monthly, m_avail, policy) if len(monthly) else []
    annual["group"], a_avail = _pools(annual, before.annual, ["partner", "product", "term"])
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
    frames = (contracts, start.annual, start.monthly, start.points)
    inside = [f["partner"].isin(first).to_numpy(dtype=bool) for f in frames]  # once each
    halves = []
    for second in (False, True):
        c, *pools = (f[~i if second else i] for f, i in zip(frames, inside, strict=True))
        halves.append((c, Balances(*pools)))
    return halves


def _pools(
    requests: pd.DataFrame, balances: pd.DataFrame, keys: list[str]
) -> tuple[np.ndarray, pd.Series]:
    """The shortfall's groups: one integer per value of `keys` (compared as text), the same
    in `requests` and in `balances`; and the licences available per group (never below
    zero).  Integers, not "P1|AD360|1" texts: joining 600,000 texts column by column took
    a second per month at 12 x SPEC §6."""
    n = len(requests)
    codes = []
    for k in keys:
        both = pd.concat([requests[k], balances[k]], ignore_index=True).astype(str)
        codes.append(pd.factorize(both, use_na_sentinel=False)[0])
    ids = account_ids(codes)
    available = balances["available"].clip(lower=0).to_numpy()
    return ids[:n], pd.Series(available, index=ids[n:], dtype="int64")


def _no_purchase() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "partner": pd.Series(dtype="str"),
            "product": pd.Series(dtype="str"),
            "licences": pd.Series(dtype="int64"),
            "points": pd.Series(dtype="int64"),
            "group": pd.Series(dtype="int64"),
        }
    )


def _buy(monthly: pd.DataFrame, available: pd.Series, points: pd.DataFrame) -> pd.DataFrame:
    """Exchange points for each product's missing licences, products in code order,
    as far as each partner's points balance allows (whole licences at full price:
    the exchange is dated the 1st).  A partner's products are bought one after the
    other; the k-th short product of every partner at once."""
    need = monthly.groupby(["partner", "product"], sort=True).agg(
        requested=("requested", "sum"),
        ppl=("points_per_licence", "first"),
        group=("group", "first"),
    )
    need = need.reset_index()
    held = need["group"].map(available).fillna(0)
    need["missing"] = (need["requested"] - held).clip(lower=0).astype("int64")
    need = need[(need["missing"] > 0) & need["ppl"].notna() & (need["ppl"] > 0)]
    if need.empty:
        return _no_purchase()
    # the points each partner holds (its last row if listed twice), never below zero
    balance = points.drop_duplicates("partner", keep="last").set_index("partner")["available"]
    partner, partners = pd.factorize(need["partner"], use_na_sentinel=False)
    wallet = pd.Series(partners).map(balance).fillna(0).clip(lower=0).to_numpy(np.int64, copy=True)
    missing = need["missing"].to_numpy(dtype=np.int64)
    ppl = need["ppl"].to_numpy(dtype=np.int64)
    nth = need.groupby(partner, sort=False).cumcount().to_numpy()
    bought = np.zeros(len(need), dtype=np.int64)
    for k in range(int(nth.max()) + 1):  # each partner's k-th product: the catalogue's size
        at = np.flatnonzero(nth == k)  # one row per partner at most
        got = np.minimum(missing[at], wallet[partner[at]] // ppl[at])
        bought[at] = got
        wallet[partner[at]] -= got * ppl[at]
    chosen = np.flatnonzero(bought > 0)
    rows = need.iloc[chosen]
    return pd.DataFrame(
        {
            "partner": rows["partner"].tolist(),
            "product": rows["product"].tolist(),
            "licences": bought[chosen],
            "points": bought[chosen] * ppl[chosen],
            "group": rows["group"].to_numpy(dtype=np.int64),
        }
    )


def balances_after(before: Balances, plan: RenewalPlan) -> Balances:
    """Pools and points after the run: the balances on the 1st, less what it used."""
    lines = plan.lines[["partner", "product", "term", "renewed"]]  # what is summed
    is_monthly = (lines["term"] == MONTHLY).to_numpy()  # a blank term is annual, as `!=`
    ann = lines[~is_monthly].groupby(["partner", "product", "term"])["renewed"].sum()
    annual = before.annual.set_index(["partner", "product", "term"])["available"]
    annual_after = annual.sub(ann, fill_value=0).astype("int64").rename("available")
    mon = lines[is_monthly].groupby(["partner", "product"])["renewed"].sum()
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
