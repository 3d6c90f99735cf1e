"""The benchmark's path at CI size: generator (scale 0.02) -> `licreport reconcile` -> outputs.

Correctness, not timing (`benchmarks/run.py` times the same path at 0.1-1.0):
the generated ledger validates clean, reconcile writes the workbook and the
report, the R8 Checks sheet balances to zero, a second run on the output finds
the month already applied, and the benchmark script's own timing child runs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
from click.testing import CliRunner

from licreport.cli import main

ROOT = Path(__file__).resolve().parents[1]
MONTH = "2026-12"


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"benchmarks_{name}", ROOT / "benchmarks" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def cli(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gen = _module("generate")
    folder = tmp_path_factory.mktemp("bench")
    return gen.write_xlsx(gen.generate(0.02, 7), folder / "ledger.xlsx")


@pytest.fixture(scope="module")
def reconciled(ledger: Path) -> tuple[Path, dict]:
    out = ledger.parent / "out"
    code, stdout = cli("reconcile", ledger, "--month", MONTH, "--out", out, "--json")
    assert code == 0, stdout
    return out, json.loads(stdout)


def test_generated_ledger_has_no_data_errors(ledger: Path) -> None:
    code, stdout = cli("validate", ledger, "--json")
    assert code == 0, stdout
    assert json.loads(stdout) == {"errors": []}


def test_reconcile_writes_workbook_and_report(reconciled: tuple[Path, dict]) -> None:
    out, doc = reconciled
    assert (out / f"ledger-{MONTH}.xlsx").is_file()
    report = out / f"report-{MONTH}.html"
    assert report.is_file() and report.stat().st_size < 2_000_000
    assert doc["month"] == MONTH and doc["already_applied"] is False
    lines = [line for p in doc["partners"] for line in p["lines"]]
    assert lines, "the generated ledger has renewals due in December 2026"
    assert any(line["dropped"] for line in lines), "and some shortfalls"


def test_checks_sheet_balances(reconciled: tuple[Path, dict]) -> None:
    out, _ = reconciled
    checks = pd.read_excel(out / f"ledger-{MONTH}.xlsx", sheet_name="Checks", engine="calamine")
    assert len(checks) > 0
    assert (checks["difference"] == 0).all()
    assert (checks["ok"] == "yes").all()


def test_second_run_on_the_output_is_already_applied(reconciled: tuple[Path, dict]) -> None:
    out, first = reconciled
    again = out.parent / "again"
    code, stdout = cli(
        "reconcile", out / f"ledger-{MONTH}.xlsx", "--month", MONTH, "--out", again, "--json"
    )
    assert code == 0, stdout
    doc = json.loads(stdout)
    assert doc["already_applied"] is True
    assert doc["run"] == first["run"]
    assert not again.exists() or not any(again.iterdir())  # nothing written


def test_benchmark_child_records_every_step(ledger: Path, tmp_path: Path) -> None:
    run = _module("run")
    timings = tmp_path / "timings.json"
    argv = ["reconcile", str(ledger), "--month", MONTH, "--out", str(tmp_path / "o")]
    assert run.child(timings, argv) == 0
    steps = run._steps(timings, wall=json.loads(timings.read_text())["end"])
    assert list(steps)[:3] == ["import", "load", "replay"]
    assert {"renew", "recovery", "workbook", "report", "exit"} <= set(steps)
    assert all(v >= 0 for v in steps.values())


def test_memory_is_warmed_in_a_child_so_no_child_reports_it_as_its_peak() -> None:
    """`run.py --warm` writes the memory in a process of its own: a parent that held it
    would hand its high-water mark to every child it starts (their peak RSS)."""
    run = _module("run")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert run.warm_memory(0.25) > 0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 128 * 1024  # KiB
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    _, _, usage = os.wait4(proc.pid, 0)
    assert usage.ru_maxrss < before + 256 * 1024
    assert run.uptime_minutes() is None or run.uptime_minutes() > 0


def test_second_core_is_two_busy_processes_against_one() -> None:
    """About 2.0 on two free cores, about 1.0 where the second is taken; never past 2
    by much (the same loop, timed by each process itself)."""
    run = _module("run")
    assert 0.5 < run.second_core(loops=2_000_000) < 2.5


def test_a_child_s_cpu_counts_the_processes_it_waited_for(tmp_path: Path) -> None:
    """`Run.cpu`: the CPU seconds of the timed child and of what it forked and waited for
    (a run's second core and its strict re-read), not the time it spent waiting."""
    run = _module("run")
    code = (
        "import os, time\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    end = time.process_time() + 0.4\n"
        "    while time.process_time() < end: pass\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "time.sleep(0.3)\n"
    )
    got = run._spawn([sys.executable, "-c", code], tmp_path / "child.log")
    assert 0.4 <= got.cpu < got.seconds  # the grandchild's busy 0.4 s, not the sleep
    assert got.seconds >= 0.7
