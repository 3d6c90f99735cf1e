"""How each partner's renewals and points moved, month by month, from the recorded runs
(SPEC §9 "History").

A month belongs to a partner's history when a run recorded Renewals lines for
that partner in that month.  Points bought are the exchanges a run recorded
(``run`` set) dated in the month; points credited are the ``credit`` rows dated
in it.  Everything comes from the ledger alone: nothing is recomputed.
"""

from __future__ import annotations

import pandas as pd

from licreport.ledger.schema import CREDIT, EXCHANGE
from licreport.rules.keys import by_distinct

COLUMNS = [
    "partner", "month", "requested", "renewed", "dropped",
    "points_renewed", "points_bought", "points_credited",
]  # fmt: skip
COUNTS = COLUMNS[2:]


def month_text(values: pd.Series) -> pd.Series:
    """A month column (text, Period or date) as ``YYYY-MM`` text, made once per distinct
    value (`by_distinct`: a run's 700,000 exchanges at 12 x SPEC §6 hold a few hundred
    days, each formatted once instead of 0.25 s of strftime a row); blank stays blank."""
    if isinstance(values.dtype, pd.PeriodDtype) or pd.api.types.is_datetime64_any_dtype(
        values.dtype
    ):
        text = by_distinct(values, lambda u: pd.Series(u).dt.strftime("%Y-%m").tolist())
    else:
        text = by_distinct(values, lambda u: [str(v)[:7] for v in u])
    return pd.Series(text, index=values.index, dtype="str").where(values.notna())


def history(renewals: pd.DataFrame, exchanges: pd.DataFrame) -> pd.DataFrame:
    """One row per partner and recorded month (`COLUMNS`), months ascending.

    `exchanges` are the priced exchanges (points filled in where the ledger left
    them blank), as the replay computes them.
    """
    lines = renewals[renewals["month"].notna() & renewals["partner"].notna()]
    lines = lines.assign(month=month_text(lines["month"]))
    totals = (
        lines.groupby(["partner", "month"])
        .agg(
            requested=("requested", "sum"),
            renewed=("renewed", "sum"),
            dropped=("dropped", "sum"),
            points_renewed=("points", "sum"),
        )
        .reset_index()
    )
    ex = exchanges[exchanges["date"].notna() & exchanges["partner"].notna()]
    ex = ex.assign(month=month_text(ex["date"]), points=ex["points"].fillna(0))
    bought = ex[(ex["type"] == EXCHANGE).fillna(False) & ex["run"].notna()]
    credited = ex[(ex["type"] == CREDIT).fillna(False)]
    keys = ["partner", "month"]
    out = totals.merge(
        bought.groupby(keys)["points"].sum().rename("points_bought").reset_index(),
        on=keys,
        how="left",
    ).merge(
        credited.groupby(keys)["points"].sum().rename("points_credited").reset_index(),
        on=keys,
        how="left",
    )
    for col in COUNTS:
        out[col] = pd.to_numeric(out[col]).fillna(0).astype("int64")
    return out[COLUMNS].sort_values(["partner", "month"], kind="stable").reset_index(drop=True)
