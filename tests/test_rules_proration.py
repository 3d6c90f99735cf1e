"""R1 proration: the SPEC's worked numbers, and the scalar/vectorised functions agreeing."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from licreport.rules.proration import (
    Proration,
    first_of_next_month,
    month_days_left,
    prorate,
    prorated_days,
    prorated_licences,
)

DAYS = [
    # (date, days left, why)
    (date(2026, 1, 23), 9, "23rd of a 31-day month (SPEC seed)"),
    (date(2026, 2, 1), 30, "the 1st is always a full 30 days, even in February"),
    (date(2026, 11, 23), 8, "23rd of a 30-day month"),
    (date(2026, 1, 2), 30, "2 January: 30 days to 1 February"),
    (date(2026, 2, 2), 27, "2 February 2026: 27 days to 1 March"),
    (date(2028, 2, 2), 28, "leap February: 28 days to 1 March"),
    (date(2026, 2, 28), 1, "last day of February"),
    (date(2028, 2, 29), 1, "leap day"),
    (date(2026, 1, 31), 1, "last day of a 31-day month"),
    (date(2026, 12, 31), 1, "year end"),
    (date(2026, 12, 2), 30, "2 December: 30 days to 1 January"),
    (date(2026, 7, 1), 30, "the 1st of a 31-day month is capped at 30"),
]


@pytest.mark.parametrize(("d", "days", "why"), DAYS)
def test_month_days_left(d: date, days: int, why: str) -> None:
    assert month_days_left(d) == days, why


@pytest.mark.parametrize(("d", "days", "why"), DAYS)
def test_prorated_days_matches_table(d: date, days: int, why: str) -> None:
    assert prorated_days(pd.Series(pd.to_datetime([d]))).tolist() == [days], why


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2026, 1, 23), date(2026, 2, 1)),
        (date(2026, 12, 31), date(2027, 1, 1)),
        (date(2026, 2, 1), date(2026, 3, 1)),
        (date(2028, 2, 29), date(2028, 3, 1)),
    ],
)
def test_first_of_next_month(d: date, expected: date) -> None:
    assert first_of_next_month(d) == expected


@pytest.mark.parametrize(
    ("d", "devices", "ppl", "days", "device_days", "licences", "points"),
    [
        # SPEC seed: AD360 at 3 points, 30 devices on 2026-01-23.
        (date(2026, 1, 23), 30, 3, 9, 270, 9, 27),
        # Its renewal on the 1st: one licence per device, 30 × 3 points.
        (date(2026, 2, 1), 30, 3, 30, 900, 30, 90),
        # 7 × 9 = 63 device-days -> ceil(63/30) = 3 licences.
        (date(2026, 1, 23), 7, 3, 9, 63, 3, 9),
        (date(2026, 1, 23), 0, 3, 9, 0, 0, 0),
        # 1 device for 1 day still needs a whole licence.
        (date(2026, 1, 31), 1, 5, 1, 1, 1, 5),
        # 10 devices × 27 days = 270 -> exactly 9 licences, no rounding up.
        (date(2026, 2, 2), 10, 2, 27, 270, 9, 18),
    ],
)
def test_prorate(
    d: date, devices: int, ppl: int, days: int, device_days: int, licences: int, points: int
) -> None:
    assert prorate(d, devices, ppl, "AD360") == Proration(
        "AD360", devices, d, days, device_days, licences, points, ppl
    )


def test_prorate_accepts_timestamps_and_reports_json() -> None:
    quote = prorate(pd.Timestamp("2026-01-23"), 30, 3, "AD360")
    assert quote.date == date(2026, 1, 23)
    assert prorate(datetime(2026, 1, 23, 15, 30), 30, 3, "AD360") == quote
    assert quote.to_json() == {
        "product": "AD360",
        "devices": 30,
        "date": "2026-01-23",
        "days": 9,
        "device_days": 270,
        "licences": 9,
        "points": 27,
        "points_per_licence": 3,
    }


@pytest.mark.parametrize(("devices", "ppl"), [(-1, 3), (3, -1)])
def test_prorate_refuses_negatives(devices: int, ppl: int) -> None:
    with pytest.raises(ValueError):
        prorate(date(2026, 1, 23), devices, ppl)


def test_vectorised_seed_and_index() -> None:
    dates = pd.Series(pd.to_datetime(["2026-01-23", "2026-02-01", "2026-01-23"]), index=[5, 7, 9])
    devices = pd.Series([30, 30, 7], index=[5, 7, 9], dtype="Int64")
    days = prorated_days(dates)
    licences = prorated_licences(dates, devices)
    assert days.tolist() == [9, 30, 9] and days.dtype == "int64"
    assert licences.tolist() == [9, 30, 3] and licences.dtype == "int64"
    assert list(licences.index) == [5, 7, 9]


def test_vectorised_accepts_date_objects_and_empty() -> None:
    assert prorated_days(pd.Series([date(2028, 2, 2)], dtype=object)).tolist() == [28]
    empty = pd.Series([], dtype="datetime64[ns]")
    assert prorated_licences(empty, pd.Series([], dtype="Int64")).dtype == "int64"


@pytest.mark.parametrize(
    ("dates", "devices"),
    [
        (["2026-01-23", None], [1, 1]),
        (["2026-01-23"], [None]),
        (["2026-01-23"], [-1]),
        (["2026-01-23"], [1, 2]),
    ],
)
def test_vectorised_refuses_blanks_negatives_and_mismatch(
    dates: list[str | None], devices: list[int | None]
) -> None:
    with pytest.raises(ValueError):
        prorated_licences(
            pd.to_datetime(pd.Series(dates, dtype=object)), pd.Series(devices, dtype="Int64")
        )


dates_2000_2100 = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
device_counts = st.integers(min_value=0, max_value=10**6)


@given(st.lists(st.tuples(dates_2000_2100, device_counts), max_size=40))
def test_vectorised_equals_scalar(rows: list[tuple[date, int]]) -> None:
    dates = pd.Series(pd.to_datetime([d for d, _ in rows]), dtype="datetime64[ns]")
    devices = pd.Series([n for _, n in rows], dtype="Int64")
    expected = [prorate(d, n, 1) for d, n in rows]
    assert prorated_days(dates).tolist() == [p.days for p in expected]
    assert prorated_licences(dates, devices).tolist() == [p.licences for p in expected]


@given(dates_2000_2100, device_counts, st.integers(min_value=0, max_value=1000))
def test_prorated_part_never_exceeds_a_month(d: date, devices: int, ppl: int) -> None:
    p = prorate(d, devices, ppl)
    assert 1 <= p.days <= 30
    assert p.device_days == devices * p.days
    assert p.licences * 30 >= p.device_days > (p.licences - 1) * 30
    assert p.licences <= devices
    assert p.points == p.licences * ppl
    if d.day == 1:  # a renewal on the 1st needs one licence per device
        assert p.licences == devices
