"""Cell references: one conversion of column letters, for readers and writers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from licreport.ledger import model
from licreport.outputs.xlsx.utility import (
    BEYOND_LAST_COLUMN,
    LAST_LETTERS,
    absolute_ref,
    cell_column,
    col_index,
    column_letter,
    column_number,
    make_ref,
    parse_ref,
    quote_sheetname,
    sheet_ref,
)


@pytest.mark.parametrize(
    ("index", "letters"), [(0, "A"), (25, "Z"), (26, "AA"), (27, "AB"), (701, "ZZ"), (16383, "XFD")]
)
def test_column_letters_both_ways(index: int, letters: str) -> None:
    assert column_letter(index) == letters
    assert col_index(letters) == index
    assert col_index(letters.lower()) == index
    assert column_number(letters) == index + 1


def test_the_readers_use_the_same_conversion() -> None:
    assert model.column_letter is column_letter
    assert model.cell_column is cell_column


@pytest.mark.parametrize(
    ("cell", "number"), [("AB7", 28), ("a1", 1), (None, 0), ("", 0), ("17", 0), ("ABCD1", 1 << 20)]
)
def test_cell_column(cell: str | None, number: int) -> None:
    assert cell_column(cell) == number


def test_a_hostile_column_is_beyond_the_last() -> None:
    assert column_number("AAAAAAA") == BEYOND_LAST_COLUMN > 16384


def test_ranges() -> None:
    assert parse_ref("A3:M100") == (0, 3, 12, 100)
    assert parse_ref("$B$2") == (1, 2, 1, 2)
    assert parse_ref("Sheet1!A1") is None
    assert make_ref(0, 3, 12, 100) == "A3:M100"
    assert absolute_ref("Bob's", "A1:F3") == "'Bob''s'!$A$1:$F$3"
    assert sheet_ref("Status", 3, 1) == "'Status'!$D$1"
    assert sheet_ref("Status", 3, 2, 3, 9) == "'Status'!$D$2:$D$9"


def test_the_conversions_are_openpyxls_for_every_column() -> None:
    """By hand (openpyxl takes 0.1 s to import), the same as `openpyxl.utils.cell`."""
    from openpyxl.utils import cell as openpyxl_cell

    for number in range(1, LAST_LETTERS + 1):
        letters = openpyxl_cell.get_column_letter(number)
        assert column_letter(number - 1) == letters
        assert column_number(letters) == number == column_number(letters.lower())
    for bad in (-1, LAST_LETTERS):
        with pytest.raises(ValueError):
            column_letter(bad)
    for bad in ("", "A1", "É", "$A", " A"):
        with pytest.raises(ValueError):
            openpyxl_cell.column_index_from_string(bad)
        with pytest.raises(ValueError):
            column_number(bad)
    for name in ("Status", "Buying list", "It's", "''", "Ünïcode"):
        assert quote_sheetname(name) == openpyxl_cell.quote_sheetname(name)


def test_the_command_line_starts_without_openpyxl() -> None:
    code = "import sys, licreport.cli; print('openpyxl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
