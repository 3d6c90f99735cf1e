"""Work done by a forked child on the second core (`forked.in_two`): the updated ledger
written while the report is made (`api._beside`), half of the partners' outlook
(`api.status_model`).  The same files, output and warnings as one process, and no trace
when either side fails."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from licreport import api
from licreport.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "ledger.xlsx"
SAMPLE_CSV = ROOT / "sample_data" / "ledger"


def reconcile(ledger: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main, ["reconcile", str(ledger), "--month", "2026-12", "--out", str(out), *extra]
    )
    replaced = (result.stdout.replace(str(out), "OUT"), result.stderr.replace(str(out), "OUT"))
    return result.exit_code, *replaced


def files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def csv_ledger_without_run_column(tmp_path: Path) -> Path:
    """The CSV sample whose exchanges.csv has no `run` column: `--exchange` then warns."""
    ledger = tmp_path / "ledger"
    shutil.copytree(SAMPLE_CSV, ledger)
    lines = (ledger / "exchanges.csv").read_text(encoding="utf-8").splitlines()
    trimmed = [line.rsplit(",", 1)[0] for line in lines]
    (ledger / "exchanges.csv").write_text("\n".join(trimmed) + "\n", encoding="utf-8")
    return ledger


def writers_seen(monkeypatch: pytest.MonkeyPatch, log: Path, fail_in_child: bool = False) -> None:
    """Record the pid of every process that writes a workbook (in `log`); with
    `fail_in_child`, a forked writer writes part of its workbook, then fails."""
    parent = os.getpid()
    write = api.write_workbook

    def recording(ledger: Any, path: Path, **kwargs: Any) -> None:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")
        if fail_in_child and os.getpid() != parent:
            path.write_bytes(b"PK half a workbook")
            raise OSError("disk full")
        write(ledger, path, **kwargs)

    monkeypatch.setattr(api, "write_workbook", recording)


def logging_pids(function: Any, log: Path) -> Any:
    """`function`, appending the pid of the process that calls it to `log` each time."""

    def logged(*args: Any, **kwargs: Any) -> Any:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")
        return function(*args, **kwargs)

    return logged


def stopped_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, least: str) -> str:
    """`reconcile` the sample with the fork `least` (an `api` threshold) off, then on: an
    R8 failure both times, with the same output and nothing written; its stderr."""
    seen = {}
    for label, rows in (("one", 10**9), ("two", 0)):
        monkeypatch.setattr(api, least, rows)
        out = tmp_path / label
        code, stdout, stderr = reconcile(SAMPLE, out)
        assert code == 1
        assert "conservation check failed (rule R8 in docs/rules.md)" in stderr
        assert not out.exists() or list(out.rglob("*")) == []
        seen[label] = (stdout, stderr)
    assert seen["one"] == seen["two"]
    return seen["two"][1]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_forked_writer_gives_the_same_files_output_and_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    ledger = SAMPLE if kind == "xlsx" else csv_ledger_without_run_column(tmp_path)
    seen = {}
    for label, least in (("one", 10**9), ("two", 0)):
        monkeypatch.setattr(api, "WRITE_PROCESS_MIN", least)
        log = tmp_path / f"{label}.pids"
        writers_seen(monkeypatch, log)
        out = tmp_path / label
        code, stdout, stderr = reconcile(ledger, out, "--exchange")
        assert code == 0, stderr
        pids = log.read_text().split()
        seen[label] = (files(out), stdout, stderr)
        monkeypatch.undo()
        if label == "one":
            assert pids == [str(os.getpid())]
        else:
            assert len(pids) == 1 and pids != [str(os.getpid())]  # written by the child
    assert seen["one"] == seen["two"]
    if kind == "csv":  # told once, by the parent, from the child's list
        assert seen["two"][2].count("exchanges.csv has no run column") == 1


def test_a_forked_writer_that_fails_is_written_again_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "WRITE_PROCESS_MIN", 10**9)
    code, stdout, _ = reconcile(SAMPLE, tmp_path / "one")
    assert code == 0
    monkeypatch.setattr(api, "WRITE_PROCESS_MIN", 0)
    log = tmp_path / "pids"
    writers_seen(monkeypatch, log, fail_in_child=True)
    code2, stdout2, stderr2 = reconcile(SAMPLE, tmp_path / "two")
    assert code2 == 0, stderr2
    pids = log.read_text().split()
    assert len(pids) == 2 and pids[1] == str(os.getpid()) != pids[0]
    assert stdout2 == stdout and "disk full" not in stderr2
    assert files(tmp_path / "one") == files(tmp_path / "two")


def test_a_report_that_fails_stops_the_writer_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "WRITE_PROCESS_MIN", 0)

    def failing(**_: object) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(api, "render_report", failing)
    out = tmp_path / "out"
    code, _, stderr = reconcile(SAMPLE, out)
    assert code != 0 and "No space left on device" in stderr
    assert not out.exists() or list(out.rglob("*")) == []


def test_a_forked_writer_decides_alone_that_the_workbook_is_too_big(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The computed sheets are made by the writer (in the child): it alone knows that a
    sheet is too big for a worksheet (SPEC §12), so the workbook is an optional output.
    Forked or not: no workbook, the same warning once, and no "wrote" line for it."""
    from licreport.outputs import csvout

    monkeypatch.setattr(csvout, "WORKSHEET_ROWS", 20)  # the sample's Clients has 27 rows
    seen = {}
    for label, least in (("one", 10**9), ("two", 0)):
        monkeypatch.setattr(api, "WRITE_PROCESS_MIN", least)
        out = tmp_path / label
        code, stdout, stderr = reconcile(SAMPLE_CSV, out)
        assert code == 0, stderr
        assert sorted(p.name for p in out.iterdir()) == ["ledger-2026-12", "report-2026-12.html"]
        seen[label] = (files(out), stdout, stderr)
    assert seen["one"] == seen["two"]
    stdout, stderr = seen["two"][1:]
    assert stderr.count("ledger-2026-12.xlsx was not written: ") == 1
    assert "wrote OUT/ledger-2026-12\n" in stdout and "wrote OUT/ledger-2026-12.xlsx" not in stdout


