"""A ledger read ahead, begun as soon as the command line names it.

The command line (`cli`) imports the run's modules only when a command starts: pandas
and the rest take 0.4 s of one core.  calamine and pyarrow's CSV reader parse without
the GIL, so a ledger whose read began first (a workbook's safety scan, then calamine in
threads; a CSV folder's files, then their parsing in a thread) is read while they load:
on SPEC §6's workbook the Clients sheet is then read by the time the loader asks for
it.  `read_source` takes the read begun for its path; every check and every error is
the reader's own (`read_xlsx`, `read_csv_folder`), raised where the loader reads the
ledger, as without it.

This module imports no pandas (nor anything that does): `cli` imports it first.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from licreport.ledger.csvdir import read_csv_folder
from licreport.ledger.headers import RawBook
from licreport.ledger.safety import Limits
from licreport.ledger.xlsx import XLSX_SUFFIXES, read_xlsx

# the path's device, inode, size and modification time, and the decimal separator asked
_Key = tuple[int, int, int, int, str | None]

_begun: dict[Path, tuple[_Key, RawBook | Exception]] = {}


def _identity(path: Path, decimal: str | None) -> _Key:
    st = path.stat()
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, decimal


def begin(path: Path, decimal: str | None = None) -> None:
    """Begin reading `path` with the default `Limits` when it is a workbook file or a
    folder (`decimal`: a CSV folder's forced decimal separator, `read_csv_folder`);
    anything else `read_source` refuses is left to the loader.  What stops the read is
    kept for `take` to raise."""
    try:
        folder = path.is_dir()
        if not folder and (not path.is_file() or path.suffix.lower() not in XLSX_SUFFIXES):
            return
        key, where = _identity(path, decimal), path.resolve()
    except OSError:
        return
    if where in _begun:
        return
    try:
        book = read_csv_folder(path, Limits(), decimal) if folder else read_xlsx(path, Limits())
    except Exception as exc:  # raised by `take`, where the loader reads the ledger
        _begun[where] = key, exc
    else:
        _begun[where] = key, book


def take(path: Path, limits: Limits, decimal: str | None = None) -> RawBook | None:
    """The read begun for `path`, if one was with these `limits` and `decimal` and the
    path is as it was then (else None, and the loader reads it); its error is raised
    here."""
    try:
        entry = _begun.pop(path.resolve(), None)
    except OSError:
        return None
    if entry is None:
        return None
    key, read = entry
    try:
        same = limits == Limits() and _identity(path, decimal) == key
    except OSError:
        same = False
    if not same:
        _close(read)
        return None
    if isinstance(read, Exception):
        raise read
    return read


def discard() -> None:
    """Close every read not taken (its threads end; its errors are dropped): a command
    that stops before it loads its ledger."""
    while _begun:
        _close(_begun.popitem()[1][1])


def _close(read: RawBook | Exception) -> None:
    if isinstance(read, RawBook):
        with contextlib.suppress(Exception):
            read.close()
