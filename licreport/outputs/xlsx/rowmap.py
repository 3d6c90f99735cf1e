"""Where rows land when ledger rows are deleted (``--redo``)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from licreport.outputs.xlsx.utility import column_letter, make_ref, parse_ref


class RowMap:
    """Where rows land when some are deleted: the rows below move up, as Excel does."""

    def __init__(self, removed: Iterable[int] = ()) -> None:
        self.removed = sorted({int(r) for r in removed})
        self.removed_set = frozenset(self.removed)

    def __bool__(self) -> bool:
        return bool(self.removed)

    def shift(self, row: int) -> int:
        """How far row `row` moves up (the removed rows above it)."""
        return bisect.bisect_left(self.removed, row)

    def span(self, r1: int, r2: int) -> tuple[int, int] | None:
        """Rows `r1`..`r2` after the deletion; None when all of them go."""
        first = r1 - bisect.bisect_left(self.removed, r1)
        last = r2 - bisect.bisect_right(self.removed, r2)
        return (first, last) if last >= first else None

    def touches(self, r1: int, r2: int) -> bool:
        """Is one of rows `r1`..`r2` removed?"""
        return bisect.bisect_right(self.removed, r2) > bisect.bisect_left(self.removed, r1)

    def ref(self, ref: str) -> str | None:
        """A range after the deletion (None: all its rows go; unparsed refs are kept)."""
        parsed = parse_ref(ref)
        if parsed is None or not self.removed:
            return ref
        c1, r1, c2, r2 = parsed
        rows = self.span(r1, r2)
        if rows is None:
            return None
        if ":" not in ref:
            return f"{column_letter(c1)}{rows[0]}"
        return make_ref(c1, rows[0], c2, rows[1])