def test_the_outlook_projected_in_two_processes_gives_the_same_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_benchmarks_generate import gen

    ledger = gen.write_csv(gen.generate(0.02, 7), tmp_path / "ledger")
    parent = os.getpid()
    pids = tmp_path / "pids"
    recording = logging_pids(api.projection, pids)

    seen = {}
    for label, least in (("one", 10**9), ("two", 0)):
        monkeypatch.setattr(api, "OUTLOOK_PROCESS_MIN", least)
        monkeypatch.setattr(api, "projection", recording)
        pids.unlink(missing_ok=True)
        out = tmp_path / label
        code, stdout, stderr = reconcile(ledger, out, "--json")
        assert code == 0, stderr
        seen[label] = (files(out), stdout, stderr)
        by = pids.read_text().split()
        # two halves, one here and one in a child; below the threshold one projection of
        # every partner, here
        forked = [p for p in by if p != str(parent)]
        assert (len(by), len(forked)) == ((2, 1) if label == "two" else (1, 0))
    assert seen["one"] == seen["two"]
    assert '"at_risk"' in seen["two"][1]


@pytest.mark.parametrize("broken", [False, True])
def test_the_checks_made_in_a_second_process_give_the_same_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: bool
) -> None:
    """The sheets' checks made by a forked child while the run makes the contracts and
    movements, then their replay order while the run applies the events and checks them
    (`replay_ledger`); the movements with the run's rows ordered again by one while the
    run renews the contracts and checks them (`apply_rows`); the month planned here
    (`months.plan_renewals`): the same files and output, and on a ledger whose pool goes
    negative the same errors."""
    from licreport.rules import book as book_module
    from licreport.rules import months, replay
    from tests.test_benchmarks_generate import gen

    ledger = gen.write_csv(gen.generate(0.02, 7), tmp_path / "ledger")
    if broken:  # the first Clients row takes ten thousand licences more than any pool holds
        clients = (ledger / "clients.csv").read_text(encoding="utf-8").splitlines()
        header = clients[0].split(",")
        row = clients[1].split(",")
        row[header.index("licences")] = "10000"
        other = clients[2].split(",")  # and the next names a product Products lacks
        other[header.index("product")] = "NOPE"
        (ledger / "clients.csv").write_text(
            "\n".join([clients[0], ",".join(row), ",".join(other), *clients[3:]])
        )
    parent = os.getpid()
    logs = {name: tmp_path / name for name in ("order", "plan", "sheets", "contracts", "run")}
    patched = {
        (replay, "ordering"): "order",
        (months, "plan_renewals"): "plan",
        (book_module, "check_sheets"): "sheets",
        (book_module, "check_contracts"): "contracts",
        (book_module, "check_ledger"): "run",
    }
    logged = {key: logging_pids(getattr(*key), logs[name]) for key, name in patched.items()}

    def children(name: str) -> list[bool]:
        """For each call logged in `name`, whether a forked child made it."""
        log = logs[name]
        return [p != str(parent) for p in log.read_text().split()] if log.exists() else []

    seen = {}
    for label, least in (("one", 10**9), ("two", 0)):
        monkeypatch.setattr(api, "REPLAY_PROCESS_MIN", least)
        for (module, name), function in logged.items():
            monkeypatch.setattr(module, name, function)
        assert book_module.replay is replay
        for log in logs.values():
            log.unlink(missing_ok=True)
        out = tmp_path / label
        code, stdout, stderr = reconcile(ledger, out)
        assert code == (1 if broken else 0), stderr
        seen[label] = (files(out) if out.exists() else {}, stdout, stderr)
        forked = label == "two"
        # the load's replay orders the movements in the child, and so does the run's rows
        # applied to it (without errors), while the run checks them here
        assert children("order") == [forked, forked][: 1 if broken else 2]
        assert children("sheets") == [forked]
        assert children("contracts") == [False]
        if not broken:  # the run's rows checked and the month planned here
            assert children("run") == [False]
            assert children("plan") == [False]
    assert seen["one"] == seen["two"]
    if broken:  # an error of the replay, and one of the sheets' checks (`check_sheets`)
        assert "balances never go negative" in seen["two"][2]
        assert "unknown product (not in Products)" in seen["two"][2]


