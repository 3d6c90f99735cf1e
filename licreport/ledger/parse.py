"""Cell values -> typed columns (SPEC §3), a whole column at a time.

A column is factorised first (`pd.factorize`): each *distinct* value is read
once, by a small per-value function, and the results are taken back to every
row with numpy.  Ledger columns repeat themselves (terms, products, dates,
counts), so a 100,000-row column costs a few hundred value reads; a column of
distinct ids costs one pass.  Each converter returns the typed Series and
``(position, message)`` for every cell it could not read.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from licreport.ledger.headers import cell_text
from licreport.ledger.schema import BOOL, CHOICE, DATE, DECIMAL, INT, TEXT, Column

Problems = list[tuple[int, str]]

# Whole numbers: plain or with unambiguous thousands grouping, optionally ".0".
_INT = re.compile(r"[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.0*)?")
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+|\d{1,3}(?:,\d{3})+(?:\.\d*)?)")
_COMMA_DECIMAL = re.compile(r"[+-]?\d*,\d+")
# Decimal comma (SPEC §11): "1.234,50", "1 234,50" (a space or no-break space groups).
_GROUP = r"(?:\.\d{3})+|(?:[ \u00a0\u202f]\d{3})+"
_INT_DC = re.compile(r"[+-]?(?:\d+|\d{1,3}(?:" + _GROUP + r"))(?:,0*)?")
_DECIMAL_DC = re.compile(r"[+-]?(?:\d+(?:,\d*)?|,\d+|\d{1,3}(?:" + _GROUP + r")(?:,\d*)?)")
_POINT_DECIMAL = re.compile(r"[+-]?\d*\.\d+")
_GROUPING = str.maketrans("", "", ". \u00a0\u202f")
_DECORATION = re.compile(r"^[€$£\s]+|[€$£%\s]+$")
_TIME0 = r"(?:[ T]00:00(?::00(?:\.0+)?)?)?"
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})" + _TIME0)
_DMY = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})" + _TIME0)
_BOOLS = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False}
_BOOLS |= {"false": False, "0": False}
# Excel's dates start in 1900; the rules add up to a 3-year term (renewals), a trial of up to
# MAX_TRIAL_DAYS and a 12-month outlook to a date, which must stay within datetime64[ns]
# (to 2262-04-11): 2200 leaves room for all of them.  Whole years keep the message simple.
MIN_YEAR, MAX_YEAR = 1900, 2200
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_EPOCH_1904 = dt.date(1904, 1, 1)
_MAX_SERIAL = 2_958_465  # 9999-12-31
_NAT = np.datetime64("NaT", "D")


class Bad(str):
    """A per-value converter's verdict that the value cannot be read (the message)."""


@dataclass(frozen=True)
class DateOptions:
    """How to read dates: text order for non-ISO dates and the workbook's date system."""

    dayfirst: bool = False
    monthfirst: bool = False
    date1904: bool = False


@dataclass
class Cells:
    """One raw column as codes into its distinct values.

    ``uniques`` ends with an extra ``None`` so that code -1 (a missing value)
    indexes it; ``text_u`` holds each distinct string stripped (``None`` for
    other types) and ``blank_u`` says which distinct values are blank.
    """

    codes: np.ndarray  # intp
    uniques: np.ndarray  # object
    text_u: np.ndarray  # object: stripped str or None
    blank_u: np.ndarray  # bool

    @classmethod
    def of(cls, values: Any) -> Cells:
        values = np.asarray(values, dtype=object)
        codes, uniques = pd.factorize(values)
        if {bool, int, float} & set(map(type, uniques)) and bool in set(map(type, values)):
            # factorize merges True with 1 and 1.0: a TRUE/FALSE cell reads like its text.
            is_bool = np.fromiter((type(v) is bool for v in values), dtype=bool, count=len(values))
            values = values.copy()
            values[is_bool] = ["TRUE" if v else "FALSE" for v in values[is_bool]]
            codes, uniques = pd.factorize(values)
        return cls.coded(codes, uniques)

    @classmethod
    def coded(cls, codes: np.ndarray, uniques: Any, *, text: bool = False) -> Cells:
        """From a column already coded: `codes` into its distinct values `uniques`, -1 for a
        missing value (`pd.factorize`, or a CSV column read by pyarrow: `text`, every
        distinct value a str)."""
        u = np.empty(len(uniques) + 1, dtype=object)
        u[:-1] = uniques
        if text:
            is_str = np.ones(len(u), dtype=bool)
            is_str[-1] = False
        else:
            is_str = np.fromiter((type(v) is str for v in u), dtype=bool, count=len(u))
        text_u = np.full(len(u), None, dtype=object)
        text_u[is_str] = [v.strip() for v in u[is_str]]
        blank_u = is_str & (text_u == "")
        blank_u[-1] = True  # factorize has already taken None and NaN out as code -1
        return cls(np.asarray(codes, dtype=np.intp), u, text_u, blank_u)

    def take(self, positions: np.ndarray) -> Cells:
        """The cells at `positions`, renumbered from 0."""
        return Cells(self.codes[positions], self.uniques, self.text_u, self.blank_u)

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def blank(self) -> np.ndarray:
        return self.blank_u[self.codes]

    def present(self) -> np.ndarray:
        """Which distinct values occur in some non-blank cell."""
        present = np.zeros(len(self.uniques), dtype=bool)
        present[self.codes] = True
        return present & ~self.blank_u

    def read(self, reader: Callable[[Any], Any]) -> tuple[list[Any], Problems]:
        """Apply `reader` to every distinct non-blank value: results by unique, problems by row."""
        results: list[Any] = [None] * len(self.uniques)
        bad: dict[int, str] = {}
        for k in np.flatnonzero(self.present()):
            r = reader(self.uniques[k])
            if isinstance(r, Bad):
                bad[int(k)] = str(r)
            else:
                results[k] = r
        return results, self.problems(bad)

    def problems(self, bad: dict[int, str]) -> Problems:
        """``(row position, message)`` for every cell whose distinct value is in `bad`."""
        if not bad:
            return []
        rows = np.flatnonzero(np.isin(self.codes, list(bad)))
        return [(int(i), bad[int(self.codes[i])]) for i in rows]


