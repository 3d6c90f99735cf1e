"""Column widths of the sheets licreport writes (`worksheet.width`): header and content
fit, at least 6 and at most 60 characters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import licreport.ledger.model  # noqa: F401  (text columns in Python storage, as the ledger's)
from licreport.outputs.xlsx.worksheet import Column, width


def text(values: list[object]) -> pd.Series:
    return pd.Series(values, dtype="str")


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        # the longest text (8 characters) + 2, the header "client" (6) + 3 being 9
        (Column("client", text(["abc", None, "abcdefgh", "abc"]), None), 10.0),
        (Column("client", text(["abc", None, "abcdefgh", "abc"]), "text"), 10.0),
        # no text at all: the header's width
        (Column("client", text([None, None]), None), 9.0),
        # at least 6, at most 60
        (Column("a", text(["b"]), None), 6.0),
        (Column("note", text(["x" * 75]), None), 60.0),
        # an object column of strings is text too: "Kestrel Accountancy LLP" is 23
        (Column("name", pd.Series(["Kestrel Accountancy LLP", np.nan], dtype=object), None), 25.0),
        # whole numbers with a thousands separator: "1,234" and a minus sign, + 2
        (Column("n", pd.Series([5, -1234]), "int"), 8.0),
        # dates: 10 characters + 2
        (Column("start", pd.Series(pd.to_datetime(["2026-01-05", None])), "date"), 12.0),
    ],
)
def test_a_column_is_as_wide_as_its_header_and_longest_value(
    column: Column, expected: float
) -> None:
    assert width(column) == expected


def test_a_column_of_repeated_ids_is_as_wide_as_its_longest_id() -> None:
    """30,000 rows of three ids are as wide as the longest (7 characters + 2), and a
    longer text in one more row counts (11 + 2)."""
    ids = np.array(["C-001", "C-00002", "C-3"], dtype=object)
    many = ids[np.arange(30_000) % 3]
    assert width(Column("id", pd.Series(many, dtype="str"), None)) == 9.0
    with_other = np.append(many, "C-000000004")
    assert width(Column("id", pd.Series(with_other, dtype="str"), None)) == 13.0
