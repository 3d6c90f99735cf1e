"""Cell values -> typed columns (ledger/parse.py), and the errors a person sees for bad ones."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest

from licreport.ledger.load import load_ledger
from licreport.ledger.parse import Cells, DateOptions, convert
from licreport.ledger.schema import CLIENTS, DISCOUNTS, EXCHANGES, PARTNERS, POOL, Column

NA = pd.NA


def blanks(values: list) -> list:
    """Text columns hold NaN for a blank (pandas' str dtype): compare them as None."""
    return [None if pd.isna(v) else v for v in values]


def run(column: Column, values: list[Any], **options: bool) -> tuple[list[Any], list[Any]]:
    series, problems = convert(Cells.of(values), column, DateOptions(**options))
    assert series.dtype == column.dtype or column.dtype == "object"
    return series.tolist(), problems


# --- whole numbers -------------------------------------------------------------------

LICENCES = CLIENTS.column("licences")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [(5, 5), (5.0, 5), ("5", 5), (" 7 ", 7), ("1,234", 1234), ("12.0", 12), ("-3", -3)],
)
def test_int_accepts(cell: Any, expected: int) -> None:
    assert run(LICENCES, [cell]) == ([expected], [])


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("ten", '"ten" is not a whole number'),
        (2.5, '"2.5" is not a whole number'),
        ("1,5", '"1,5" is not a whole number'),
        ("12,34", '"12,34" is not a whole number'),
        (True, '"TRUE" is not a whole number'),
        (dt.date(2026, 1, 5), '"2026-01-05" is not a whole number'),
        ("1234567890123456", '"1234567890123456" is too large'),
    ],
)
def test_int_refuses(cell: Any, message: str) -> None:
    assert run(LICENCES, [cell]) == ([NA], [(0, message)])


def test_int_blank_and_true_does_not_merge_with_one() -> None:
    values, problems = run(LICENCES, [1, None, "  ", True, 1.0, float("nan")])
    assert values == [1, NA, NA, NA, 1, NA]
    assert problems == [(3, '"TRUE" is not a whole number')]


# --- decimals --------------------------------------------------------------------------

PRICE = POOL.column("unit_price")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (12.5, Decimal("12.5")),
        (0.1, Decimal("0.1")),
        (3, Decimal("3")),
        ("1,234.50", Decimal("1234.50")),
        ("€ 19.99", Decimal("19.99")),
        ("7.5%", Decimal("7.5")),
        (".5", Decimal(".5")),
    ],
)
def test_decimal_accepts_exactly(cell: Any, expected: Decimal) -> None:
    values, problems = run(PRICE, [cell, None])
    assert problems == []
    assert values == [expected, None]
    assert str(values[0]) == str(expected)  # exact, not a float's binary expansion


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("12,5", '"12,5" is ambiguous: write the decimal separator as a point'),
        ("abc", '"abc" is not a number'),
        (float("inf"), '"inf" is not a number'),
        (True, '"TRUE" is not a number'),
    ],
)
def test_decimal_refuses(cell: Any, message: str) -> None:
    assert run(PRICE, [cell]) == ([None], [(0, message)])


# --- dates -----------------------------------------------------------------------------

START = CLIENTS.column("start")
D = pd.Timestamp


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (dt.date(2026, 1, 23), D("2026-01-23")),
        (dt.datetime(2026, 1, 23, 15, 30), D("2026-01-23")),
        ("2026-01-23", D("2026-01-23")),
        ("2026-01-23 00:00:00", D("2026-01-23")),
        ("2026-01-23T00:00:00", D("2026-01-23")),
        (46045.0, D("2026-01-23")),  # Excel serial, 1900 system
        (46045.75, D("2026-01-23")),
        (59, D("1900-02-28")),
        (61, D("1900-03-01")),
    ],
)
def test_date_accepts(cell: Any, expected: pd.Timestamp) -> None:
    assert run(START, [cell]) == ([expected], [])


def test_date_serial_1904_system() -> None:
    assert run(START, [44583], date1904=True) == ([D("2026-01-23")], [])


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (
            "31/12/2026",
            '"31/12/2026" is not an ISO date (YYYY-MM-DD); pass --dayfirst or --monthfirst',
        ),
        ("2026-02-30", '"2026-02-30" is not a valid date'),
        (
            "2026-01-23 10:00",
            '"2026-01-23 10:00" is not an ISO date (YYYY-MM-DD); pass --dayfirst or --monthfirst',
        ),
        (60, '"60" is not a date serial number'),
        (-1, '"-1" is not a date serial number'),
        (True, '"TRUE" is not an ISO date (YYYY-MM-DD); pass --dayfirst or --monthfirst'),
        (dt.time(10, 0), '"10:00:00" is not a date'),
        ("9999-12-31", '"9999-12-31" is outside the dates licreport handles (1900 to 2200)'),
        (dt.date(1200, 1, 1), '"1200-01-01" is outside the dates licreport handles (1900 to 2200)'),
    ],
)
def test_date_refuses(cell: Any, message: str) -> None:
    values, problems = run(START, [cell])
    assert pd.isna(values[0])
    assert problems == [(0, message)]