def _shown(v: Any) -> str:
    return cell_text(v)


def read_int(v: Any, decimal: str | None = None) -> int | Bad:
    """Whole numbers: 5, 5.0, "5", "1,234"; not "ten", 2.5 or "1,5".

    With ``decimal=","`` (a decimal-comma CSV file) text reads "1.234" as 1234 and "5,0" as 5.
    """
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if math.isfinite(v) and float(v).is_integer() and abs(v) < 2**53:
            return int(v)
    elif isinstance(v, str) and decimal == "," and _INT_DC.fullmatch(v := v.strip()):
        return _whole(v, v.translate(_GROUPING).split(",")[0])
    elif isinstance(v, str) and decimal != "," and _INT.fullmatch(v := v.strip()):
        return _whole(v, v.replace(",", "").split(".")[0])
    return Bad(f'"{_shown(v)}" is not a whole number')


def _whole(shown: str, digits: str) -> int | Bad:
    if len(digits.lstrip("+-")) > 15:
        return Bad(f'"{shown}" is too large')
    return int(digits)


def read_decimal(v: Any, decimal: str | None = None) -> Decimal | Bad:
    """Money and percent, exact: floats via their repr; "1,234.50" yes, "12,5" no.

    `decimal` is how a CSV file's text is read (SPEC §11): ``","`` reads
    "1.234,50" as 1234.50 and refuses "38.00"; ``"."`` is the default reading,
    whose refusals name ``--decimal-comma``; ``None`` (a worksheet) the same
    without that hint, as the option does not apply to .xlsx files.
    """
    if isinstance(v, float):
        if math.isfinite(v):
            return Decimal(repr(v))
    elif isinstance(v, int) and not isinstance(v, bool):
        return Decimal(v)
    elif isinstance(v, str):
        s = _DECORATION.sub("", v.strip())
        if decimal == ",":
            if _DECIMAL_DC.fullmatch(s):
                return Decimal(s.translate(_GROUPING).replace(",", "."))
            if _POINT_DECIMAL.fullmatch(s):
                return Bad(
                    f'"{v.strip()}" is ambiguous: this file is read with a decimal comma; '
                    "write it with a comma or pass --decimal-point"
                )
        elif _DECIMAL.fullmatch(s):
            return Decimal(s.replace(",", ""))
        elif _COMMA_DECIMAL.fullmatch(s):
            hint = " (or pass --decimal-comma)" if decimal == "." else ""
            return Bad(f'"{v.strip()}" is ambiguous: write the decimal separator as a point{hint}')
    return Bad(f'"{_shown(v)}" is not a number')


def read_bool(v: Any) -> bool | Bad:
    """yes/no/y/n/true/false/1/0, case-insensitive."""
    key = cell_text(v).casefold() if isinstance(v, (str, int, float)) else None
    if key is not None and key in _BOOLS:
        return _BOOLS[key]
    return Bad(f'"{_shown(v)}" is not yes or no')


