"""The status document holds only what the report reads unless the JSON is wanted
(`Outputs.document`): the reports are the same either way."""

from __future__ import annotations

import datetime
from pathlib import Path

import pandas as pd
import pytest

from licreport import api
from licreport.outputs import jsonout
from licreport.outputs.report import REPORT_PARTS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "ledger.xlsx"


def html_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.html"))}


@pytest.mark.parametrize("exchange", [False, True])
def test_reports_do_not_need_the_whole_document(tmp_path: Path, exchange: bool) -> None:
    run = api.RunOptions("2026-12", exchange=exchange, split=True)
    whole = api.reconcile(SAMPLE, run, api.Outputs(tmp_path / "whole"))
    part = api.reconcile(SAMPLE, run, api.Outputs(tmp_path / "part", document=False))
    reports = html_files(tmp_path / "whole")
    assert len(reports) == 1 + len(whole.document["status"]["partners"])  # main + one each
    assert html_files(tmp_path / "part") == reports
    full = whole.document["status"]["partners"]
    small = part.document["status"]["partners"]
    assert [p["partner"] for p in small] == [p["partner"] for p in full]
    for f, s in zip(full, small, strict=True):
        assert list(s) == ["partner", *(k for k in jsonout.STATUS_PARTS if k in REPORT_PARTS)]
        assert s == {k: f[k] for k in s}
    # what the report leaves out is there in the whole document: the outlook rows
    assert any(p["outlook"] for p in full)
    assert "outlook" not in small[0]
    # and of the renewal lines the dropped ones, with the number of all
    for f, s in zip(whole.document["partners"], part.document["partners"], strict=True):
        assert s["lines"] == [x for x in f["lines"] if x["dropped"] > 0]
        assert s["line_count"] == len(f["lines"]) and "line_count" not in f
        assert {k: v for k, v in s.items() if k not in ("lines", "line_count")} == {
            k: v for k, v in f.items() if k != "lines"
        }
    assert any(x["dropped"] == 0 for p in whole.document["partners"] for x in p["lines"])
    assert any(p["lines"] for p in part.document["partners"])


def test_the_printed_run_is_the_same_from_either_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from licreport import cli

    run = api.RunOptions("2026-12")
    printed = []
    for label, document in (("whole", True), ("part", False)):
        result = api.reconcile(SAMPLE, run, api.Outputs(tmp_path / label, document=document))
        cli._print_run(result, as_json=False)
        printed.append(capsys.readouterr().out.replace(str(tmp_path / label), "OUT"))
    assert printed[0] == printed[1]
    assert "renewal lines" in printed[0] and "dropped" in printed[0]


@pytest.mark.parametrize("as_json", [False, True])
def test_the_printed_run_is_prepared_while_the_ledger_is_written(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    as_json: bool,
) -> None:
    """`Outputs.prepare` (the command line's text of the document) is made by the run,
    once, before the updated ledger is written (here: the writer is made to wait for
    it), and the command line prints the same as when it makes the text itself."""
    from licreport import cli

    made: list[str] = []
    writing = api._beside

    def beside(write: api.LedgerWriter, warn, then, *, fork: bool):  # type: ignore[no-untyped-def]
        got = then()
        assert made == ["prepared"]  # before the ledger is written
        return writing(write, warn, lambda: got, fork=fork)

    def prepare(doc: dict) -> str:
        made.append("prepared")
        return cli._run_text(doc, as_json)

    monkeypatch.setattr(api, "_beside", beside)
    run = api.RunOptions("2026-12")
    result = api.reconcile(
        SAMPLE, run, api.Outputs(tmp_path / "a", document=as_json, prepare=prepare)
    )
    assert made == ["prepared"] and result.prepared == cli._run_text(result.document, as_json)
    cli._print_run(result, as_json=as_json)
    printed = capsys.readouterr().out
    result.prepared = None  # the command line makes the text itself
    cli._print_run(result, as_json=as_json)
    assert capsys.readouterr().out == printed
    assert ('"partners"' if as_json else "renewal lines") in printed


def test_report_command_likewise(tmp_path: Path) -> None:
    day = datetime.date(2026, 12, 1)
    whole, _ = api.report(SAMPLE, day, api.Outputs(tmp_path / "whole"))
    api.report(SAMPLE, day, api.Outputs(tmp_path / "part", document=False))
    assert html_files(tmp_path / "part") == html_files(tmp_path / "whole")
    assert set(whole["partners"][0]) == {"partner", *jsonout.STATUS_PARTS}


def test_unknown_part_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown status parts"):
        jsonout.status_json(None, [], ["outlook", "nonsense"])  # type: ignore[arg-type]


def test_a_date_column_is_iso_text_with_blanks_as_null() -> None:
    """`jsonout.plain_column` of dates (each distinct day formatted once): ISO text row for
    row, a blank as None (JSON null), not ""."""
    dates = pd.Series(pd.to_datetime(["2026-12-31", None, "2027-01-01", "2026-12-31"]))
    assert jsonout.plain_column(dates) == ["2026-12-31", None, "2027-01-01", "2026-12-31"]
    assert jsonout.plain_column(dates.iloc[:0]) == []
