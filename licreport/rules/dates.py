"""Calendar arithmetic on whole columns."""

from __future__ import annotations

import numpy as np
import pandas as pd


def add_years(dates: pd.Series, years: pd.Series | int) -> pd.Series:
    """`dates` + `years` calendar years; 29 February lands on 28 February (Excel's EDATE)."""
    years = years if isinstance(years, pd.Series) else pd.Series(years, index=dates.index)
    valid = dates.notna() & years.notna()
    out = pd.Series(pd.NaT, index=dates.index, dtype="datetime64[ns]")
    if not valid.any():
        return out
    d = dates[valid]
    y = d.dt.year.to_numpy() + years[valid].to_numpy(dtype="int64")
    m = d.dt.month.to_numpy()
    day = d.dt.day.to_numpy()
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    day = np.where((m == 2) & (day == 29) & ~leap, 28, day)
    out[valid] = pd.to_datetime({"year": y, "month": m, "day": day}).to_numpy()
    return out
