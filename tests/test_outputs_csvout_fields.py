"""CSV outputs: a run's new rows made text a column at a time, as `csvout.field` makes
each value."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from unittest.mock import patch

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licreport.ledger.model import CsvFormat
from licreport.outputs import csvout


@pytest.mark.parametrize(
    "form",
    [CsvFormat(), CsvFormat(";", ",", dates="dmy", date_sep="."), CsvFormat(dates="mdy")],
)
def test_column_fields_are_field_value_by_value(form: CsvFormat) -> None:
    """The column-at-a-time text of new rows is `field`'s, value by value, for every dtype."""
    frame = pd.DataFrame(
        {
            "text": pd.Series(["a", None, "=1+1", "-x", "b,c"], dtype="str"),
            "ints": pd.Series([1, 2, -3, 0, 10**12], dtype="int64"),
            "masked": pd.Series([1, None, 3, None, 5], dtype="Int64"),
            "days": pd.to_datetime(["2026-12-01", None, "2027-01-31", "1999-02-03", None]),
            "times": pd.to_datetime(["2026-12-01 10:30", None, "2027-01-31 00:00", None, None]),
            "objects": pd.Series([Decimal("1.50"), None, True, 2.5, "t"], dtype=object),
        }
    )
    for column in frame.columns:
        want = [csvout.field(v, form) for v in frame[column].tolist()]
        assert csvout._fields(frame[column], form) == want, column


FIELD = st.text(alphabet=st.sampled_from(list('ab ,;\t|"\r\n=é')), max_size=4)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.lists(FIELD, min_size=3, max_size=3), max_size=6),
    width=st.integers(1, 3),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    newline=st.sampled_from(["\r\n", "\n"]),
    chunk=st.integers(1, 4),
)
def test_column_lines_are_the_csv_modules(
    rows: list[list[str]], width: int, delimiter: str, newline: str, chunk: int
) -> None:
    """Joined directly or by `csv.writer`, the lines are the csv module's to the byte: a
    field with a delimiter, quote or line break is quoted, so is a lone empty field."""
    rows = [r[:width] for r in rows]
    dialect = csvout.Dialect(delimiter=delimiter, newline=newline)
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator=newline).writerows(rows)
    columns = [[r[i] for r in rows] for i in range(width)] if rows else []
    with patch.object(csvout, "CHUNK_ROWS", chunk):
        assert "".join(csvout.column_lines(columns, dialect)) == buf.getvalue()


def test_column_lines_join_fields_without_the_csv_module() -> None:
    """Rows of two fields or more are joined without the csv module, a field that needs
    quoting quoted as csv does; a row of one field goes to the csv module."""
    dialect = csvout.Dialect(delimiter=";", newline="\n")
    plain = [["a", "b", ""], ["1", "2", "3"]]
    quoted = [["a", 'b;"c"'], ["1", "2\n"]]
    with patch.object(csvout, "_lines", side_effect=AssertionError("csv module")):
        assert "".join(csvout.column_lines(plain, dialect)) == "a;1\nb;2\n;3\n"
        assert "".join(csvout.column_lines(quoted, dialect)) == 'a;1\n"b;""c""";"2\n"\n'
    assert "".join(csvout.column_lines([["", "x"]], dialect)) == '""\nx\n'