@pytest.mark.parametrize(
    ("cell", "dayfirst", "expected"),
    [
        ("31/12/2026", True, D("2026-12-31")),
        ("05.01.2026", True, D("2026-01-05")),
        ("5-1-2026", True, D("2026-01-05")),
        ("05/01/2026", False, D("2026-05-01")),
        ("12/31/2026", False, D("2026-12-31")),
        ("2026-01-23", False, D("2026-01-23")),  # ISO still reads with either option
    ],
)
def test_date_dayfirst_monthfirst(cell: str, dayfirst: bool, expected: pd.Timestamp) -> None:
    assert run(START, [cell], dayfirst=dayfirst, monthfirst=not dayfirst) == ([expected], [])


def test_date_with_option_still_refuses_other_text() -> None:
    values, problems = run(START, ["31/12/2026", "Jan 5"], monthfirst=True)
    assert pd.isna(values[0]) and pd.isna(values[1])
    assert problems == [
        (0, '"31/12/2026" is not a valid date'),
        (1, '"Jan 5" is not a date (expected YYYY-MM-DD or MM/DD/YYYY)'),
    ]


def test_date_column_dtype() -> None:
    series, _ = convert(Cells.of(["2026-01-02", None]), START, DateOptions())
    assert str(series.dtype) == "datetime64[ns]"
    assert series.isna().tolist() == [False, True]


# --- booleans, choices, text -------------------------------------------------------------

AUTO = CLIENTS.column("auto_renew")


def test_bool() -> None:
    cells = ["yes", "No", "Y", "n", "TRUE", "false", 1, 0.0, True, False, "1", None]
    expected = [True, False, True, False, True, False, True, False, True, False, True, NA]
    assert run(AUTO, cells) == (expected, [])
    values, problems = run(AUTO, ["maybe", 2])
    assert values == [NA, NA]
    assert problems == [(0, '"maybe" is not yes or no'), (1, '"2" is not yes or no')]


def test_choices_match_case_and_spacing_to_the_canonical_spelling() -> None:
    provider = PARTNERS.column("provider")
    cells = ["watchguard", "PANDA SECURITY", "Panda_Security", " WatchGuard ", "Panda"]
    values, problems = run(provider, cells)
    assert blanks(values) == ["WatchGuard", "Panda Security", "Panda Security", "WatchGuard", None]
    assert problems == [(4, '"Panda" is not one of: Panda Security, WatchGuard')]


def test_term_choices() -> None:
    term = CLIENTS.column("term")
    values, problems = run(term, [1.0, 3, "2", "Monthly", "TRIAL", "1.0", "4", None])
    assert blanks(values) == ["1", "3", "2", "monthly", "trial", "1", None, None]
    assert problems == [(6, '"4" is not one of: 1, 2, 3, monthly, trial')]


def test_text_numbers_become_clean_text() -> None:
    client = CLIENTS.column("client")
    cells = [1001.0, 1001, "  C-7 ", 12.5, dt.date(2026, 1, 2), "", None, True]
    values, problems = run(client, cells)
    assert blanks(values) == ["1001", "1001", "C-7", "12.5", "2026-01-02", None, None, "TRUE"]
    assert problems == []
    assert all(type(v) is str for v in values if not pd.isna(v))


# --- through a workbook: addresses, header as written, required, defaults ----------------


def test_errors_name_the_cell_and_header_as_written(write_xlsx: Callable[..., Path]) -> None:
    rows: list[list[Any]] = [
        ["Client ID", "Product", "Term", "Licenses", "Start", "Discount"],
    ]
    rows += [[f"C{k}", "AD360", 1, 5, "2026-01-05", None] for k in range(2, 17)]
    rows += [["C17", "AD360", 1, "ten", "2026-01-05", None]]  # row 17
    rows += [[None, "AD360", "monthly", 3, "05/01/2026", None]]  # row 18
    path = write_xlsx(
        {
            "Partners": [["partner", "provider"], ["P1", "WatchGuard"]],
            "Products": [["product", "family"], ["AD360", "EDR"]],
            "Clients": rows,
        }
    )
    ledger, errors = load_ledger(path)
    assert [str(e) for e in errors] == [
        'ledger.xlsx:Clients:D17: Licenses: "ten" is not a whole number',
        "ledger.xlsx:Clients:A18: Client ID: required value is blank",
        'ledger.xlsx:Clients:E18: Start: "05/01/2026" is not an ISO date (YYYY-MM-DD); '
        "pass --dayfirst or --monthfirst",
    ]
    first = errors[0]
    assert (first.file, first.sheet, first.row, first.column, first.cell) == (
        "ledger.xlsx",
        "Clients",
        17,
        "Licenses",
        "D17",
    )
    frame = ledger["Clients"]
    assert frame["licences"].tolist()[-2:] == [NA, 3]
    assert frame["_row"].tolist()[-2:] == [17, 18]
    assert frame["type"].tolist() == ["assign"] * 17  # default when the column is absent
    ledger, errors = load_ledger(path, dayfirst=True)
    assert ledger["Clients"]["start"].iloc[-1] == D("2026-01-05")
    assert len(errors) == 2