def date_reader(options: DateOptions) -> Callable[[Any], dt.date | Bad]:
    """The per-value date reader for `options` (text order, 1900 or 1904 serials)."""

    def read_date(v: Any) -> dt.date | Bad:
        if isinstance(v, dt.datetime):
            return _in_range(v.date(), v)
        if isinstance(v, dt.date):
            return _in_range(v, v)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return _serial(v, options.date1904)
        if isinstance(v, str):
            s = v.strip()
            m = _ISO.fullmatch(s)
            if m:
                return _ymd(s, int(m[1]), int(m[2]), int(m[3]))
            m = _DMY.fullmatch(s) if options.dayfirst or options.monthfirst else None
            if m:
                first, second = int(m[1]), int(m[2])
                day, month = (first, second) if options.dayfirst else (second, first)
                return _ymd(s, int(m[3]), month, day)
            if options.dayfirst:
                return Bad(f'"{s}" is not a date (expected YYYY-MM-DD or DD/MM/YYYY)')
            if options.monthfirst:
                return Bad(f'"{s}" is not a date (expected YYYY-MM-DD or MM/DD/YYYY)')
            return Bad(f'"{s}" is not an ISO date (YYYY-MM-DD); pass --dayfirst or --monthfirst')
        return Bad(f'"{_shown(v)}" is not a date')

    return read_date


def text_date_separator(values: Iterable[Any]) -> str | None:
    """The separator of the first D/M/Y-or-M/D/Y text date in `values` (``None``: none).

    A CSV writer follows it (SPEC §11): ``26.11.2026`` in, ``01.12.2026`` appended.
    """
    for v in values:
        if isinstance(v, str) and _DMY.fullmatch(s := v.strip()):
            return s[len(s) - len(s.lstrip("0123456789"))]
    return None


def _ymd(shown: str, year: int, month: int, day: int) -> dt.date | Bad:
    try:
        return _in_range(dt.date(year, month, day), shown)
    except ValueError:
        return Bad(f'"{shown}" is not a valid date')


def _in_range(d: dt.date, shown: Any) -> dt.date | Bad:
    if MIN_YEAR <= d.year <= MAX_YEAR:
        return d
    return Bad(
        f'"{_shown(shown)}" is outside the dates licreport handles ({MIN_YEAR} to {MAX_YEAR})'
    )


def _serial(x: float, date1904: bool) -> dt.date | Bad:
    """An Excel serial day number -> date (1900 system: 1 = 1900-01-01, 60 does not exist)."""
    bad = Bad(f'"{_shown(x)}" is not a date serial number')
    if not math.isfinite(x) or x >= _MAX_SERIAL:
        return bad
    n = math.floor(x)
    if date1904:
        return _in_range(_EPOCH_1904 + dt.timedelta(days=n), x) if n >= 0 else bad
    if n < 1 or n == 60:  # 60 is 1900-02-29, a day Excel invents
        return bad
    # Excel counts that invented day, so serials before it are one day off the epoch.
    return _in_range(_EXCEL_EPOCH + dt.timedelta(days=n + (1 if n < 60 else 0)), x)


def to_text(cells: Cells) -> pd.Series:
    """A text column: stripped strings, numbers as written, <NA> when blank."""
    text_u = cells.text_u.copy()
    text_u[cells.blank_u] = None
    todo = cells.present() & pd.isna(text_u)
    if todo.any():
        values = cells.uniques[todo]
        is_float = np.fromiter((type(v) is float for v in values), dtype=bool, count=len(values))
        shown = np.empty(len(values), dtype=object)
        if is_float.any():
            floats = values[is_float].astype(float)
            whole = np.isfinite(floats) & (np.floor(floats) == floats) & (np.abs(floats) < 1e15)
            as_text = np.empty(len(floats), dtype=object)
            as_text[whole] = floats[whole].astype(np.int64).astype(str).tolist()
            as_text[~whole] = [repr(f) for f in floats[~whole].tolist()]
            shown[is_float] = as_text
        shown[~is_float] = [cell_text(v) for v in values[~is_float]]
        text_u[todo] = shown
    return pd.Series(pd.array(text_u[cells.codes], dtype="str"))


def to_choice(cells: Cells, choices: tuple[str, ...]) -> tuple[pd.Series, Problems]:
    """Choices match case-insensitively, ignoring spaces, ``_`` and ``-`` (term 1.0 -> "1")."""
    canonical = {_choice_key(c): c for c in choices}
    listed = ", ".join(choices)

    def read_choice(v: Any) -> str | Bad:
        text = cell_text(v)
        key = _choice_key(re.sub(r"^(\d+)\.0*$", r"\1", text))
        return canonical.get(key) or Bad(f'"{text}" is not one of: {listed}')

    results, problems = cells.read(read_choice)
    return pd.Series(pd.array(_object(results)[cells.codes], dtype="str")), problems


