"""CSV outputs: a run's new rows made text a column at a time, as `csvout.field` makes
each value."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

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
