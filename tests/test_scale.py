"""The distributor-scale ledger of SPEC §6 loads and replays with no data errors (slow)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from licreport.ledger.load import load_ledger
from licreport.rules.book import replay_ledger

ROOT = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("generate", ROOT / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_distributor_scale_ledger_loads_clean(tmp_path: Path) -> None:
    gen = _generator()
    tables = gen.generate(1.0, 7)
    path = gen.write_xlsx(tables, tmp_path / "distributor.xlsx")
    ledger, errors = load_ledger(path)
    assert errors == []
    assert len(ledger["Partners"]) == 1_000
    assert len(ledger["Clients"]) == 100_000
    assert len(ledger["Pool"]) == 20_000
    assert len(ledger["Exchanges"]) == 50_000
    book = replay_ledger(ledger)
    assert book.errors == []
