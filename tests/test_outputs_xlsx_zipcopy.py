"""The zip copier: entries copied byte for byte whatever the zip layout."""

from __future__ import annotations

import glob
import io
import os
import shutil
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path
from typing import IO

import pytest
from openpyxl import load_workbook

from licreport.outputs.workbook import write_workbook
from licreport.outputs.xlsx.zipcopy import copy_entry, write_part
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


# ---------------------------------------------------------------- the copier on its own


def raw_entry(path: Path, name: str) -> bytes:
    """The compressed bytes of entry `name` as they sit in the zip file."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(name)
        with open(path, "rb") as fp:
            fp.seek(info.header_offset + 26)
            name_len, extra_len = (
                int.from_bytes(fp.read(2), "little"),
                int.from_bytes(fp.read(2), "little"),
            )
            fp.seek(info.header_offset + 30 + name_len + extra_len)
            return fp.read(info.compress_size)


def raw_local_header(path: Path, name: str) -> bytes:
    """The 30 fixed bytes of entry `name`'s local header."""
    with zipfile.ZipFile(path) as z:
        offset = z.getinfo(name).header_offset
    with open(path, "rb") as fp:
        fp.seek(offset)
        return fp.read(30)


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_copy_entry_keeps_compressed_bytes_crc_and_sizes(tmp_path: Path, method: int) -> None:
    src, dst = tmp_path / "a.zip", tmp_path / "b.zip"
    payload = ("row " * 50_000).encode()
    with zipfile.ZipFile(src, "w", method, compresslevel=9 if method else None) as z:
        z.writestr(zipfile.ZipInfo("xl/big.xml", (2020, 5, 17, 10, 30, 0)), payload)
        z.writestr("xl/small.xml", b"<a/>")
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            copy_entry(zin, zout, info)
        write_part(zout, "xl/new.xml", b"<new/>", None)
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst) as b:
        assert b.testzip() is None
        for name in ("xl/big.xml", "xl/small.xml"):
            ia, ib = a.getinfo(name), b.getinfo(name)
            assert (ib.CRC, ib.compress_size, ib.file_size, ib.compress_type, ib.date_time) == (
                ia.CRC,
                ia.compress_size,
                ia.file_size,
                ia.compress_type,
                ia.date_time,
            )
        assert b.read("xl/big.xml") == payload
        assert b.read("xl/new.xml") == b"<new/>"
    assert raw_entry(dst, "xl/big.xml") == raw_entry(src, "xl/big.xml")


def test_write_part_streams_into_the_entry(tmp_path: Path) -> None:
    """A streamed part: deflated as it comes, its CRC and sizes in its local header (no
    data descriptor), listed after the entries before it; memoryviews taken as bytes."""
    dst = tmp_path / "b.zip"
    chunks = [f"<r>{i}</r>".encode() * 1000 for i in range(50)]

    def stream(out: IO[bytes]) -> None:
        for c in chunks:
            out.write(memoryview(c) if len(c) % 2 else c)

    with zipfile.ZipFile(dst, "w") as zout:
        write_part(zout, "xl/first.xml", b"<a/>", None)
        write_part(zout, "xl/sheet.xml", stream, None)
    with zipfile.ZipFile(dst) as z:
        assert z.testzip() is None
        assert z.namelist() == ["xl/first.xml", "xl/sheet.xml"]
        assert z.read("xl/sheet.xml") == b"".join(chunks)
        info = z.getinfo("xl/sheet.xml")
        assert info.compress_type == zipfile.ZIP_DEFLATED and not info.flag_bits & 0x08
    local = raw_local_header(dst, "xl/sheet.xml")
    assert struct.unpack("<III", local[14:26]) == (
        info.CRC,
        info.compress_size,
        info.file_size,
    )


