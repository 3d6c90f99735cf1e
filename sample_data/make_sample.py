"""Regenerate the sample ledger: sample_data/ledger.xlsx and sample_data/ledger/*.csv.

Both come from `licreport.ledger.sample.sample_tables()` (fixed dates, no clock),
so running this twice gives the same data.  Usage: python sample_data/make_sample.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing

from licreport.ledger.sample import sample_tables  # noqa: E402
from licreport.ledger.template import write_csv_folder, write_template  # noqa: E402


def main() -> None:
    """Write both forms of the sample next to this script and say where."""
    xlsx = write_template(HERE / "ledger.xlsx", sample=True)
    folder = write_csv_folder(HERE / "ledger", sample_tables())
    print(f"wrote {xlsx.relative_to(HERE.parent)} and {folder.relative_to(HERE.parent)}/")


if __name__ == "__main__":
    main()
