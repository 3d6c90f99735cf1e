"""The zip copier: entries copied byte for byte whatever the zip layout."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from licreport.outputs.workbook import write_workbook
from tests.workbooks import (
    HYPERLINK,
    new_clients,
    user_ledger,
    user_workbook,
)


class _Unseekable(io.RawIOBase):
    """A stream zipfile cannot seek back in: it writes data descriptors."""

    def __init__(self, raw: io.BufferedWriter) -> None:
        self.raw = raw

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        return self.raw.write(data)  # type: ignore[arg-type]


@pytest.mark.parametrize("layout", ["stored", "data-descriptor"])
def test_zip_layouts_are_copied_faithfully(tmp_path: Path, layout: str) -> None:
    source = user_workbook(tmp_path / "ledger.xlsx")
    rezipped = tmp_path / "rezipped.xlsx"
    with zipfile.ZipFile(source) as a, open(rezipped, "wb") as raw:
        stream = raw if layout == "stored" else _Unseekable(raw)
        method = zipfile.ZIP_STORED if layout == "stored" else zipfile.ZIP_DEFLATED
        with zipfile.ZipFile(stream, "w", method) as b:
            for info in a.infolist():
                with b.open(info.filename, "w") as w:
                    w.write(a.read(info))
    out = tmp_path / "out.xlsx"
    write_workbook(user_ledger(rezipped), out, appended={"Clients": new_clients()}, computed=[])
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None
    wb = load_workbook(out)
    assert wb["Notes"]["A4"].value == "=SUM(A1:A3)"
    assert wb["Clients"]["B4"].value == HYPERLINK
