"""R2 shortfall policies: the worked case by hand, and invariants over random pools."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licreport.rules.shortfall import POLICIES, allocate

Row = tuple[object, str, int, "int | None", "str | None"]


def make_requests(rows: Sequence[Row], index: list[object] | None = None) -> pd.DataFrame:
    """(group, client, requested, priority, start) rows as the frame `allocate` takes."""
    return pd.DataFrame(
        {
            "group": [r[0] for r in rows],
            "client": pd.array([r[1] for r in rows], dtype="string"),
            "requested": np.array([r[2] for r in rows], dtype=np.int64),
            "priority": pd.array([r[3] for r in rows], dtype="Int64"),
            "start": pd.to_datetime(pd.Series([r[4] for r in rows], dtype=object)).to_numpy(),
        },
        index=index,
    )


# The worked case: one pool of 12 licences, clients asking 10 (priority 2),
# 5 (priority 1) and 8 (blank priority): 23 requested, 11 short.
WORKED = make_requests(
    [
        ("P1|AD360|monthly", "C-A", 10, 2, "2025-01-01"),
        ("P1|AD360|monthly", "C-B", 5, 1, "2025-01-01"),
        ("P1|AD360|monthly", "C-C", 8, None, "2025-01-01"),
    ]
)
TWELVE = pd.Series({"P1|AD360|monthly": 12})


@pytest.mark.parametrize(
    ("policy", "granted"),
    [
        # Order B(1), A(2), C(blank): B gets 5, A the remaining 7 of 10, C none.
        ("priority", [7, 5, 0]),
        # Order B(5), C(8), A(10): B 5, C 7 of 8 (partial), A none.
        ("smallest-first", [0, 5, 7]),
        # Shares 12/23 of each: A 120/23 = 5 r5, B 60/23 = 2 r14, C 96/23 = 4 r4;
        # floors give 11, the 1 leftover goes to the largest remainder (B, 14).
        ("proportional", [5, 3, 4]),
    ],
)
def test_worked_case(policy: str, granted: list[int]) -> None:
    got = allocate(WORKED, TWELVE, policy)
    assert got.tolist() == granted
    assert got.dtype == np.int64


def test_default_policy_is_priority() -> None:
    assert allocate(WORKED, TWELVE).tolist() == [7, 5, 0]


def test_priority_ties_broken_by_start_then_client_then_row() -> None:
    requests = make_requests(
        [
            ("g", "C-9", 4, 1, "2025-03-01"),  # 3rd: same priority, later start
            ("g", "C-5", 4, 1, "2025-01-01"),  # 2nd: same start as C-1, client after it
            ("g", "C-1", 4, 1, "2025-01-01"),  # 1st
            ("g", "C-0", 4, 1, None),  # 4th: no start sorts after every start
            ("g", "C-0", 4, None, "2024-01-01"),  # last: blank priority
        ]
    )
    # 10 licences: C-1 4, C-5 4, C-9 the remaining 2, C-0 none.
    assert allocate(requests, pd.Series({"g": 10})).tolist() == [2, 4, 4, 0, 0]
    # Identical rows: the earlier row comes first.
    twins = make_requests([("g", "C-1", 4, 1, "2025-01-01")] * 2)
    assert allocate(twins, pd.Series({"g": 5})).tolist() == [4, 1]


def test_smallest_first_ties_as_priority() -> None:
    requests = make_requests(
        [
            ("g", "C-A", 3, 2, "2025-01-01"),
            ("g", "C-B", 3, 1, "2025-01-01"),
            ("g", "C-C", 1, None, "2025-01-01"),
        ]
    )
    # Order C (1), then the 3s by priority: B, A. 5 licences: C 1, B 3, A 1.
    assert allocate(requests, pd.Series({"g": 5}), "smallest-first").tolist() == [1, 3, 1]


def test_proportional_remainder_ties_as_priority() -> None:
    requests = make_requests(
        [
            ("g", "C-A", 1, 2, "2025-01-01"),
            ("g", "C-B", 1, 1, "2025-01-01"),
            ("g", "C-C", 1, None, "2025-01-01"),
        ]
    )
    # 2 licences over 3: each 2/3 -> 0 r2; both leftovers by priority: B, then A.
    assert allocate(requests, pd.Series({"g": 2}), "proportional").tolist() == [1, 1, 0]


def test_proportional_exact_beyond_int64_products() -> None:
    # requested × available = 3e18 × 4e9 would overflow int64: shares stay exact.
    big = 3 * 10**18
    requests = make_requests([("g", "A", big, 1, None), ("g", "B", big, 2, None)])
    available = 4 * 10**9 + 1
    # Each share is (4e9 + 1) / 2 = 2e9 r 0.5: A gets the leftover by priority.
    got = allocate(requests, pd.Series({"g": available}), "proportional")
    assert got.tolist() == [2 * 10**9 + 1, 2 * 10**9]


@pytest.mark.parametrize("policy", POLICIES)
def test_enough_and_zero_available(policy: str) -> None:
    assert allocate(WORKED, pd.Series({"P1|AD360|monthly": 23}), policy).tolist() == [10, 5, 8]
    assert allocate(WORKED, pd.Series({"P1|AD360|monthly": 99}), policy).tolist() == [10, 5, 8]
    assert allocate(WORKED, pd.Series({"P1|AD360|monthly": 0}), policy).tolist() == [0, 0, 0]
    # A group missing from `available` has nothing.
    assert allocate(WORKED, pd.Series({"other": 50}), policy).tolist() == [0, 0, 0]
    assert allocate(WORKED, pd.Series([], dtype="int64"), policy).tolist() == [0, 0, 0]


@pytest.mark.parametrize("policy", POLICIES)
def test_groups_together_equal_each_alone(policy: str) -> None:
    other = make_requests(
        [
            (7, "C-A", 6, None, "2025-02-01"),
            (7, "C-D", 2, 1, "2025-02-01"),
            (7, "C-E", 9, 3, "2024-02-01"),
        ]
    )
    worked = WORKED.copy()
    available = pd.Series([12, 10], index=pd.Index(["P1|AD360|monthly", 7], dtype=object))
    together = pd.concat([other.iloc[:1], worked, other.iloc[1:]], ignore_index=True)
    got = allocate(together, available, policy)
    alone_worked = allocate(worked, available, policy).tolist()
    alone_other = allocate(other, available, policy).tolist()
    assert got.tolist() == [alone_other[0], *alone_worked, *alone_other[1:]]


def test_keeps_the_index_and_handles_empty() -> None:
    requests = WORKED.set_axis(["r7", "r3", "r5"])
    assert allocate(requests, TWELVE).to_dict() == {"r7": 7, "r3": 5, "r5": 0}
    empty = allocate(WORKED.iloc[:0], TWELVE)
    assert empty.empty and empty.dtype == np.int64


def test_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="priority, smallest-first, proportional"):
        allocate(WORKED, TWELVE, "largest-first")
    with pytest.raises(ValueError, match="start"):
        allocate(WORKED.drop(columns="start"), TWELVE)
    with pytest.raises(ValueError):
        allocate(WORKED.assign(requested=[1, -1, 2]), TWELVE)
    with pytest.raises(ValueError):
        allocate(WORKED, pd.Series({"P1|AD360|monthly": -1}))


# Random pools: up to 5 groups, each with distinct clients.
request_rows = st.lists(
    st.tuples(
        st.integers(0, 4),  # group
        st.integers(0, 30),  # client number (made unique per group below)
        st.integers(0, 50),  # requested
        st.one_of(st.none(), st.integers(1, 3)),  # priority
        st.one_of(st.none(), st.dates(date(2000, 1, 1), date(2099, 12, 31)).map(date.isoformat)),
    ),
    max_size=40,
    unique_by=lambda r: (r[0], r[1]),
)
pools = st.lists(st.integers(0, 150), min_size=5, max_size=5)


def frame_of(rows: list[tuple[int, int, int, int | None, str | None]]) -> pd.DataFrame:
    return make_requests([(g, f"C-{c:02d}", n, p, s) for g, c, n, p, s in rows])


@settings(max_examples=60, deadline=None)
@given(request_rows, pools, st.sampled_from(POLICIES), st.data())
def test_invariants(
    rows: list[tuple[int, int, int, int | None, str | None]],
    pool: list[int],
    policy: str,
    data: st.DataObject,
) -> None:
    requests = frame_of(rows)
    available = pd.Series(pool)
    granted = allocate(requests, available, policy)
    frame = requests.assign(granted=granted)
    assert ((granted >= 0) & (granted <= requests["requested"])).all()
    for group, part in frame.groupby("group"):
        assert isinstance(group, int)
        total = int(part["requested"].sum())
        share = min(pool[group], total)
        assert part["granted"].sum() == share
        if policy == "proportional":  # within one licence of the exact share
            assert (abs(part["granted"] * total - part["requested"] * share) < max(total, 1)).all()
        else:
            partial = (part["granted"] > 0) & (part["granted"] < part["requested"])
            assert partial.sum() <= 1
    # Shuffled rows: every client of every group gets the same grant.
    shuffled = requests.iloc[data.draw(st.permutations(range(len(rows))))]
    again = allocate(shuffled, available, policy)
    assert again.sort_index().tolist() == granted.tolist()


def test_group_keys_of_any_kind() -> None:
    rows: list[Row] = [("a", "C-X", 3, None, None), ("a", "C-Y", 3, None, None)]
    rows.append(("b", "C-Z", 3, None, None))
    as_string = make_requests(rows).astype({"group": "string"})
    assert allocate(as_string, pd.Series({"a": 4, "b": 1})).tolist() == [3, 1, 1]
    keys = {"a": ("P1", "X"), "b": ("P2", "X")}
    as_tuples = make_requests([(keys[str(g)], c, n, p, s) for g, c, n, p, s in rows])
    available = pd.Series([4, 1], index=pd.MultiIndex.from_tuples([("P1", "X"), ("P2", "X")]))
    assert allocate(as_tuples, available).tolist() == [3, 1, 1]


@pytest.mark.parametrize("policy", ["priority", "smallest-first", "proportional"])
def test_requests_already_in_client_order_allocate_as_sorted(
    policy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requests in client order within each group (as renewal requests come) skip the
    client sort; the allocation is the one the sort gives, on random short groups."""
    import numpy as np

    from licreport.rules import shortfall

    rng = np.random.default_rng(3)
    for _ in range(30):
        n = int(rng.integers(1, 60))
        frame = pd.DataFrame(
            {
                "group": rng.choice(["A", "B", "C"], n),
                "client": [f"C{int(k):03d}" for k in rng.integers(0, 25, n)],
                "requested": rng.integers(0, 9, n),
                "priority": pd.array(
                    [None if k < 0 else int(k) for k in rng.integers(-1, 3, n)], dtype="Int64"
                ),
                "start": pd.to_datetime("2026-01-01")
                + pd.to_timedelta(rng.integers(0, 3, n), unit="D"),
            }
        )
        frame = frame.sort_values("client", kind="stable").reset_index(drop=True)
        available = pd.Series({"A": int(rng.integers(0, 30)), "B": 3, "C": 0})
        fast = allocate(frame, available, policy)
        monkeypatch.setattr(shortfall, "_clients_in_order", lambda client, codes: False)
        slow = allocate(frame, available, policy)
        monkeypatch.undo()
        pd.testing.assert_series_equal(fast, slow)
