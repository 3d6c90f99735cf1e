"""pandas keeps licreport's text in Python strings, with pyarrow installed.

pandas 3 stores `str` columns in Arrow when pyarrow is importable, and pyarrow is a
dependency of licreport (it reads CSV files and joins the workbook's cells); licreport
asks for the Python storage (licreport/__init__.py), because with Arrow strings the run
crashed (a blank mapped from a text column is text, and text minus a number raises) and
its rules were slower.  It is set by `licreport.ledger.model`, the module of the
ledger's tables: the package itself imports no pandas (`licreport.ledger.ahead`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

import licreport.ledger.model  # noqa: F401  (sets the storage)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "ledger.xlsx"


def test_pyarrow_is_here_and_licreport_keeps_python_strings() -> None:
    import pyarrow  # noqa: F401  (a dependency)

    assert pd.get_option("mode.string_storage") == "python"
    assert pd.Series(["a"]).dtype.storage == "python"


def test_a_run_keeps_python_strings_in_every_process(tmp_path: Path) -> None:
    """The storage is set before the command's first frame, so the command line has it
    too: a month of the sample (with `--exchange`, and a Panda Security partner alone, the
    run that crashed with Arrow strings) runs and prints its document, and the
    ledger's text columns were Python strings."""
    for args in (("--exchange",), ("--partner", "NRD")):
        out = tmp_path / args[-1]
        code = (
            "import sys, atexit, pandas as pd; from licreport.cli import main; "
            "from licreport.ledger import load; sys.argv[0] = 'licreport'; "
            "read = load.load_ledger; seen = []; "
            "load.load_ledger = lambda *a, **k: seen.append(read(*a, **k)) or seen[-1]; "
            "atexit.register(lambda: print('storage', "
            "{str(c.dtype.storage) for t in seen[0][0].tables.values() "
            "for _, c in t.frame.items() if isinstance(c.dtype, pd.StringDtype)})); main()"
        )
        argv = ["reconcile", str(SAMPLE), "--month", "2026-12", "--json", "--out", str(out), *args]
        done = subprocess.run(
            [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        assert '"month": "2026-12"' in done.stdout
        assert done.stdout.rstrip().endswith("storage {'python'}")