def test_r8_checked_beside_the_plan_still_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The R8 totals of the ledger as read are checked by a second process while the
    month is planned: a movement the replay counts twice (simulated) stops the run with
    the same error, forked or not, and nothing is written."""
    import pandas as pd

    from licreport.rules import replay

    original = replay.movements

    def doubled(*args: Any, **kwargs: Any) -> pd.DataFrame:
        moves = original(*args, **kwargs)
        bought = moves[(moves["category"] == "bought") & (moves["partner"] == "IBX")]
        return pd.concat([moves, bought.head(1)], ignore_index=True)

    monkeypatch.setattr(replay, "movements", doubled)
    assert "partner IBX" in stopped_alike(tmp_path, monkeypatch, "REPLAY_PROCESS_MIN")


def test_r8_after_the_runs_rows_checked_beside_the_outlook_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The R8 totals after the run's rows (the Checks sheet) are made beside the outlook's
    second half, in its forked child: totals that do not balance (simulated) stop the run
    with the same error, forked or not, and nothing is written; balanced, the child made
    them."""
    import pandas as pd

    from licreport.ledger.schema import MONTH_FIRST

    original = api.conservation
    log = tmp_path / "pids"
    unbalanced = [True]

    def after_the_run(ledger: Any, *args: Any) -> pd.DataFrame:
        table = original(ledger, *args)
        if (ledger["Renewals"][MONTH_FIRST] == pd.Timestamp("2026-12-01")).any():
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(f"{os.getpid()}\n")
            if unbalanced[0]:
                table.loc[table.index[0], "difference"] = 1
        return table

    monkeypatch.setattr(api, "conservation", after_the_run)
    stopped_alike(tmp_path, monkeypatch, "OUTLOOK_PROCESS_MIN")
    dry = CliRunner().invoke(main, ["renew", str(SAMPLE), "--month", "2026-12", "--dry-run"])
    assert dry.exit_code == 1 and "conservation check failed" in dry.stderr  # checked too
    unbalanced[0] = False
    log.unlink()
    code, _, stderr = reconcile(SAMPLE, tmp_path / "balanced")
    assert code == 0, stderr
    pids = log.read_text().split()
    assert len(pids) == 1 and pids[0] != str(os.getpid())  # once, by the child


