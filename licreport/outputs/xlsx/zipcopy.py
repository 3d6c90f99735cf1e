"""Zip entries: copied byte for byte (compressed data, CRC and sizes as they are), or written."""

from __future__ import annotations

import io
import queue
import shutil
import struct
import threading
import zipfile
from collections.abc import Callable
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


def write_part(
    zout: zipfile.ZipFile,
    name: str,
    content: Content,
    like: zipfile.ZipInfo | None,
    check: PartChecker | None = None,
) -> None:
    """Write one part, from bytes or from a function streaming into the entry; with
    `check`, its bytes are also parsed strictly as they are written (`PartChecker`)."""
    info = _deflated(zipfile.ZipInfo(name, like.date_time if like else FIXED_TIME))
    info.external_attr = like.external_attr if like else 0o600 << 16
    if check is not None:
        check.begin(name)
    if isinstance(content, bytes):
        zout.writestr(info, content, compresslevel=COMPRESSLEVEL)
        if check is not None:
            check.feed(content)
            check.end()
        return
    with zout.open(info, "w") as dst:
        pipe = _Pipe(dst, check)
        try:
            content(cast(IO[bytes], pipe))
        finally:
            pipe.close()
    if check is not None:
        check.end()


class _Pipe(io.RawIOBase):
    """A writer handing chunks to a thread: deflate (GIL released) overlaps rendering."""

    def __init__(self, dst: IO[bytes], check: PartChecker | None = None) -> None:
        super().__init__()
        self._dst = dst
        self._check = check
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="xlsx-deflate", daemon=True)
        self._thread.start()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self._error is not None:
            raise self._error
        chunk = bytes(data)
        self._queue.put(chunk)
        return len(chunk)

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._dst.write(chunk)
                    if self._check is not None:
                        self._check.feed(chunk)
                except BaseException as exc:  # handed to the writing thread
                    self._error = exc

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        super().close()
        if self._error is not None:
            raise self._error
