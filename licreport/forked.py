"""Two pieces of work side by side: one here, one in a forked child on the second core.

The machine of SPEC §6 has two cores and CPython runs Python code on one at a time;
a forked child shares the parent's memory copy-on-write, so it needs no copy of the
ledger.  Used by the run (`api`) and by the workbook writer (`outputs.xlsx.packager`).
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import TypeVar

SPLIT_WAIT_MIN = 60.0  # seconds a forked child with `patience` is given at least

T = TypeVar("T")
U = TypeVar("U")


def in_two(
    mine: Callable[[], T], theirs: Callable[[], U], *, fork: bool, patience: float | None = None
) -> tuple[T, U]:
    """(`mine()`, `theirs()`), `theirs` run by a forked child on the machine's second core
    and handed back (pickled) through a temp file.

    If the child fails, `theirs` runs here, so its error is raised here as without the
    child.  With `patience`, a child still running `patience` times as long as `mine`
    took (at least `SPLIT_WAIT_MIN` seconds) is stopped and `theirs` runs here; without,
    the child is waited for as long as it takes.  If this process stops (an error,
    Ctrl-C), the child is killed.  Without `fork`, on macOS (its system libraries are
    not safe in a forked child) or with another thread running (a lock it holds would
    stay held in the child), both run here, `mine` first.
    """
    linux = sys.platform.startswith("linux")
    if not fork or not linux or threading.active_count() > 1:
        return mine(), theirs()
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as buf:
        pid = os.fork()
        if pid == 0:  # the child: its result into `buf`, then leave without any cleanup
            code = 1
            try:
                gc.disable()  # a collection would touch, and so copy, the parent's pages
                pickle.dump(theirs(), buf, protocol=pickle.HIGHEST_PROTOCOL)
                buf.flush()
                code = 0
            finally:
                os._exit(code)
        started = time.monotonic()
        try:
            got = mine()
            took = time.monotonic() - started
            wait = None if patience is None else max(SPLIT_WAIT_MIN, patience * took)
            exit_status = _end_child(pid, wait)
        except BaseException:
            _end_child(pid, 0.0)
            raise
        if exit_status == 0:
            buf.seek(0)
            return got, pickle.load(buf)
    return got, theirs()


def _end_child(pid: int, wait: float | None) -> int:
    """The child's exit status once it ends (`wait` None: however long that takes), killed
    if it runs past `wait` seconds (-1)."""
    if wait is None:
        return os.waitpid(pid, 0)[1]
    deadline = time.monotonic() + wait
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return -1
        time.sleep(0.02)
