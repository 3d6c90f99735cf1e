"""Staging: a run's outputs land together, never half-written, never over an existing one."""

from __future__ import annotations

from pathlib import Path

import pytest

from licreport.errors import OutputExists
from licreport.outputs.staging import Staging


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_commit_moves_every_temp_onto_its_final(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with Staging(out, force=False) as st:
        book = st.path(out / "ledger-2026-02.xlsx")
        report = st.path(out / "report-2026-02.html")
        folder = st.path(out / "ledger-2026-02")
        assert book.parent == out and book.name.startswith(".ledger-2026-02.xlsx.tmp-")
        assert not (out / "ledger-2026-02.xlsx").exists()
        book.write_bytes(b"xlsx")
        report.write_text("html")
        folder.mkdir()
        (folder / "clients.csv").write_text("a,b\n")
    assert listing(out) == [
        "ledger-2026-02",
        "ledger-2026-02.xlsx",
        "ledger-2026-02/clients.csv",
        "report-2026-02.html",
    ]


def test_relative_paths_are_taken_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = Path("out")
    with Staging(out, force=False) as st:
        st.path(out / "report.html").write_text("x")
    assert listing(tmp_path) == ["out", "out/report.html"]


def test_existing_output_without_force_raises_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("old")
    with pytest.raises(OutputExists) as info, Staging(out, force=False) as st:
        st.path(out / "ledger.xlsx").write_bytes(b"new")
        st.path(out / "report.html")
    assert info.value.exit_code == 2
    assert listing(out) == ["report.html"]
    assert (out / "report.html").read_text() == "old"


def test_exception_inside_leaves_no_temp_and_no_final(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(RuntimeError), Staging(out, force=False) as st:
        st.path(out / "ledger.xlsx").write_bytes(b"half")
        folder = st.path(out / "csv")
        folder.mkdir()
        (folder / "a.csv").write_text("x")
        raise RuntimeError("boom")
    assert not out.exists()  # the folder it made is gone too


def test_exception_keeps_a_folder_that_was_there(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ValueError), Staging(tmp_path, force=True) as st:
        st.path(tmp_path / "keep.txt").write_text("new")
        raise ValueError
    assert listing(tmp_path) == ["keep.txt"]
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_force_overwrites_files_and_folders(tmp_path: Path) -> None:
    (tmp_path / "ledger.xlsx").write_bytes(b"old")
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "stale.csv").write_text("old")
    with Staging(tmp_path, force=True) as st:
        st.path(tmp_path / "ledger.xlsx").write_bytes(b"new")
        folder = st.path(tmp_path / "csv")
        folder.mkdir()
        (folder / "clients.csv").write_text("new")
    assert (tmp_path / "ledger.xlsx").read_bytes() == b"new"
    assert listing(tmp_path) == ["csv", "csv/clients.csv", "ledger.xlsx"]


def test_an_output_that_appears_before_commit_is_not_overwritten(tmp_path: Path) -> None:
    st = Staging(tmp_path, force=False)
    st.path(tmp_path / "a.xlsx").write_bytes(b"ours")
    (tmp_path / "a.xlsx").write_bytes(b"theirs")
    with pytest.raises(OutputExists):
        st.commit()
    st.discard()
    assert listing(tmp_path) == ["a.xlsx"]
    assert (tmp_path / "a.xlsx").read_bytes() == b"theirs"


def test_commit_refuses_an_output_never_written(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="not written"), Staging(tmp_path, force=False) as st:
        st.path(tmp_path / "a.xlsx").write_bytes(b"x")
        st.path(tmp_path / "b.html")
    assert listing(tmp_path) == []


def test_commit_returns_the_finals(tmp_path: Path) -> None:
    st = Staging(tmp_path, force=False)
    st.path(tmp_path / "a.xlsx").write_bytes(b"x")
    assert st.path(tmp_path / "a.xlsx").read_bytes() == b"x"  # same temp when asked again
    assert st.commit() == [tmp_path / "a.xlsx"]


def test_an_optional_final_left_unwritten_is_skipped_and_checked_only_when_written(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "ledger-2026-02.xlsx").write_bytes(b"last month's")
    with Staging(out, force=False) as st:  # there, but not written: no error, left alone
        st.path(out / "ledger-2026-02.xlsx", optional=True)
        folder = st.path(out / "ledger-2026-02")
        folder.mkdir()
        assert st.written([out / "ledger-2026-02.xlsx", out / "ledger-2026-02"]) == [
            out / "ledger-2026-02"
        ]
    assert (out / "ledger-2026-02.xlsx").read_bytes() == b"last month's"
    assert listing(out) == ["ledger-2026-02", "ledger-2026-02.xlsx"]
    with pytest.raises(OutputExists), Staging(out, force=False) as st:  # written: refused
        st.path(out / "ledger-2026-02.xlsx", optional=True).write_bytes(b"new")
    assert (out / "ledger-2026-02.xlsx").read_bytes() == b"last month's"
    assert listing(out) == ["ledger-2026-02", "ledger-2026-02.xlsx"]
