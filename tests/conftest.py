"""Shared pytest options and fixtures."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import openpyxl
import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--update-golden`: rewrite the golden files under tests/golden/ from the current output."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden files under tests/golden/ instead of comparing against them",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run was started with --update-golden."""
    return bool(request.config.getoption("--update-golden"))


# --- ledger reader tests (tests/test_ledger_*.py) -----------------------------------

_BROKEN = Path(__file__).resolve().parent.parent / "sample_data" / "broken"


@pytest.fixture(scope="session")
def broken() -> ModuleType:
    """sample_data/broken/make_broken.py: raw workbook builders and the broken fixtures."""
    spec = importlib.util.spec_from_file_location("make_broken", _BROKEN / "make_broken.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def write_xlsx(tmp_path: Path) -> Callable[..., Path]:
    """Write a workbook with openpyxl: ``write_xlsx({"Partners": [[...], ...]}, name=...)``."""

    def write(sheets: dict[str, list[list[Any]]], name: str = "ledger.xlsx") -> Path:
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for title, rows in sheets.items():
            ws = wb.create_sheet(title)
            for row in rows:
                ws.append(row)
        path = tmp_path / name
        wb.save(path)
        return path

    return write


@pytest.fixture
def write_csvs(tmp_path: Path) -> Callable[..., Path]:
    """Write a CSV folder: ``write_csvs({"partners.csv": "text" or b"bytes"})``."""

    def write(files: dict[str, str | bytes], name: str = "ledger") -> Path:
        folder = tmp_path / name
        folder.mkdir()
        for file, content in files.items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            (folder / file).write_bytes(data)
        return folder

    return write
