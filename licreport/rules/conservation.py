"""Conservation (R8): the totals of the sheets must match the replayed balances.

Each side is summed straight from the sheets, independently of the replay, so a
movement the replay lost or counted twice shows up as a difference.
"""

from __future__ import annotations

import pandas as pd

from licreport.ledger.model import Ledger
from licreport.ledger.schema import (
    CREDIT,
    EXCHANGE,
    MONTH_FIRST,
    MONTHLY,
    PURCHASE,
    RECOVERY,
    TERMS,
)
from licreport.rules.contracts import ANNUAL
from licreport.rules.proration import prorated_licences
from licreport.rules.replay import Balances

CHECK_COLUMNS = ["check", "partner", "product", "term", "in", "out", "balance", "difference"]


def _sum(frame: pd.DataFrame, keys: list[str], value: str, name: str) -> pd.Series:
    f = frame[frame[value].notna() & frame["partner"].notna()]
    return f.groupby(keys)[value].sum().astype("int64").rename(name)


def conservation(
    ledger: Ledger, contracts: pd.DataFrame, exchanges: pd.DataFrame, final: Balances
) -> pd.DataFrame:
    """The R8 table: one row per balance, with in, out, balance and their difference."""
    # the columns summed, filtered and grouped only: the filters below copy what is kept
    pool = ledger["Pool"][["partner", "product", "term", "type", "date", "quantity"]]
    pool = pool[pool["term"].isin(TERMS) & pool["date"].notna()]
    keys = ["partner", "product", "term"]
    bought = _sum(pool[pool["type"] == PURCHASE], keys, "quantity", "bought")
    recovered = _sum(pool[pool["type"] == RECOVERY], keys, "quantity", "recovered")
    contracts = contracts[["partner", "product", "term", "kind", "start", "licences"]]
    annual = contracts[(contracts["kind"] == ANNUAL) & contracts["start"].notna()]
    assigned = _sum(annual, keys, "licences", "assigned")
    lines = ledger["Renewals"][["partner", "product", "term", "renewed", MONTH_FIRST]]
    lines = lines[lines[MONTH_FIRST].notna()]  # as the replay: a line without a month is an error
    renewed = _sum(lines[lines["term"].isin(TERMS)], keys, "renewed", "renewed")
    available = final.annual.set_index(keys)["available"]
    t = pd.concat([bought, recovered, assigned, renewed, available], axis=1).fillna(0)
    a = pd.DataFrame(
        {
            "check": "annual pool: bought + recovered = assigned + renewed + available",
            "in": t["bought"] + t["recovered"],
            "out": t["assigned"] + t["renewed"],
            "balance": t["available"],
        }
    )

    ex = exchanges[exchanges["date"].notna()]
    credited = _sum(ex[ex["type"] == CREDIT], ["partner"], "points", "credited")
    spent = _sum(ex[ex["type"] == EXCHANGE], ["partner"], "points", "exchanged")
    pts = pd.concat([credited, spent, final.points.set_index("partner")["available"]], axis=1)
    pts = pts.fillna(0)
    p = pd.DataFrame(
        {
            "check": "points: credited = exchanged + balance",
            "in": pts["credited"],
            "out": pts["exchanged"],
            "balance": pts["available"],
        }
    )

    mkeys = ["partner", "product"]
    obtained = _sum(ex[(ex["type"] == EXCHANGE) & ex["product"].notna()], mkeys, "licences", "ob")
    monthly = contracts[(contracts["kind"] == MONTHLY) & contracts["start"].notna()]
    monthly = monthly[monthly["licences"].notna()]
    started = monthly.assign(
        used=prorated_licences(monthly["start"], monthly["licences"].astype("int64"))
    )
    consumed = _sum(started, mkeys, "used", "started")
    m_lines = _sum(lines[lines["term"] == MONTHLY], mkeys, "renewed", "renewed")
    pool_m = final.monthly.set_index(mkeys)["available"]
    mm = pd.concat([obtained, consumed, m_lines, pool_m], axis=1).fillna(0)
    m = pd.DataFrame(
        {
            "check": "monthly licences: obtained = consumed + monthly pool",
            "in": mm["ob"],
            "out": mm["started"] + mm["renewed"],
            "balance": mm["available"],
        }
    )
    out = pd.concat([a.reset_index(), p.reset_index(), m.reset_index()], ignore_index=True)
    out = out.rename(columns={"level_0": "partner", "index": "partner"})
    for col in ("product", "term"):
        out[col] = out[col].fillna("") if col in out else ""
    for col in ("in", "out", "balance"):
        out[col] = out[col].astype("int64")
    out["difference"] = out["in"] - out["out"] - out["balance"]
    return out[CHECK_COLUMNS]