def test_defaults_and_explicit_types(write_xlsx: Callable[..., Path]) -> None:
    pool = [
        ["date", "product", "term", "quantity", "unit_price", "type"],
        ["2026-01-05", "AD360", 1, 100, 12.5, None],
        ["2026-01-06", "AD360", "3", "1,000", "1,234.50", "Recovery"],
        ["2026-01-07", "AD360", 2, 10, "12,5", "refund"],
    ]
    path = write_xlsx(
        {
            "Partners": [["partner", "provider"], ["P1", "Panda Security"]],
            "Products": [["product", "family"], ["AD360", "EDR"]],
            "Pool": pool,
            "Discounts": [["min_quantity", "discount"], [100, 5], [500, "7.5"]],
        }
    )
    ledger, errors = load_ledger(path)
    frame = ledger["Pool"]
    assert blanks(frame["type"].tolist()) == ["purchase", "recovery", None]
    assert frame["quantity"].tolist() == [100, 1000, 10]
    assert frame["unit_price"].tolist() == [Decimal("12.5"), Decimal("1234.50"), None]
    assert frame["term"].tolist() == ["1", "3", "2"]
    assert frame["partner"].tolist() == ["P1"] * 3
    assert ledger["Discounts"]["discount"].tolist() == [Decimal("5"), Decimal("7.5")]
    assert [str(e) for e in errors] == [
        'ledger.xlsx:Pool:E4: unit_price: "12,5" is ambiguous: write the decimal separator '
        "as a point",
        'ledger.xlsx:Pool:F4: type: "refund" is not one of: purchase, recovery',
    ]


def test_excel_error_cells_are_reported_not_blank(tmp_path: Path, broken: ModuleType) -> None:
    na = broken.Raw('<c r="{ref}" t="e"><v>#N/A</v></c>')
    ref = broken.Raw('<c r="{ref}" t="e"><f>A1/0</f><v>#DIV/0!</v></c>')
    clients = broken.clients(
        ["P1", "C1", "x", "AD360", "1", na, "2026-01-05"],
        ["P1", "C2", ref, "AD360", "1", 3, "2026-01-05"],
    )
    path = broken.write_workbook(
        tmp_path / "ledger.xlsx",
        {"Partners": broken.PARTNERS, "Products": broken.PRODUCTS, "Clients": clients},
    )
    ledger, errors = load_ledger(path)
    assert [str(e) for e in errors] == [
        "ledger.xlsx:Clients:F2: licences: the cell shows the error #N/A",
        "ledger.xlsx:Clients:C3: client_name: the cell shows the error #DIV/0!",
    ]
    assert ledger["Clients"]["licences"].tolist() == [NA, 3]


def test_exchanges_optional_ints_and_choice(write_xlsx: Callable[..., Path]) -> None:
    path = write_xlsx(
        {
            "Partners": [["partner", "provider"], ["P1", "WatchGuard"]],
            "Products": [["product", "family"], ["AD360", "EDR"]],
            "Exchanges": [
                ["date", "type", "product", "devices", "points"],
                [dt.date(2026, 1, 23), "Exchange", "AD360", 30, None],
                [dt.date(2026, 1, 2), "CREDIT", None, None, "1,000"],
            ],
        }
    )
    ledger, errors = load_ledger(path)
    assert errors == []
    frame = ledger["Exchanges"]
    assert frame["type"].tolist() == ["exchange", "credit"]
    assert frame["devices"].tolist() == [30, NA]
    assert frame["points"].tolist() == [NA, 1000]
    assert frame["date"].tolist() == [D("2026-01-23"), D("2026-01-02")]
    assert [*EXCHANGES.names, "_row"] == list(frame.columns)
    assert [*DISCOUNTS.names, "_row"] == list(ledger["Discounts"].columns)


def test_to_months_reads_each_month_once_row_for_row() -> None:
    """`to_months`: canonical ``YYYY-MM`` text and the 1st of the month per row, blank
    staying blank, and each unreadable month reported at its row (in row order)."""
    from licreport.ledger.parse import to_months

    text = pd.Series(
        ["2026-12", None, "2027-13", "2026-12", "Dec 2026", "2027-13", "2027-01"],
        index=range(10, 17),
        dtype="str",
    )
    canonical, first, problems = to_months(text)
    assert canonical.index.equals(text.index) and first.index.equals(text.index)
    assert canonical.iloc[[0, 3, 6]].tolist() == ["2026-12", "2026-12", "2027-01"]
    assert canonical.iloc[[1, 2, 4, 5]].isna().all()
    assert first.iloc[0] == pd.Timestamp("2026-12-01") and pd.isna(first.iloc[1])
    assert first.iloc[[2, 4, 5]].isna().all()
    assert [pos for pos, _ in problems] == [2, 4, 5]  # positions, not the index
    assert '"2027-13" is not a possible month' in problems[0][1]
    assert problems[1][1] == '"Dec 2026" is not a month (YYYY-MM)'
    assert problems[2][1] == problems[0][1]
