"""R5: block prices with progressive volume discounts, in exact decimal money.

Prices stay exact `Decimal` through every sum; only `money` rounds, half-up to
cents, when a value is shown.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, localcontext

import numpy as np
import pandas as pd

from licreport.ledger.schema import RECOVERY

ZERO = Decimal("0")
HUNDRED = Decimal("100")
CENT = Decimal("0.01")
# Working precision for products and sums: far beyond any ledger, so nothing rounds.
_PRECISION = 60
# A ratio (the average discount) may not terminate: it keeps Decimal's usual 28 digits.
_RATIO_PRECISION = 28
SUMMARY_KEYS = ["partner", "product", "term"]
SUMMARY_COLUMNS = [
    *SUMMARY_KEYS,
    "blocks",
    "quantity",
    "list_price",
    "spend",
    "discount_amount",
    "average_discount",
]


def _decimal(value: object) -> Decimal | None:
    """A cell as `Decimal`; blank (None, NA, NaN) as None. Floats go through their repr."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, Decimal):
        return None if value.is_nan() else value
    if isinstance(value, float):
        return None if math.isnan(value) else Decimal(repr(value))
    if isinstance(value, (int, np.integer)):
        return Decimal(int(value))
    if isinstance(value, np.floating):
        return _decimal(float(value))
    return Decimal(str(value))


def _sorted_tiers(tiers: pd.DataFrame) -> tuple[np.ndarray, list[Decimal]]:
    """Tier minimums ascending and their discounts; blank rows are ignored.

    When two tiers share a minimum the larger discount sorts last and so wins,
    whatever the sheet order.
    """
    rows = [
        (int(q), d)
        for q, d in zip(tiers["min_quantity"], map(_decimal, tiers["discount"]), strict=True)
        if not pd.isna(q) and d is not None
    ]
    rows.sort()
    return np.array([q for q, _ in rows], dtype=np.int64), [d for _, d in rows]


def tier_discounts(quantities: pd.Series, tiers: pd.DataFrame) -> pd.Series:
    """Discount percent of the highest tier with ``min_quantity <= quantity`` (0 if none).

    A blank quantity has no discount (None).  Result: object `Decimal`, same index.
    """
    minimums, discounts = _sorted_tiers(tiers)
    lookup = np.array([ZERO, *discounts], dtype=object)
    blank = quantities.isna().to_numpy()
    counts = quantities.fillna(0).to_numpy(dtype=np.int64)
    found = np.searchsorted(minimums, counts, side="right")
    result = lookup[found]
    result[blank] = None
    return pd.Series(result, index=quantities.index, dtype=object, name="discount")


def block_prices(pool: pd.DataFrame, tiers: pd.DataFrame) -> pd.DataFrame:
    """`pool` plus ``list_price``, ``discount`` (percent) and ``price`` per block, exact.

    ``price = quantity × unit_price × (1 − discount/100)``, not rounded.  A block
    without a unit price has no list price or price; recovery rows are not priced.
    """
    recovery = (pool["type"] == RECOVERY).fillna(False).to_numpy(dtype=bool)
    discounts = tier_discounts(pool["quantity"], tiers).to_numpy().copy()
    discounts[recovery] = None
    quantities = pool["quantity"].astype(object).to_numpy()
    unit_prices = [_decimal(v) for v in pool["unit_price"]]
    list_prices: list[Decimal | None] = []
    prices: list[Decimal | None] = []
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        for quantity, unit, discount, skip in zip(
            quantities, unit_prices, discounts, recovery, strict=True
        ):
            if skip or unit is None or pd.isna(quantity):
                list_prices.append(None)
                prices.append(None)
                continue
            listed = int(quantity) * unit
            list_prices.append(listed)
            prices.append(listed * (HUNDRED - discount) / HUNDRED)
    return pool.assign(
        list_price=pd.Series(list_prices, index=pool.index, dtype=object),
        discount=pd.Series(discounts, index=pool.index, dtype=object),
        price=pd.Series(prices, index=pool.index, dtype=object),
    )


def spend_summary(pool: pd.DataFrame, tiers: pd.DataFrame) -> pd.DataFrame:
    """Per partner, product and term: what the priced purchase blocks cost, exactly.

    Columns: blocks, quantity, list_price, spend, discount_amount and
    average_discount (``discount_amount / list_price × 100``, percent).  Blocks
    without a unit price and recovery rows are left out.
    """
    priced = block_prices(pool, tiers)
    priced = priced[priced["price"].notna()]
    if priced.empty:
        frame = pd.DataFrame({c: pd.Series(dtype=object) for c in SUMMARY_COLUMNS})
        return frame.astype({"blocks": np.int64, "quantity": np.int64})
    grouped = priced.groupby(SUMMARY_KEYS, dropna=False, sort=True)
    summary = grouped.agg(blocks=("price", "size"), quantity=("quantity", "sum")).reset_index()
    # Exact sums in one pass over the rows, in row order (a Python aggregate per group
    # costs ~30 µs × 15,000 groups at distributor scale).
    group = grouped.ngroup().to_numpy()
    list_sums = [ZERO] * len(summary)
    spend_sums = [ZERO] * len(summary)
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        for g, lp, sp in zip(
            group.tolist(), priced["list_price"].tolist(), priced["price"].tolist(), strict=True
        ):
            list_sums[g] += lp
            spend_sums[g] += sp
    summary["list_price"] = pd.Series(list_sums, index=summary.index, dtype=object)
    summary["spend"] = pd.Series(spend_sums, index=summary.index, dtype=object)
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        amounts = [lp - sp for lp, sp in zip(summary["list_price"], summary["spend"], strict=True)]
        ctx.prec = _RATIO_PRECISION
        averages = [
            a * HUNDRED / lp if lp else ZERO
            for a, lp in zip(amounts, summary["list_price"], strict=True)
        ]
    summary["discount_amount"] = pd.Series(amounts, index=summary.index, dtype=object)
    summary["average_discount"] = pd.Series(averages, index=summary.index, dtype=object)
    summary["blocks"] = summary["blocks"].astype(np.int64)
    summary["quantity"] = summary["quantity"].astype(np.int64)
    return summary[SUMMARY_COLUMNS]


def money(value: Decimal | None) -> str | None:
    """Money as shown: half-up to cents, plain digits ("1234.50", "-2.68"); None stays None."""
    if value is None:
        return None
    if not value.is_finite():
        raise ValueError(f"not an amount of money: {value}")
    with localcontext() as ctx:
        ctx.prec = max(_PRECISION, value.adjusted() + 3)
        cents = value.quantize(CENT, rounding=ROUND_HALF_UP)
    if cents.is_zero():
        cents = cents.copy_abs()
    return f"{cents:f}"
