"""A ledger workbook read ahead, begun as soon as the command line names it.

The command line (`cli`) imports the run's modules only when a command starts: pandas
and the rest take 0.4 s of one core.  calamine parses without the GIL, so a workbook
whose read began first (its safety scan, then calamine in a thread) is read while
they load: on SPEC §6's ledger the Clients sheet is then read by the time the loader
asks for it.  `read_source` takes the read begun for its file; every check and every
error is `read_xlsx`'s own, raised where the loader reads the file, as without it.

This module imports no pandas (nor anything that does): `cli` imports it first.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from licreport.ledger.headers import RawBook
from licreport.ledger.safety import Limits
from licreport.ledger.xlsx import XLSX_SUFFIXES, read_xlsx

_Key = tuple[int, int, int, int]  # the file's device, inode, size and modification time

_begun: dict[Path, tuple[_Key, RawBook | Exception]] = {}


def _identity(path: Path) -> _Key:
    st = path.stat()
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def begin(path: Path) -> None:
    """Begin reading `path` with the default `Limits`, when it is a workbook file (a CSV
    folder, or anything `read_source` refuses, is left to the loader).  What stops the
    read is kept for `take` to raise."""
    try:
        if not path.is_file() or path.suffix.lower() not in XLSX_SUFFIXES:
            return
        key, where = _identity(path), path.resolve()
    except OSError:
        return
    if where in _begun:
        return
    try:
        _begun[where] = key, read_xlsx(path, Limits())
    except Exception as exc:  # raised by `take`, where the loader reads the file
        _begun[where] = key, exc


def take(path: Path, limits: Limits) -> RawBook | None:
    """The read begun for `path`, if one was with these `limits` and the file is as it
    was then (else None, and the loader reads it); its error is raised here."""
    try:
        where = path.resolve()
        entry = _begun.pop(where, None)
        if entry is None:
            return None
        if limits != Limits() or _identity(path) != entry[0]:
            _close(entry[1])
            return None
    except OSError:
        return None
    if isinstance(entry[1], Exception):
        raise entry[1]
    return entry[1]


def discard() -> None:
    """Close every read not taken (its threads end; its errors are dropped): a command
    that stops before it loads its ledger."""
    while _begun:
        _close(_begun.popitem()[1][1])


def _close(read: RawBook | Exception) -> None:
    if isinstance(read, RawBook):
        with contextlib.suppress(Exception):
            read.close()
