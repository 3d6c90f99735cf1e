"""All outputs of one run land together or not at all.

Writers write to temporary paths in the output folder (same filesystem, so
``os.replace`` is atomic); `Staging.commit` moves every temp onto its final
name only after all of them were written, and `discard` removes them.  An
existing output is never overwritten without ``--force`` (exit 2, nothing
written).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from licreport.errors import LicreportError, OutputExists


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _remove(path: Path) -> None:
    """Delete a file, symlink or folder tree (never following a symlink)."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path)


class Staging:
    """Temp paths for a run's outputs, committed together.

    >>> with Staging(out_dir, force=False) as st:        # doctest: +SKIP
    ...     write_workbook(ledger, st.path(out_dir / "ledger-2026-02.xlsx"), ...)
    """

    def __init__(self, out_dir: Path, *, force: bool) -> None:
        self.out_dir = Path(out_dir)
        self.force = force
        self._pending: dict[Path, Path] = {}  # final -> temp
        self._optional: set[Path] = set()  # finals that may be left unwritten
        self._made: list[Path] = []  # folders we created, deepest last

    def path(self, final: Path, *, optional: bool = False) -> Path:
        """Register `final` (a path as given, usually in the output folder); return its temp.

        Raises `OutputExists` when `final` is there and ``force`` is off.  An `optional`
        final is one its writer may decide not to write: it is checked (and moved) by
        `commit` only if its temp was written.
        """
        final = Path(final)
        if final in self._pending:
            return self._pending[final]
        if optional:
            self._optional.add(final)
        elif _exists(final) and not self.force:
            raise OutputExists(f"{final} already exists; use --force to overwrite it")
        self._mkdirs(final.parent)
        temp = final.parent / f".{final.name}.tmp-{os.getpid()}"
        if _exists(temp):
            _remove(temp)  # left by an earlier run that was killed
        self._pending[final] = temp
        return temp

    def written(self, finals: Iterable[Path]) -> list[Path]:
        """The `finals` whose temps were written, in the given order."""
        return [f for f in finals if _exists(self._pending[Path(f)])]

    def _mkdirs(self, folder: Path) -> None:
        missing = []
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for f in reversed(missing):
            f.mkdir()
            self._made.append(f)

    def commit(self) -> list[Path]:
        """Move every temp onto its final path; return the finals.

        Checks everything first (each temp written, no final appeared meanwhile
        without ``force``), so a failure leaves the old outputs as they were.  An
        optional final whose temp was not written is left as it is.
        """
        for final in self._optional:
            if not _exists(self._pending[final]):
                del self._pending[final]
        self._optional.clear()
        for final, temp in self._pending.items():
            if not _exists(temp):
                raise LicreportError(f"internal error: {final.name} was not written")
            if _exists(final) and not self.force:
                raise OutputExists(f"{final} already exists; use --force to overwrite it")
        done = []
        for final, temp in self._pending.items():
            if _exists(final) and (final.is_dir() or temp.is_dir()) and not final.is_symlink():
                old = final.parent / f".{final.name}.old-{os.getpid()}"
                if _exists(old):
                    _remove(old)
                os.replace(final, old)
                os.replace(temp, final)
                _remove(old)
            else:
                if final.is_symlink():
                    final.unlink()
                os.replace(temp, final)
            done.append(final)
        self._pending.clear()
        self._made.clear()
        return done

    def discard(self) -> None:
        """Remove every temp, and the folders this staging created if left empty."""
        for temp in self._pending.values():
            if _exists(temp):
                _remove(temp)
        self._pending.clear()
        self._optional.clear()
        for folder in reversed(self._made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        self._made.clear()

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.discard()
            return
        try:
            self.commit()
        except BaseException:
            self.discard()
            raise
