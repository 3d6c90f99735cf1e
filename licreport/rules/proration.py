"""R1: prorating an exchange or monthly assignment to the days left in its month.

A monthly licence lasts 30 days and every monthly licence expires on the 1st, so
an exchange on `d` pays only for the days until the next 1st (at most 30).  All
arithmetic is on integers: licences are ``ceil(devices × days / 30)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

MONTH_DAYS = 30


@dataclass(frozen=True)
class Proration:
    """One exchange worked out by R1 (the `quote` command's result)."""

    product: str | None
    devices: int
    date: date
    days: int
    device_days: int
    licences: int
    points: int
    points_per_licence: int

    def to_json(self) -> dict[str, object]:
        """The `quote --json` document: counts as numbers, the date as ISO text."""
        return {
            "product": self.product,
            "devices": self.devices,
            "date": self.date.isoformat(),
            "days": self.days,
            "device_days": self.device_days,
            "licences": self.licences,
            "points": self.points,
            "points_per_licence": self.points_per_licence,
        }


def _as_date(d: date) -> date:
    """A plain `date` (a `datetime` or `pd.Timestamp` loses its time of day)."""
    return d.date() if isinstance(d, datetime) else d


def first_of_next_month(d: date) -> date:
    """The 1st of the month after `d`: when the monthly licences expire."""
    d = _as_date(d)
    return date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)


def month_days_left(d: date) -> int:
    """Days an exchange on `d` covers: 30 on the 1st, else days to the next 1st (max 30)."""
    d = _as_date(d)
    if d.day == 1:
        return MONTH_DAYS
    return min(MONTH_DAYS, (first_of_next_month(d) - d).days)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def prorate(
    d: date, devices: int, points_per_licence: int, product: str | None = None
) -> Proration:
    """R1 for `devices` devices on `d`: days, device-days, licences and points (all exact)."""
    if devices < 0:
        raise ValueError(f"devices must be 0 or more, not {devices}")
    if points_per_licence < 0:
        raise ValueError(f"points_per_licence must be 0 or more, not {points_per_licence}")
    d = _as_date(d)
    days = month_days_left(d)
    device_days = devices * days
    licences = _ceil_div(device_days, MONTH_DAYS)
    return Proration(
        product=product,
        devices=devices,
        date=d,
        days=days,
        device_days=device_days,
        licences=licences,
        points=licences * points_per_licence,
        points_per_licence=points_per_licence,
    )


def prorated_days(dates: pd.Series) -> pd.Series:
    """`month_days_left` for a whole column of dates (int64, same index); NaT is refused."""
    stamps = dates if pd.api.types.is_datetime64_any_dtype(dates) else pd.to_datetime(dates)
    if stamps.isna().any():
        raise ValueError(f"{int(stamps.isna().sum())} blank date(s) cannot be prorated")
    day = stamps.dt.day.to_numpy(dtype=np.int64)
    left = stamps.dt.days_in_month.to_numpy(dtype=np.int64) - day + 1
    days = np.where(day == 1, MONTH_DAYS, np.minimum(MONTH_DAYS, left))
    return pd.Series(days.astype(np.int64), index=dates.index, name="days")


def prorated_licences(dates: pd.Series, devices: pd.Series) -> pd.Series:
    """``ceil(devices × days / 30)`` per row, by position (int64, `dates`' index)."""
    if len(dates) != len(devices):
        raise ValueError(f"{len(dates)} dates but {len(devices)} device counts")
    if devices.isna().any():
        raise ValueError(f"{int(devices.isna().sum())} blank device count(s) cannot be prorated")
    counts = devices.to_numpy(dtype=np.int64)
    if (counts < 0).any():
        raise ValueError("device counts must be 0 or more")
    device_days = counts * prorated_days(dates).to_numpy()
    return pd.Series(-(-device_days // MONTH_DAYS), index=dates.index, name="licences")
