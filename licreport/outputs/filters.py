"""Formatting filters for the HTML report, registered in one place (`FILTERS`).

Small pure functions: the templates stay logic-free and every number, date and
label is formatted the same way everywhere.  They return plain `str`; the
jinja2 environment autoescapes the result.  Missing values (`None`) render as
an em dash.  Output never depends on the machine's locale or the clock: the
module functions are the English formats, `Formats(lang)` holds every filter of
one report language (SPEC §11).
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import math
import numbers
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import markupsafe
from babel.dates import format_date, format_skeleton
from babel.numbers import (
    format_compact_decimal,
    format_currency,
    format_decimal,
    format_percent,
)

from licreport import i18n
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
WHOLE_NUMBERS = 8192  # whole numbers a language keeps laid out (`Formats.number`)
DAYS = 4096  # days a language keeps laid out (`Formats.date`)
_EXACT = 2**53  # a whole float below this reads as the same integer from its repr (to_decimal)


try:  # markupsafe's escaper itself (C), without the Markup object `escape` wraps it in
    from markupsafe import _escape_inner
except ImportError:  # pragma: no cover - a markupsafe that renamed it

    def _escape_inner(s: str, /) -> str:
        return str(markupsafe.escape(s))


def html_text(value: object) -> str:
    """`markupsafe.escape(value)` as plain text: ``& < > ' "`` escaped, an object with
    ``__html__`` (Markup) taken as it is.  For text put into markup that is marked safe
    once whole (the report's templates, the SVG charts): a Markup object for each piece
    costs more than the escaping."""
    if type(value) is str:
        return _escape_inner(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return _escape_inner(str(value))


def to_decimal(value: object) -> Decimal | None:
    """`value` as an exact Decimal, or None when it is blank or not a finite number."""
    if type(value) is int:  # before the ABC checks below, ten times as slow
        return Decimal(value)
    if type(value) is Decimal:  # the report's money and counts
        return value if value.is_finite() else None
    if type(value) is float:  # the charts' values
        return Decimal(repr(value)) if math.isfinite(value) else None
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
    if type(value) is int and places is None:  # the usual count: 180 a partner report
        return f"{value:,}"
    if type(value) is float and places is None and value.is_integer() and abs(value) < _EXACT:
        return f"{int(value):,}"  # a chart's whole counts: 110 a partner report
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


# --------------------------------------------------------------------------- one language


def plural_n(count: object) -> int:
    """A count as the int gettext's plural rules need (a fraction counts as "many")."""
    d = to_decimal(count)
    if d is None:
        return 0
    return int(d) if d == d.to_integral_value() else 2


# `pluralise` and `more`: each phrase a literal ngettext call, so the catalogue's extractor
# finds it; the tables are made once (a partner report counts 70 things).
_COUNTED: dict[str, Callable[[gettext.NullTranslations, int], str]] = {
    "annual licence": lambda t, n: t.ngettext(
        "%(num)s annual licence", "%(num)s annual licences", n
    ),
    "client": lambda t, n: t.ngettext("%(num)s client", "%(num)s clients", n),
    "contract": lambda t, n: t.ngettext("%(num)s contract", "%(num)s contracts", n),
    "day": lambda t, n: t.ngettext("%(num)s day", "%(num)s days", n),
    "device": lambda t, n: t.ngettext("%(num)s device", "%(num)s devices", n),
    "finding": lambda t, n: t.ngettext("%(num)s finding", "%(num)s findings", n),
    "licence": lambda t, n: t.ngettext("%(num)s licence", "%(num)s licences", n),
    "line": lambda t, n: t.ngettext("%(num)s line", "%(num)s lines", n),
    "monthly device": lambda t, n: t.ngettext(
        "%(num)s monthly device", "%(num)s monthly devices", n
    ),
    "partner": lambda t, n: t.ngettext("%(num)s partner", "%(num)s partners", n),
    "product": lambda t, n: t.ngettext("%(num)s product", "%(num)s products", n),
    "row": lambda t, n: t.ngettext("%(num)s row", "%(num)s rows", n),
    "renewal line": lambda t, n: t.ngettext("%(num)s renewal line", "%(num)s renewal lines", n),
    "smaller product": lambda t, n: t.ngettext(
        "%(num)s smaller product", "%(num)s smaller products", n
    ),
    "trial": lambda t, n: t.ngettext("%(num)s trial", "%(num)s trials", n),
    "unmatched row": lambda t, n: t.ngettext("%(num)s unmatched row", "%(num)s unmatched rows", n),
    "virtual licence": lambda t, n: t.ngettext(
        "%(num)s virtual licence", "%(num)s virtual licences", n
    ),
    "year": lambda t, n: t.ngettext("%(num)s year", "%(num)s years", n),
}


_MORE: dict[str, Callable[[gettext.NullTranslations, int], str]] = {
    "client": lambda t, n: t.ngettext(
        "+ %(num)s more client not shown.", "+ %(num)s more clients not shown.", n
    ),
    "contract": lambda t, n: t.ngettext(
        "+ %(num)s more contract not shown.", "+ %(num)s more contracts not shown.", n
    ),
    "finding": lambda t, n: t.ngettext(
        "+ %(num)s more finding not shown.", "+ %(num)s more findings not shown.", n
    ),
    "line": lambda t, n: t.ngettext(
        "+ %(num)s more line not shown.", "+ %(num)s more lines not shown.", n
    ),
    "row": lambda t, n: t.ngettext(
        "+ %(num)s more row not shown.", "+ %(num)s more rows not shown.", n
    ),
    "partner": lambda t, n: t.ngettext(
        "+ %(num)s more partner not shown.", "+ %(num)s more partners not shown.", n
    ),
    "product": lambda t, n: t.ngettext(
        "+ %(num)s more product not shown.", "+ %(num)s more products not shown.", n
    ),
    "trial": lambda t, n: t.ngettext(
        "+ %(num)s more trial not shown.", "+ %(num)s more trials not shown.", n
    ),
}


class Formats:
    """Every report filter for one language (SPEC §11), registered in one place (`filters`).

    Words go through the language's gettext catalogue; numbers, money and dates through
    Babel with the language's locale.  English keeps the functions above (the report's
    established formats: `1,234.50`, `EUR 1,234.50`, `2 Feb 2026`), so its output is what
    it always was.  Rounding is ours (half-up, `to_decimal`) before Babel only lays out.
    """

    def __init__(self, lang: str = i18n.DEFAULT) -> None:
        self.lang = lang
        self.translations = i18n.translations(lang)
        self.locale = i18n.babel_locale(lang)
        self._month_labels: dict[tuple[str, str], str] = {}
        # a whole number laid out by Babel, once: the 1,000 partner reports of SPEC §9
        # show 400,000 numbers, most of them small counts, and Babel takes 15 µs for each
        self._whole = functools.lru_cache(maxsize=WHOLE_NUMBERS)(self._format_whole)
        self._day = functools.lru_cache(maxsize=DAYS)(self._format_day)  # as `_whole`

    # words ----------------------------------------------------------------------------

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def pgettext(self, context: str, message: str) -> str:
        """`message` as translated for `context` (one English word, several genders)."""
        return self.translations.pgettext(context, message)

    def ngettext(self, singular: str, plural: str, count: object) -> str:
        return self.translations.ngettext(singular, plural, plural_n(count))

    def counted(self, singular: str, plural: str, count: object) -> str:
        """`ngettext` of a `%(num)s …` message with the count formatted by the locale."""
        return self.ngettext(singular, plural, count) % {"num": self.number(count)}

    def pluralise(self, count: object, noun: str) -> str:
        """`1 partner`, `1,000 partners` in the report's language, for the nouns it counts.

        The nouns are a closed list (each phrase is its own catalogue entry, so a
        translator can decline it); an unknown noun is a programming error.
        """
        if noun not in _COUNTED:
            raise ValueError(f"pluralise: no catalogue entry for the noun {noun!r}")
        return _COUNTED[noun](self.translations, plural_n(count)) % {"num": self.number(count)}

    def more(self, count: object, noun: str) -> str:
        """`+ 3 more partners not shown.` under a list cut to its top rows."""
        if noun not in _MORE:
            raise ValueError(f"more: no catalogue entry for the noun {noun!r}")
        return _MORE[noun](self.translations, plural_n(count)) % {"num": self.number(count)}

    def term(self, value: object) -> str:
        """A contract/pool term for people: `1 year`, `3 years`, `Monthly`, `Trial`: the one
        vocabulary of every output (`terms.term_label`), its words through the catalogue."""
        label = term_label(value)
        if not label:
            return DASH
        if self.locale is None:
            return label
        count, _, unit = label.partition(" ")
        if count.isdigit() and unit in ("year", "years"):
            return self.pluralise(int(count), "year")
        if label == "Monthly":
            return self.gettext("Monthly")
        if label == "Trial":
            return self.gettext("Trial")
        return label

    def days(self, value: object) -> str:
        """Days left: `today`, `1 day`, `12 days`."""
        d = to_decimal(value)
        if d is None:
            return DASH
        return self.gettext("today") if d == 0 else self.pluralise(value, "day")

    def yes_no(self, value: object) -> str:
        """A boolean as `yes`/`no`."""
        return self.gettext("yes") if value else self.gettext("no")

    # numbers, money, dates -----------------------------------------------------------

    def number(self, value: object, places: int | None = None) -> str:
        """Grouped digits; whole numbers as such, others to at most 2 decimals (half-up)."""
        if self.locale is None:
            return number(value, places)
        if type(value) is int and places is None:
            return self._whole(value)
        d = to_decimal(value)
        if d is None:
            return DASH if value is None or value == "" else str(value)
        if places is not None:
            q = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
            pattern = "#,##0." + "0" * places if places else "#,##0"
            return format_decimal(q, format=pattern, locale=self.locale)
        if d == d.to_integral_value():
            return self._whole(int(d))
        q = d.quantize(_CENT, rounding=ROUND_HALF_UP)
        return format_decimal(q if q else 0, locale=self.locale)

    def _format_whole(self, value: int) -> str:
        return format_decimal(value, locale=self.locale)

    def compact(self, value: object) -> str:
        """A short number for tight chart labels: `950`, `12,3 mil`, `1,5 Mio.`."""
        if self.locale is None:
            return compact(value)
        d = to_decimal(value)
        if d is None:
            return DASH
        if abs(d) < 1000:
            return self.number(d)
        q = d.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return format_compact_decimal(q, locale=self.locale, fraction_digits=1)

    def money(self, value: object, currency: str = "") -> str:
        """Money rounded half-up to cents only here, when shown: `1.234,50 €` (de)."""
        if self.locale is None:
            return money(value, currency)
        d = to_decimal(value)
        if d is None:
            return DASH
        q = d.quantize(_CENT, rounding=ROUND_HALF_UP)
        if currency:
            return format_currency(q, currency, locale=self.locale)
        return format_decimal(q, format="#,##0.00", locale=self.locale)

    def percent(self, value: object, places: int = 0) -> str:
        """A fraction (0.856) as a percentage (`86 %` in de), half-up."""
        if self.locale is None:
            return percent(value, places)
        d = to_decimal(value)
        if d is None:
            return DASH
        q = (d * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return format_percent(q / 100, locale=self.locale, decimal_quantization=False)

    def date(self, value: object) -> str:
        """A date in the locale's medium style: `2 Feb 2026`, `02.02.2026` (de)."""
        if self.locale is None:
            return date(value)
        d = _as_date(value)
        if d is None:
            return DASH if value in (None, "") else str(value)
        return self._day(d)

    def _format_day(self, day: dt.date) -> str:
        return format_date(day, "medium", locale=self.locale)

    def month_label(self, value: object, style: str = "long") -> str:
        """`2026-02` as `February 2026` (`"short"`: `Feb 2026`, `"abbr"`: `Feb`).

        A month given as text is labelled once per style: the 1,000 partner reports of
        SPEC §9 label the same few dozen months 60,000 times."""
        if type(value) is not str:
            return self._month_label(value, style)
        key = (value, style)
        label = self._month_labels.get(key)
        if label is None:
            label = self._month_labels[key] = self._month_label(value, style)
        return label

    def _month_label(self, value: object, style: str) -> str:
        if self.locale is None:
            return month_label(value, style)
        ym = parse_month(value)
        if ym is None:
            return DASH if value in (None, "") else str(value)
        first = dt.date(ym[0], ym[1], 1)
        if style == "abbr":
            return format_date(first, "LLL", locale=self.locale)
        skeleton = "yMMM" if style == "short" else "yMMMM"
        return format_skeleton(skeleton, first, locale=self.locale)

    # registration --------------------------------------------------------------------

    def filters(self) -> dict[str, Callable[..., Any]]:
        """The jinja2 filters, by the names the templates use."""
        return {
            "number": self.number,
            "compact": self.compact,
            "money": self.money,
            "percent": self.percent,
            "date": self.date,
            "month_label": self.month_label,
            "pluralise": self.pluralise,
            "more": self.more,
            "term": self.term,
            "days": self.days,
            "yes_no": self.yes_no,
        }


ENGLISH = Formats()
pluralise = ENGLISH.pluralise
term = ENGLISH.term
days = ENGLISH.days
yes_no = ENGLISH.yes_no


def register(env: Any, formats: Formats = ENGLISH) -> None:
    """Install every report filter of one language on a jinja2 Environment."""
    env.filters.update(formats.filters())
