"""SPEC §9 "One report per partner": `--split` on report and reconcile, and the history
section of each partner's report."""

from __future__ import annotations

import html as htmllib
import json
import os
import re
import shutil
import time
from collections import defaultdict
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from licreport import api, forked
from licreport.cli import main
from licreport.outputs import report

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "ledger.xlsx"
SAMPLE_CSV = ROOT / "sample_data" / "ledger"


def run(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def ledger_people(path: Path) -> dict[str, set[str]]:
    """Per partner, every id and name the ledger holds for it: its id and name, its
    clients' ids and names (read from the ledger, not from licreport's outputs)."""
    loaded, _ = api.load(path)
    people: dict[str, set[str]] = defaultdict(set)
    for r in loaded.ledger["Partners"].to_dict("records"):
        people[r["partner"]] |= {r["partner"], r["name"]}
    for r in loaded.ledger["Clients"].to_dict("records"):
        people[r["partner"]] |= {r["client"], r["client_name"]}
    return {p: {str(v) for v in found if isinstance(v, str) and v} for p, found in people.items()}


def mentions(text: str, needle: str) -> bool:
    """`needle` in the page as a whole word (ids like ATL inside other words do not count)."""
    return re.search(rf"(?<![\w-]){re.escape(needle)}(?![\w-])", text) is not None


def page_text(path: Path) -> str:
    """The file's markup and text with entities decoded: names appear as written."""
    return htmllib.unescape(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def december(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("split")
    code, stdout, err = run("reconcile", SAMPLE, "--month", "2026-12", "--exchange", "--split",
                            "--out", out, "--json")  # fmt: skip
    assert code == 0, err
    return out, json.loads(stdout)


def test_split_writes_one_report_per_partner_and_lists_them(december: tuple[Path, dict]) -> None:
    out, doc = december
    expected = {
        p: out / "partners" / p / "report-2026-12.html" for p in ("ATL", "CBT", "IBX", "NRD")
    }
    assert doc["reports"] == {p: str(f) for p, f in expected.items()}
    assert all(f.is_file() for f in expected.values())
    assert (out / "report-2026-12.html").is_file() and (out / "ledger-2026-12.xlsx").is_file()
    assert sorted(p.name for p in (out / "partners").iterdir()) == ["ATL", "CBT", "IBX", "NRD"]
    # nothing but the reports: no temp files left behind
    assert sorted(p.name for p in (out / "partners" / "ATL").iterdir()) == ["report-2026-12.html"]


def test_each_partner_report_holds_that_partner_only(december: tuple[Path, dict]) -> None:
    out, _ = december
    people = ledger_people(SAMPLE)
    assert set(people) == {"ATL", "CBT", "IBX", "NRD"}
    main_text = page_text(out / "report-2026-12.html")
    assert all(mentions(main_text, p) for p in people)  # the check can find them
    for partner, own in people.items():
        text = page_text(out / "partners" / partner / "report-2026-12.html")
        assert mentions(text, partner)
        others = set().union(*(v for p, v in people.items() if p != partner))
        found = sorted(x for x in others if mentions(text, x))
        assert not found, (partner, found)
        assert sum(mentions(text, x) for x in own) >= 2  # its id and name at least
        assert "<script" not in text.lower().replace("&lt;script", "")  # escaped, not live


def test_partner_report_numbers_are_the_partners_own(december: tuple[Path, dict]) -> None:
    out, doc = december
    status = {p["partner"]: p for p in doc["status"]["partners"]}
    lines = {p["partner"]: p["lines"] for p in doc["partners"]}
    for partner in ("ATL", "IBX"):
        text = " ".join(page_text(out / "partners" / partner / "report-2026-12.html").split())
        kpi = dict(re.findall(r'data-kpi="(\w+)">([^<]*)<', text))
        assert kpi["partners"] == "1"
        assert "All partners together" not in text and "This partner's own figures." in text
        pool = sum(x["available"] for x in status[partner]["pool"])
        assert kpi["available"] == f"{pool:,}"
        dropped = sum(x["dropped"] for x in lines[partner])
        assert kpi["dropped"] == f"{dropped:,}"
        recoverable = sum(x["recoverable"] for x in status[partner]["recoverable"])
        assert kpi["recoverable"] == f"{recoverable:,}"
    # the hand-read figures of the sample: ATL is WatchGuard (points), IBX Panda (none)
    atl = page_text(out / "partners" / "ATL" / "report-2026-12.html")
    ibx = page_text(out / "partners" / "IBX" / "report-2026-12.html")
    assert 'data-kpi="points">—' not in atl
    assert 'data-kpi="points">—' in ibx


def history_rows(text: str) -> list[list[str]]:
    """The rows of the History section's table."""
    start = text.index('<section id="history"')
    section = text[start : text.index("</section>", start)]
    body = section[section.index("<tbody>") : section.index("</tbody>")]
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>.*?</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def renewals_by_month(path: Path) -> dict[tuple[str, str], list[int]]:
    """Σ requested, renewed, dropped per (partner, month), read from the Renewals sheet."""
    ws = openpyxl.load_workbook(path, read_only=True)["Renewals"]
    rows = ws.iter_rows(values_only=True)
    header = [str(h) for h in next(rows)]
    col = {h: header.index(h) for h in ("partner", "month", "requested", "renewed", "dropped")}
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        if r[col["partner"]] is None:
            continue
        month = r[col["month"]]
        key = (str(r[col["partner"]]), month if isinstance(month, str) else f"{month:%Y-%m}")
        for i, name in enumerate(("requested", "renewed", "dropped")):
            sums[key][i] += int(r[col[name]])
    return sums


def test_history_section_of_a_two_month_chain(december: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = december
    jan = tmp_path / "jan"
    code, _, err = run("reconcile", out / "ledger-2026-12.xlsx", "--month", "2027-01",
                       "--split", "--out", jan)  # fmt: skip
    assert code == 0, err
    sums = renewals_by_month(jan / "ledger-2027-01.xlsx")
    months = {"2026-12": "Dec 2026", "2027-01": "Jan 2027"}
    for partner in ("ATL", "CBT", "IBX", "NRD"):
        rows = history_rows(page_text(jan / "partners" / partner / "report-2027-01.html"))
        expected = [
            [label, *(f"{v:,}" for v in sums[partner, month])]
            for month, label in months.items()
            if (partner, month) in sums
        ]
        assert [r[:4] for r in rows] == expected, partner
    everyone = history_rows(page_text(jan / "report-2027-01.html"))
    for month, label in months.items():
        total = [sum(v[i] for (p, m), v in sums.items() if m == month) for i in range(3)]
        assert [label, *(f"{v:,}" for v in total)] in [r[:4] for r in everyone]
    # December as the hand-read sample: ATL's two monthly lines and CBT's
    assert sums["ATL", "2026-12"][2] + sums["CBT", "2026-12"][2] > 0


def _renamed(tmp_path: Path, names: dict[str, str]) -> Path:
    """The CSV sample with partner ids replaced (clients' ids follow, C-ATL-001 → C-<id>-001)."""
    folder = tmp_path / "ledger"
    shutil.copytree(SAMPLE_CSV, folder)
    for f in folder.glob("*.csv"):
        text = f.read_text(encoding="utf-8")
        for old, new in names.items():
            text = re.sub(rf"(?<![\w]){old}(?![\w])", new, text)
        f.write_text(text, encoding="utf-8")
    return folder


def test_split_file_names_are_safe_names(tmp_path: Path) -> None:
    ledger = _renamed(tmp_path, {"ATL": "AT/L", "CBT": ".."})
    out = tmp_path / "out"
    code, stdout, err = run("report", ledger, "--as-of", "2026-12-01", "--split", "--out", out,
                            "--json")  # fmt: skip
    assert code == 0, err
    reports = json.loads(stdout)["reports"]
    assert reports["AT/L"] == str(out / "partners" / "AT_L" / "report-2026-12.html")
    assert reports[".."] == str(out / "partners" / "_" / "report-2026-12.html")
    assert sorted(p.name for p in (out / "partners").iterdir()) == ["AT_L", "IBX", "NRD", "_"]
    assert "AT/L" in page_text(out / "partners" / "AT_L" / "report-2026-12.html")


def test_split_name_clash_is_a_usage_error_and_writes_nothing(tmp_path: Path) -> None:
    ledger = _renamed(tmp_path, {"ATL": "a/b", "CBT": "A_B"})
    out = tmp_path / "out"
    code, _, err = run("reconcile", ledger, "--month", "2026-12", "--split", "--out", out)
    assert code == 2
    assert "'A_B' and 'a/b' (both a_b)" in err
    assert not out.exists() or not list(out.rglob("*"))
    # without --split the same ledger runs: the names only matter for the partner files
    assert run("report", ledger, "--as-of", "2026-12-01", "--out", out)[0] == 0


def test_partner_reports_rendered_in_two_processes_are_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every other partner report rendered by a forked process: the same files, bytes and
    JSON as one process renders."""
    outputs = {}
    for label, least in (("one", 10**9), ("two", 1)):
        monkeypatch.setattr(api, "SPLIT_PROCESS_MIN", least)
        out = tmp_path / label
        code, stdout, _ = run(
            "reconcile", SAMPLE, "--month", "2026-12", "--split", "--json", "--out", out
        )
        assert code == 0
        files = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*.html"))}
        outputs[label] = (files, stdout.replace(str(out), "OUT"))
    assert len(outputs["one"][0]) > 2
    assert outputs["one"] == outputs["two"]


def test_a_forked_child_that_hangs_is_stopped_and_its_share_rendered_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parent waits for the child a while (here 0.5 s), then kills it and renders the
    child's partners itself: the same reports as one process writes, and no hang."""
    parent = os.getpid()
    render = api.render_partner_reports

    def hanging_child(**model: object):  # type: ignore[no-untyped-def]
        if os.getpid() != parent:
            time.sleep(3600)
        return render(**model)  # type: ignore[arg-type]

    out_one = tmp_path / "one"
    monkeypatch.setattr(api, "SPLIT_PROCESS_MIN", 10**9)
    assert run("reconcile", SAMPLE, "--month", "2026-12", "--split", "--out", out_one)[0] == 0
    monkeypatch.setattr(api, "SPLIT_PROCESS_MIN", 1)
    monkeypatch.setattr(forked, "SPLIT_WAIT_MIN", 0.5)
    monkeypatch.setattr(api, "render_partner_reports", hanging_child)
    out_two = tmp_path / "two"
    started = time.monotonic()
    assert run("reconcile", SAMPLE, "--month", "2026-12", "--split", "--out", out_two)[0] == 0
    assert time.monotonic() - started < 60
    one = {p.relative_to(out_one): p.read_bytes() for p in sorted(out_one.rglob("*.html"))}
    two = {p.relative_to(out_two): p.read_bytes() for p in sorted(out_two.rglob("*.html"))}
    assert len(one) > 2 and one == two


def test_a_forked_child_that_fails_part_way_has_its_share_rendered_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each process writes the reports it renders to their staged temps; a child that
    fails after writing some (here a spoilt first file) has its whole share rendered and
    written again here: the same files as one process writes."""
    parent = os.getpid()
    render = api.render_partner_reports

    def failing_child(**model: object):  # type: ignore[no-untyped-def]
        for partner, html in render(**model):  # type: ignore[arg-type]
            if os.getpid() != parent:
                yield partner, "spoilt"
                raise RuntimeError("the child fails after its first report")
            yield partner, html

    out_one = tmp_path / "one"
    monkeypatch.setattr(api, "SPLIT_PROCESS_MIN", 10**9)
    assert run("reconcile", SAMPLE, "--month", "2026-12", "--split", "--out", out_one)[0] == 0
    monkeypatch.setattr(api, "SPLIT_PROCESS_MIN", 1)
    monkeypatch.setattr(api, "render_partner_reports", failing_child)
    out_two = tmp_path / "two"
    assert run("reconcile", SAMPLE, "--month", "2026-12", "--split", "--out", out_two)[0] == 0
    one = {p.relative_to(out_one): p for p in sorted(out_one.rglob("*")) if p.is_file()}
    two = {p.relative_to(out_two): p for p in sorted(out_two.rglob("*")) if p.is_file()}
    assert one.keys() == two.keys()  # nothing left behind: no temp, no spoilt file
    reports = [p for p in one if p.suffix == ".html"]
    assert len(reports) > 2
    assert all(one[p].read_bytes() == two[p].read_bytes() for p in reports)


def test_a_share_of_the_partner_reports_makes_only_its_partners_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`partner_scopes(share=(k, 2))` gives every other partner's scope, the same scope as
    the whole run gives it, and turns only those partners' rows into dicts: each of the
    two processes does half the work, not all of it."""
    captured: dict = {}

    def capture(**model: object):  # type: ignore[no-untyped-def]
        captured.update(model)
        return iter(())

    monkeypatch.setattr(api, "SPLIT_PROCESS_MIN", 10**9)
    monkeypatch.setattr(api, "render_partner_reports", capture)
    run("reconcile", SAMPLE, "--month", "2026-12", "--split", "--out", tmp_path)
    status, renewal, totals = captured["status"], captured["renewal"], captured["totals"]

    whole = list(report.partner_scopes(status, renewal, totals))
    order = report.report_partners(status, totals)
    assert [p for p, _ in whole] == order and len(order) >= 4

    bucketed: list[set[str]] = []
    bucket = report._bucket

    def recorded(frame):  # type: ignore[no-untyped-def]
        bucketed.append(set(report._partner_keys(frame).tolist()))
        return bucket(frame)

    monkeypatch.setattr(report, "_bucket", recorded)
    for k in (0, 1):
        bucketed.clear()
        share = list(report.partner_scopes(status, renewal, totals, share=(k, 2)))
        assert share == whole[k::2]
        mine = set(order[k::2])
        assert set().union(*bucketed) <= mine  # no other partner's rows made into dicts
        assert set().union(*bucketed) & mine  # and its own rows are there
