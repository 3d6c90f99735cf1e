"""The benchmark's usage export (benchmarks/exports.py) at CI size, and `match` on it."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from licreport.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _module(name: str) -> ModuleType:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    gen, exports = _module("generate"), _module("exports")
    folder = tmp_path_factory.mktemp("bench-match")
    tables = gen.generate(0.02, 7)
    ledger = gen.write_xlsx(tables, folder / "ledger.xlsx")
    usage = exports.usage(tables, 0.02)
    again = exports.usage(tables, 0.02)
    assert usage.equals(again)  # deterministic
    return ledger, exports.write_usage(usage, folder / "usage.csv"), len(usage)


def test_usage_has_the_rows_asked_for_and_match_runs(files: tuple[Path, Path, int]) -> None:
    ledger, usage, rows = files
    assert rows == 2000  # 100,000 x 0.02
    out = ledger.parent / "out"
    result = CliRunner().invoke(
        main, ["match", str(ledger), "--usage", str(usage), "--month", "2026-12",
               "--out", str(out), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    kinds = {f["kind"] for f in doc["findings"]}
    assert kinds == {"unlicensed", "idle"}  # 10% fewer devices, 10% more
    assert len(doc["unmatched"]) < rows // 5  # ids for 90% of the rows
    assert (out / "match-2026-12.xlsx").is_file() and (out / "match-2026-12.html").is_file()


def test_benchmark_child_times_match(files: tuple[Path, Path, int], tmp_path: Path) -> None:
    ledger, usage, _ = files
    run = _module("run")
    timings = tmp_path / "timings.json"
    argv = ["match", str(ledger), "--usage", str(usage), "--month", "2026-12",
            "--out", str(tmp_path / "o")]  # fmt: skip
    assert run.child(timings, argv) == 0
    steps = run._steps(timings, wall=json.loads(timings.read_text())["end"])
    assert list(steps)[:3] == ["import", "load", "replay"]