@pytest.mark.parametrize("streamed", [True, False])
def test_parts_are_deflated_by_isal_at_its_level(tmp_path: Path, streamed: bool) -> None:
    """The parts we write are deflated by ISA-L at `ISAL_LEVEL` (SPEC §6's Contracts sheet
    in 0.05 s against zlib's 0.37 s at level 3), streamed or given whole."""
    from isal import isal_zlib

    from licreport.outputs.xlsx.zipcopy import ISAL_LEVEL

    rows = b"".join(b'<row r="%d"><c r="A%d" t="s"><v>%d</v></c></row>' % (i, i, i * 7 % 1013)
                    for i in range(1, 40_000))  # fmt: skip

    def stream(out: IO[bytes]) -> None:
        for at in range(0, len(rows), 65_536):
            out.write(rows[at : at + 65_536])

    dst = tmp_path / "c.zip"
    with zipfile.ZipFile(dst, "w") as zout:
        write_part(zout, "xl/sheet.xml", stream if streamed else rows, None)

    def deflated(level: int) -> bytes:
        z = isal_zlib.compressobj(level, zlib.DEFLATED, -15)
        if not streamed:
            return z.compress(rows) + z.flush()
        parts = (z.compress(rows[at : at + 65_536]) for at in range(0, len(rows), 65_536))
        return b"".join(parts) + z.flush()

    with zipfile.ZipFile(dst) as z:
        assert z.read("xl/sheet.xml") == rows
    assert raw_entry(dst, "xl/sheet.xml") == deflated(ISAL_LEVEL)
    assert len(deflated(ISAL_LEVEL)) != len(zlib.compress(rows, 3))  # not zlib's


def test_a_failing_writer_fails_the_part(tmp_path: Path) -> None:
    def stream(out: IO[bytes]) -> None:
        out.write(b"<a>")
        raise RuntimeError("render failed")

    with (
        zipfile.ZipFile(tmp_path / "b.zip", "w") as zout,
        pytest.raises(RuntimeError, match="render failed"),
    ):
        write_part(zout, "xl/sheet.xml", stream, None)


# The copier writes through zipfile internals (``start_dir``, ``FileHeader``): run a
# byte-for-byte copy on every supported Python found on this machine, not only this one.
COPY_SCRIPT = """
import sys, zipfile, io
sys.path.insert(0, sys.argv[1])
from licreport.outputs.xlsx.zipcopy import copy_entry, write_part
src, dst = io.BytesIO(), io.BytesIO()
with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("a.xml", b"<a>" + b"x" * 100000 + b"</a>")
    z.writestr(zipfile.ZipInfo("b.bin"), bytes(range(256)))
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
    for info in zin.infolist():
        copy_entry(zin, zout, info)
    write_part(zout, "c.xml", lambda out: [out.write(b"<c>" * k) for k in range(300)], None)
with zipfile.ZipFile(dst) as z:
    assert z.testzip() is None
    assert z.read("a.xml") == b"<a>" + b"x" * 100000 + b"</a>"
    assert z.read("b.bin") == bytes(range(256))
    assert z.read("c.xml") == b"".join(b"<c>" * k for k in range(300))
    sizes = [i.compress_size for i in zipfile.ZipFile(src).infolist()]
    assert [i.compress_size for i in z.infolist()][:2] == sizes
print("copied", sys.version_info[:2])
"""


def interpreter(version: str) -> str | None:
    """A working ``python<version>``: on PATH, else a pyenv install (its shim may not run)."""
    found = [shutil.which(f"python{version}")]
    found += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python3")))
    for python in filter(None, found):
        probe = subprocess.run([python, "-c", "pass"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return python
    return None


@pytest.mark.parametrize("version", ["3.11", "3.12", "3.13", "3.14"])
def test_copier_on_every_supported_python(version: str) -> None:
    python = interpreter(version)
    if python is None:
        pytest.skip(f"python{version} is not installed here")
    root = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run(
        [python, "-c", COPY_SCRIPT, root], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert f"copied ({version.replace('.', ', ')})" in done.stdout


@pytest.mark.parametrize("spoilt", [[], ["b.xml"], ["d.xml", "a.xml"], ["c.xml"]])
def test_first_corrupt_is_testzip(tmp_path: Path, spoilt: list[str]) -> None:
    """`first_corrupt` checks the entries in two threads: the entry `testzip` names
    (the first in the file whose data does not match its CRC), or None."""
    from licreport.outputs.xlsx.zipcopy import first_corrupt

    path = tmp_path / "book.zip"
    sizes = {"a.xml": 50_000, "b.xml": 3_000_000, "c.xml": 10, "d.xml": 700_000}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, size in sizes.items():
            z.writestr(name, bytes(range(256)) * (size // 256) + b"x" * (size % 256))
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        for name in spoilt:  # one byte of the stored data changed: its CRC no longer holds
            info = z.getinfo(name)
            start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
            data[start + info.file_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as z:
        expected = z.testzip()
    assert first_corrupt(path) == expected
    assert expected == (min(spoilt, key=list(sizes).index) if spoilt else None)
