"""Cell references: column letters, ranges, sheet-qualified references."""

from __future__ import annotations

import re

from licreport.ledger.model import column_letter

_REF_RE = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?$")


def col_index(letters: str) -> int:
    """Spreadsheet letters -> 0-based column index (A -> 0, AB -> 27)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


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
    return f"{column_letter(c1)}{r1}:{column_letter(c2)}{r2}"


def absolute_ref(sheet: str, ref: str) -> str:
    """``'Sheet'!$A$1:$F$3`` for a range of `sheet`."""
    parsed = parse_ref(ref)
    if parsed is None:
        return ref
    c1, r1, c2, r2 = parsed
    quoted = "'" + sheet.replace("'", "''") + "'"
    return f"{quoted}!${column_letter(c1)}${r1}:${column_letter(c2)}${r2}"