def _choice_key(value: str) -> str:
    return re.sub(r"[\s_\-]+", "", value.casefold())


def to_int(cells: Cells, decimal: str | None = None) -> tuple[pd.Series, Problems]:
    results, problems = cells.read(functools.partial(read_int, decimal=decimal))
    ok_u = np.array([r is not None for r in results], dtype=bool)
    values_u = np.array([r if r is not None else 0 for r in results], dtype=np.int64)
    ok = ok_u[cells.codes]
    return pd.Series(pd.arrays.IntegerArray(values_u[cells.codes], ~ok)), problems


def to_decimal(cells: Cells, decimal: str | None = None) -> tuple[pd.Series, Problems]:
    """Exact ``Decimal`` values in an object column, ``None`` when blank or unreadable."""
    results, problems = cells.read(functools.partial(read_decimal, decimal=decimal))
    return pd.Series(_object(results)[cells.codes], dtype=object), problems


def to_bool(cells: Cells) -> tuple[pd.Series, Problems]:
    results, problems = cells.read(read_bool)
    ok_u = np.array([r is not None for r in results], dtype=bool)
    values_u = np.array([bool(r) for r in results], dtype=bool)
    ok = ok_u[cells.codes]
    return pd.Series(pd.arrays.BooleanArray(values_u[cells.codes], ~ok)), problems


def to_date(cells: Cells, options: DateOptions) -> tuple[pd.Series, Problems]:
    """Date cells, ISO text, Excel serial numbers; D/M/Y or M/D/Y text only when asked."""
    results, problems = cells.read(date_reader(options))
    days_u = np.array([_NAT if r is None else np.datetime64(r, "D") for r in results])
    days = days_u.astype("datetime64[D]")[cells.codes]
    return pd.Series(days.astype("datetime64[ns]")), problems


def _object(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def convert(
    cells: Cells, column: Column, options: DateOptions, decimal: str | None = None
) -> tuple[pd.Series, Problems]:
    """The typed Series of `column` (its schema dtype) and the cells that could not be read.

    `decimal` is the CSV file's decimal separator (`read_decimal`); ``None`` for a worksheet.
    """
    kind = column.kind
    if kind == TEXT:
        return to_text(cells), []
    if kind == CHOICE:
        return to_choice(cells, column.choices)
    if kind == DATE:
        return to_date(cells, options)
    if kind == INT:
        return to_int(cells, decimal)
    if kind == DECIMAL:
        return to_decimal(cells, decimal)
    converters: dict[str, Callable[[Cells], tuple[pd.Series, Problems]]] = {BOOL: to_bool}
    return converters[kind](cells)


# --- months (Renewals.month, --month) ------------------------------------------------------

_MONTH = re.compile(r"^\s*(\d{4})-(\d{2})(?:-01(?:[ T]00:00:00)?)?\s*$")


def read_month(text: object) -> pd.Timestamp | Bad:
    """``YYYY-MM`` (Excel may have turned it into a date on the 1st) -> the 1st of that month.

    The one place a month is read: the loader's Renewals.month and the --month option.
    """
    m = _MONTH.match(str(text))
    if m is None:
        return Bad(f'"{text}" is not a month (YYYY-MM)')
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12:
        return Bad(f'"{text}" is not a possible month (the month number must be 01 to 12)')
    if not MIN_YEAR <= year <= MAX_YEAR:
        return Bad(f'"{text}" is outside the years {MIN_YEAR}–{MAX_YEAR}')
    return pd.Timestamp(year=year, month=month, day=1)


def to_months(text: pd.Series) -> tuple[pd.Series, pd.Series, Problems]:
    """A text column of months -> (canonical ``YYYY-MM`` text, 1st of the month, problems).

    Each distinct value is read once; blank stays blank (NaN / NaT).
    """
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    read = [read_month(u) for u in uniques]
    bad = np.array([isinstance(r, Bad) for r in read] + [False], dtype=bool)
    firsts = np.array(
        [np.datetime64("NaT", "ns") if isinstance(r, Bad) else r.to_datetime64() for r in read]
        + [np.datetime64("NaT", "ns")],
        dtype="datetime64[ns]",
    )
    texts = np.array(
        [np.nan if isinstance(r, Bad) else r.strftime("%Y-%m") for r in read] + [np.nan],
        dtype=object,
    )
    first = pd.Series(firsts[codes], index=text.index)  # code -1 (blank) -> the trailing NaT
    canonical = pd.Series(texts[codes], index=text.index, dtype="str")
    problems: Problems = [(int(pos), str(read[codes[pos]])) for pos in np.flatnonzero(bad[codes])]
    return canonical, first, problems
