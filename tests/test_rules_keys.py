"""Sort keys for text columns: the order of a stable sort_values, blanks last."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from licreport.rules.keys import labels, sort_rows


@pytest.mark.parametrize(
    "columns",
    [["client"], ["kind", "end", "client"], ["term", "n", "kind"], ["end", "kind"], ["mixed"]],
)
def test_sort_rows_is_a_stable_sort_values(columns: list[str]) -> None:
    rng = np.random.default_rng(5)
    n = 3000
    frame = pd.DataFrame(
        {
            "client": pd.Series([f"C{k:05d}" for k in rng.integers(0, 900, n)], dtype="str"),
            "kind": pd.Series(rng.choice(["x", "y", None, "é", "Z", "aa", "a", "a\x00"], n)),
            "end": pd.to_datetime(rng.integers(0, 50, n), unit="D").where(rng.random(n) > 0.1),
            "n": rng.integers(0, 5, n),
            "term": pd.Series(rng.choice(["1", "2", "monthly"], n), dtype=object),
            "mixed": pd.Series(rng.choice([1, 2, 3], n), dtype=object),
        },
        index=rng.permutation(n),
    )
    want = frame.sort_values(columns, kind="stable")
    pd.testing.assert_frame_equal(sort_rows(frame, columns), want)


def test_labels_is_select_with_one_object_per_label() -> None:
    term = pd.Series(["1", "monthly", None, "trial", "3", "monthly"], dtype="str")
    got = labels([term == "monthly", term == "trial"], ["monthly", "trial"], "annual")
    expected = np.select([term == "monthly", term == "trial"], ["monthly", "trial"], "annual")
    assert got.dtype == "str"
    assert list(got) == expected.tolist()
    # the labels given, not a copy per row: at 12 x SPEC §6 that is 60 MB per column
    assert len({id(v) for v in got.to_numpy(dtype=object)}) == 3
    # the first true condition wins, as in np.select
    both = labels([[True, False], [True, True]], ["first", "second"], "none")
    assert list(both) == ["first", "second"]
