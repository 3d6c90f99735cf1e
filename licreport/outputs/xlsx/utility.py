"""Cell references: column letters, ranges, sheet-qualified references.

The one place column letters are converted (readers and writers alike): the role of
XlsxWriter's ``utility.py`` (``xl_col_to_name``, ``xl_cell_to_rowcol``,
``quote_sheetname``).  By hand, as openpyxl's `openpyxl.utils.cell` does them (tested
against it): importing any part of openpyxl imports all of it, 0.1 s of the start of
every command, and nothing else a run does needs openpyxl.
"""

from __future__ import annotations

import re

_REF_RE = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?$")
_LETTERS_RE = re.compile(r"[A-Za-z]+")


LAST_LETTERS = 18_278  # ZZZ: the most three letters name


def column_letter(index: int) -> str:
    """0-based column index -> spreadsheet letters (0 -> A, 27 -> AB)."""
    n = index + 1
    if not 1 <= n <= LAST_LETTERS:
        raise ValueError(f"Invalid column index {n}")
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


BEYOND_LAST_COLUMN = 1 << 20  # what a 4+ letter column is: past any sheet's 16,384 columns


def column_number(letters: str) -> int:
    """Spreadsheet letters -> 1-based column number (A -> 1, XFD -> 16384).

    Letters from a hostile file can be any length: more than three (past ZZZ,
    which openpyxl refuses) count as `BEYOND_LAST_COLUMN`, so size checks refuse them.
    """
    if len(letters) > 3:
        return BEYOND_LAST_COLUMN
    number = 0
    for ch in letters.upper():
        if not "A" <= ch <= "Z":
            raise ValueError(f"{letters} is not a valid column name")
        number = number * 26 + ord(ch) - 64
    if not number:
        raise ValueError(f"{letters} is not a valid column name")
    return number


def quote_sheetname(name: str) -> str:
    """A sheet name in a reference, always quoted (``'It''s'``), as openpyxl writes it."""
    return "'" + name.replace("'", "''") + "'"


def col_index(letters: str) -> int:
    """Spreadsheet letters -> 0-based column index (A -> 0, AB -> 27)."""
    return column_number(letters) - 1


def cell_column(cell: str | None) -> int:
    """'AB7' -> 28 (its 1-based column); no cell -> 0, so whole-row errors sort first."""
    m = _LETTERS_RE.search(cell or "")
    return column_number(m.group()) if m else 0


def parse_ref(ref: str) -> tuple[int, int, int, int] | None:
    """``A3:M100`` -> (first col, first row, last col, last row), 0-based cols, 1-based rows."""
    m = _REF_RE.match(ref.strip())
    if not m:
        return None
    c1, r1 = col_index(m.group(1)), int(m.group(2))
    if m.group(3):
        return c1, r1, col_index(m.group(3)), int(m.group(4))
    return c1, r1, c1, r1


def make_ref(c1: int, r1: int, c2: int, r2: int) -> str:
    """(0-based cols, 1-based rows) -> ``A3:M100``."""
    return f"{column_letter(c1)}{r1}:{column_letter(c2)}{r2}"


def sheet_ref(sheet: str, c1: int, r1: int, c2: int | None = None, r2: int | None = None) -> str:
    """``'Sheet'!$A$1`` or ``'Sheet'!$A$1:$F$3`` (the sheet name always quoted, as Excel's
    chart references are)."""
    first = f"${column_letter(c1)}${r1}"
    if c2 is None or r2 is None:
        return f"{quote_sheetname(sheet)}!{first}"
    return f"{quote_sheetname(sheet)}!{first}:${column_letter(c2)}${r2}"


def absolute_ref(sheet: str, ref: str) -> str:
    """``'Sheet'!$A$1:$F$3`` for a range of `sheet`."""
    parsed = parse_ref(ref)
    if parsed is None:
        return ref
    return sheet_ref(sheet, *parsed)
