"""Formatting filters for the HTML report, registered in one place (`FILTERS`).

Small pure functions: the templates stay logic-free and every number, date and
label is formatted the same way everywhere.  They return plain `str`; the
jinja2 environment autoescapes the result.  Missing values (`None`) render as
an em dash.  Output never depends on the locale or the clock.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from licreport.outputs.terms import term_label

DASH = "—"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHS_LONG = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_CENT = Decimal("0.01")


def to_decimal(value: object) -> Decimal | None:
    """`value` as an exact Decimal, or None when it is blank or not a finite number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, numbers.Integral):
        return Decimal(int(value))
    if isinstance(value, numbers.Real):
        f = float(value)
        return Decimal(repr(f)) if math.isfinite(f) else None
    if isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            return None
        return d if d.is_finite() else None
    return None


def number(value: object, places: int | None = None) -> str:
    """Thousands separators; whole numbers as such, others to at most 2 decimals (half-up).

    `places` forces that many decimals.  Text that is not a number is shown as is.
    """
    d = to_decimal(value)
    if d is None:
        return DASH if value is None or value == "" else str(value)
    if places is not None:
        q = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return f"{q:,.{places}f}"
    if d == d.to_integral_value():
        return f"{int(d):,}"
    q = d.quantize(_CENT, rounding=ROUND_HALF_UP)
    text = f"{q:,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def compact(value: object) -> str:
    """A short number for tight chart labels: `950`, `12.3k`, `123k`, `1.5M`."""
    d = to_decimal(value)
    if d is None:
        return DASH
    for limit, suffix in ((Decimal(10**9), "B"), (Decimal(10**6), "M"), (Decimal(10**3), "k")):
        if abs(d) >= limit:
            q = d / limit
            places = 0 if abs(q) >= 100 else 1
            text = f"{q.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)}"
            return text.removesuffix(".0") + suffix
    return number(d)


def money(value: object, currency: str = "") -> str:
    """Money rounded half-up to cents only here, when shown: `1,234.50` (or `EUR 1,234.50`)."""
    d = to_decimal(value)
    if d is None:
        return DASH
    text = f"{d.quantize(_CENT, rounding=ROUND_HALF_UP):,.2f}"
    return f"{currency} {text}" if currency else text


def percent(value: object, places: int = 0) -> str:
    """A fraction (0.856) as a percentage (`86%`), half-up."""
    d = to_decimal(value)
    if d is None:
        return DASH
    q = (d * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{q:,.{places}f}%"


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def date(value: object) -> str:
    """An ISO date as `2 Feb 2026` (unambiguous whatever the reader's locale)."""
    d = _as_date(value)
    if d is None:
        return DASH if value in (None, "") else str(value)
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def parse_month(value: object) -> tuple[int, int] | None:
    """`YYYY-MM` (or a date) as (year, month), or None."""
    d = _as_date(value)
    if d is not None:
        return d.year, d.month
    if isinstance(value, str):
        parts = value.strip().split("-")
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            year, month = int(parts[0]), int(parts[1])
            if 1 <= month <= 12:
                return year, month
    return None


def month_label(value: object, style: str = "long") -> str:
    """`2026-02` as `February 2026` (`style="short"`: `Feb 2026`, `"abbr"`: `Feb`)."""
    ym = parse_month(value)
    if ym is None:
        return DASH if value in (None, "") else str(value)
    year, month = ym
    if style == "abbr":
        return MONTHS[month - 1]
    names = MONTHS if style == "short" else MONTHS_LONG
    return f"{names[month - 1]} {year}"


def pluralise(count: object, singular: str, plural: str | None = None) -> str:
    """`1 partner`, `1,000 partners` (`plural` defaults to singular + "s")."""
    d = to_decimal(count)
    word = singular if d == 1 else (plural or singular + "s")
    return f"{number(count)} {word}"


def term(value: object) -> str:
    """A contract/pool term for people: `1 year`, `3 years`, `Monthly`, `Trial` (the one
    vocabulary of every output, `terms.term_label`)."""
    return term_label(value) or DASH


def days(value: object) -> str:
    """Days left: `today`, `1 day`, `12 days`."""
    d = to_decimal(value)
    if d is None:
        return DASH
    return "today" if d == 0 else pluralise(value, "day")


def yes_no(value: object) -> str:
    """A boolean as `yes`/`no`."""
    return "yes" if value else "no"


FILTERS: dict[str, Callable[..., Any]] = {
    "number": number,
    "compact": compact,
    "money": money,
    "percent": percent,
    "date": date,
    "month_label": month_label,
    "pluralise": pluralise,
    "term": term,
    "days": days,
    "yes_no": yes_no,
}


def register(env: Any) -> None:
    """Install every report filter on a jinja2 Environment (the one place they are named)."""
    env.filters.update(FILTERS)