def test_a_csv_folder_written_in_two_shares_never_keeps_last_months_computed_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CSV ledger's folder is written by the forked writer: its own files and the
    computed sheets.  Run on last month's output folder (which holds last month's
    computed files), the new folder is the one a folder without them gives, forked or
    not."""
    from licreport.outputs import csvout

    code, _, stderr = reconcile(SAMPLE_CSV, tmp_path / "dec")
    assert code == 0, stderr
    december = tmp_path / "dec" / "ledger-2026-12"
    plain = tmp_path / "plain" / "ledger-2026-12"
    shutil.copytree(december, plain)
    computed = [csvout.computed_file_name(n) for n in api.sheets.COMPUTED]
    for name in computed:
        assert (december / name).is_file()
        (plain / name).unlink()
    seen = {}
    for label, ledger, least in (
        ("one", december, 10**9),
        ("two", december, 0),
        ("plain", plain, 10**9),
    ):
        monkeypatch.setattr(api, "WRITE_PROCESS_MIN", least)
        out = tmp_path / f"jan-{label}"
        result = CliRunner().invoke(
            main, ["reconcile", str(ledger), "--month", "2027-01", "--out", str(out)]
        )
        assert result.exit_code == 0, result.stderr
        (folder,) = [p for p in out.iterdir() if p.is_dir()]
        seen[label] = files(folder)
    assert seen["one"] == seen["two"] == seen["plain"]
    assert seen["one"]["checks.csv"] != (december / "checks.csv").read_bytes()


def test_a_run_forgets_the_sort_ranks_it_learnt(tmp_path: Path) -> None:
    """The client ids' sort ranks a run learns (`keys.sort_key`) keep their objects alive:
    a load drops those of the ledger read before, and a monthly run drops its own as it
    ends, so a process that goes on (a service, a test run) does not hold them."""
    import pandas as pd

    from licreport.rules import keys
    from tests.test_benchmarks_generate import gen

    ledger = gen.write_csv(gen.generate(0.12, 7), tmp_path / "ledger")
    keys.sort_key(pd.Series([f"X{i:05d}" for i in range(20_000)], name="stale", dtype=object))
    assert "stale" in keys._RANKS
    api.load(ledger)
    assert "stale" not in keys._RANKS and "client" in keys._RANKS  # learnt as it loaded
    code, _, err = reconcile(ledger, tmp_path / "out")
    assert code == 0, err
    assert not keys._RANKS


def test_no_garbage_collection_while_a_ledger_is_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`api.load` reads and replays with the garbage collector paused (what it makes lives
    on), and gives it back as it found it, after an error too."""
    import gc

    seen: list[bool] = []
    real = api.load_ledger

    def spying(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "load_ledger", spying)
    assert gc.isenabled()
    _, errors = api.load(SAMPLE)
    assert seen == [False] and gc.isenabled() and not errors
    with pytest.raises(Exception, match="no such file"):
        api.load(tmp_path / "missing.xlsx")
    assert gc.isenabled()
    gc.disable()
    try:
        api.load(SAMPLE)
        assert not gc.isenabled()  # paused by its caller: left paused
    finally:
        gc.enable()
    assert seen == [False, False, False]
