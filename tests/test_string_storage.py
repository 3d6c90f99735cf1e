"""licreport with and without pyarrow: the same outputs, byte for byte.

pandas 3 stores `str` columns in Arrow when pyarrow is importable, in Python
objects when not; licreport asks for the Python storage (licreport/__init__.py),
because with Arrow strings the run crashed (a blank mapped from a text column is
text, and text minus a number raises). pyarrow is a dependency (it reads CSV
files); these runs read a workbook, so hiding it shows what pandas alone does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import licreport  # noqa: F401  (sets the storage)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "ledger.xlsx"
BLOCK_PYARROW = "import sys; sys.modules['pyarrow'] = None; "  # import pyarrow -> ImportError
RUN = "import sys; from licreport.cli import main; sys.argv[0] = 'licreport'; main()"


def reconcile(out: Path, *args: str, pyarrow: bool) -> str:
    code = RUN if pyarrow else BLOCK_PYARROW + RUN
    argv = ["reconcile", str(SAMPLE), "--month", "2026-12", "--json", "--out", str(out), *args]
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_pyarrow_is_here_and_licreport_keeps_python_strings() -> None:
    import pyarrow  # noqa: F401  (a dependency: licreport's CSV reader)

    assert pd.get_option("mode.string_storage") == "python"
    assert pd.Series(["a"]).dtype.storage == "python"


@pytest.mark.parametrize(
    ("args", "report"),
    [
        (("--exchange",), "report-2026-12.html"),
        # a Panda Security partner alone: no points anywhere (this one crashed with Arrow)
        (("--partner", "NRD"), "report-2026-12-NRD.html"),
    ],
)
def test_a_month_is_the_same_with_and_without_pyarrow(
    tmp_path: Path, args: tuple[str, ...], report: str
) -> None:
    with_arrow = reconcile(tmp_path / "arrow", *args, pyarrow=True)
    without = reconcile(tmp_path / "plain", *args, pyarrow=False)
    assert with_arrow == without
    for name in ("ledger-2026-12.xlsx", report):
        assert (tmp_path / "arrow" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()
