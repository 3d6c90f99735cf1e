"""Zip entries: copied byte for byte (compressed data, CRC and sizes as they are), or written."""

from __future__ import annotations

import os
import shutil
import struct
import zipfile
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import IO, TYPE_CHECKING, Any, cast

from licreport.errors import UnreadableFile
from licreport.outputs.xlsx import constants
from licreport.outputs.xlsx.constants import COMPRESSLEVEL

if TYPE_CHECKING:
    from licreport.outputs.xlsx.xmlwriter import PartChecker

# ---------------------------------------------------------------- zip entries

FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def copy_entry(zin: zipfile.ZipFile, zout: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Copy one entry byte for byte: its compressed data, CRC and sizes as they are."""
    src = zin.fp
    if src is None or info.flag_bits & 0x1 or not hasattr(zout, "start_dir"):
        _recompress(zin, zout, info)
        return
    src.seek(info.header_offset)
    local = src.read(30)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        _recompress(zin, zout, info)
        return
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    out = zipfile.ZipInfo(info.filename, info.date_time)
    out.compress_type = info.compress_type
    out.CRC = info.CRC
    out.compress_size = info.compress_size
    out.file_size = info.file_size
    out.external_attr = info.external_attr
    out.create_system = info.create_system
    out.flag_bits = info.flag_bits & ~0x08  # sizes go in the local header, no data descriptor
    out.comment = info.comment
    fp = zout.fp
    assert fp is not None
    # The same bookkeeping ZipFile.mkdir does for an entry it writes itself.
    fp.seek(zout.start_dir)
    out.header_offset = fp.tell()
    fp.write(out.FileHeader())
    src.seek(info.header_offset + 30 + name_len + extra_len)
    remaining = info.compress_size
    while remaining:
        block = src.read(min(constants.CHUNK, remaining))
        if not block:
            raise UnreadableFile(f"{info.filename}: truncated in the zip")
        fp.write(block)
        remaining -= len(block)
    zout.filelist.append(out)
    zout.NameToInfo[out.filename] = out
    zout.start_dir = fp.tell()


def _deflated(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """`info` deflated at COMPRESSLEVEL.  ``ZipFile.open(info, "w")`` takes the level from
    the ZipInfo, not from the ZipFile (a ZipInfo made here has none: zlib's default, 6,
    twice as slow on the 70 MB Contracts sheet).  Python 3.13 renamed the attribute."""
    info.compress_type = zipfile.ZIP_DEFLATED
    if hasattr(info, "compress_level"):  # Python 3.13 and later
        info.compress_level = COMPRESSLEVEL
    else:
        info._compresslevel = COMPRESSLEVEL  # type: ignore[attr-defined]
    return info


def _recompress(zin: zipfile.ZipFile, zout: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    out = _deflated(zipfile.ZipInfo(info.filename, info.date_time))
    out.external_attr = info.external_attr
    with zin.open(info) as src, zout.open(out, "w") as dst:
        shutil.copyfileobj(src, dst, constants.CHUNK)


Content = bytes | Callable[[IO[bytes]], None]

# The parts we write are deflated by ISA-L (python-isal) at its level 2: SPEC §6's Contracts
# sheet (55 MB of XML) in 0.05 s against zlib's 0.37 s at level 3, 6 % larger.  Without isal
# (a platform it has no wheel for; the copier alone on another Python) zlib does it.
try:
    from isal import isal_zlib
except ImportError:  # pragma: no cover - isal is a dependency
    isal_zlib = None  # type: ignore[assignment]
ISAL_LEVEL = 2


def _compressor() -> Any:
    if isal_zlib is not None:
        return isal_zlib.compressobj(ISAL_LEVEL, zlib.DEFLATED, -15)
    return zlib.compressobj(COMPRESSLEVEL, zlib.DEFLATED, -15)  # pragma: no cover


def write_part(
    zout: zipfile.ZipFile,
    name: str,
    content: Content,
    like: zipfile.ZipInfo | None,
    check: PartChecker | None = None,
) -> None:
    """Write one part, from bytes or from a function streaming into the entry; with
    `check`, its bytes are also parsed strictly as they are written (`PartChecker`)."""
    info = zipfile.ZipInfo(name, like.date_time if like else FIXED_TIME)
    info.external_attr = like.external_attr if like else 0o600 << 16
    if check is not None:
        check.begin(name)
    entry = _Entry(zout, info, check)
    if isinstance(content, bytes):
        entry.write(content)
    else:
        content(cast(IO[bytes], entry))
    entry.finish()
    if check is not None:
        check.end()


class _Entry:
    """One zip entry written as its bytes come, in the rendering thread: deflated (ISA-L
    is fast enough that handing chunks to a thread, as with zlib, costs more than it
    saves), each chunk also fed to `check`; its CRC and sizes go into its local header
    once it is finished (the output is a file: `ZipFile.open(..., "w")` does the same),
    with the bookkeeping `copy_entry` does.  An entry not finished (an error) is not
    listed, and the next one is written over it."""

    def __init__(self, zout: zipfile.ZipFile, info: zipfile.ZipInfo, check: PartChecker | None):
        fp = zout.fp
        assert fp is not None
        info.compress_type = zipfile.ZIP_DEFLATED
        info.flag_bits &= ~0x08  # sizes in the local header, no data descriptor
        info.CRC = info.file_size = info.compress_size = 0
        fp.seek(zout.start_dir)
        info.header_offset = fp.tell()
        fp.write(info.FileHeader(False))  # sizes 0 until `finish`; the same length then
        self._zout, self._fp, self._info, self._check = zout, fp, info, check
        self._deflate = _compressor()
        self._crc = self._size = self._compressed = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        n = memoryview(data).nbytes
        self._crc = zlib.crc32(data, self._crc)
        self._size += n
        out = self._deflate.compress(data)
        self._compressed += len(out)
        self._fp.write(out)
        if self._check is not None:
            self._check.feed(data)
        return n

    def finish(self) -> None:
        out = self._deflate.flush()
        self._compressed += len(out)
        self._fp.write(out)
        info, fp = self._info, self._fp
        info.CRC, info.file_size, info.compress_size = self._crc, self._size, self._compressed
        end = fp.tell()
        fp.seek(info.header_offset)
        fp.write(info.FileHeader(False))  # raises past 4 GiB, as zipfile does without zip64
        fp.seek(end)
        self._zout.filelist.append(info)
        self._zout.NameToInfo[info.filename] = info
        self._zout.start_dir = end


# ---------------------------------------------------------------- checking what was written


def first_corrupt(path: str | os.PathLike[str]) -> str | None:
    """``ZipFile(path).testzip()``: the first entry whose data does not inflate to its
    CRC, or None; the entries shared between two threads by size.  zlib inflates and
    sums without the GIL, so the two run on both cores: SPEC §6's workbook (165 MB
    inflated) in 0.14 s against 0.22 s, at the end of the run where nothing else does."""
    with zipfile.ZipFile(path) as z:
        listed = z.infolist()
    shares: list[list[zipfile.ZipInfo]] = [[], []]
    sizes = [0, 0]
    for info in sorted(listed, key=lambda i: -i.file_size):  # each to the lighter share
        k = sizes.index(min(sizes))
        shares[k].append(info)
        sizes[k] += info.file_size

    def corrupt(share: list[zipfile.ZipInfo]) -> list[str]:
        bad = []
        with zipfile.ZipFile(path) as z:
            for info in share:
                try:
                    with z.open(info) as entry:
                        while entry.read(1 << 20):
                            pass
                except zipfile.BadZipFile:
                    bad.append(info.filename)
        return bad

    with ThreadPoolExecutor(2, thread_name_prefix="zip-check") as pool:
        found = {name for bad in pool.map(corrupt, shares) for name in bad}
    return next((i.filename for i in listed if i.filename in found), None)
