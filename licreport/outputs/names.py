"""Output file names (SPEC §9): stable month stems and partner ids made safe for a file name."""

from __future__ import annotations

import re

from licreport.errors import UsageError

_TRAILING_MONTH = re.compile(r"-\d{4}-(0[1-9]|1[0-2])$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def month_stem(stem: str, month: str) -> str:
    """`stem` with the month at its end, replacing a trailing ``-YYYY-MM`` already there:
    ``ledger`` → ``ledger-2026-12``; ``ledger-2026-12`` → ``ledger-2027-01``;
    ``ledger-2026-12-final`` → ``ledger-2026-12-final-2027-01``."""
    return f"{_TRAILING_MONTH.sub('', stem)}-{month}"


def safe_name(partner: str) -> str:
    """A partner id as a file-name part: every character outside ``A–Z a–z 0–9 . _ -``
    becomes ``_``; a name made only of dots (``.``, ``..``) becomes ``_``."""
    name = _UNSAFE.sub("_", partner)
    return "_" if set(name) <= {"."} else name


def safe_names(partners: list[str]) -> dict[str, str]:
    """Each partner's safe name; two that are equal ignoring case clash (a usage error:
    their files would overwrite each other on Windows and macOS)."""
    names = {p: safe_name(p) for p in partners}
    seen: dict[str, str] = {}
    clashes = []
    for partner, name in names.items():
        other = seen.setdefault(name.casefold(), partner)
        if other != partner:
            clashes.append(f"{other!r} and {partner!r} (both {name})")
    if clashes:
        raise UsageError(
            "partner ids that give the same file name: "
            + "; ".join(clashes)
            + "; rename one in Partners (and its rows) to write one report per partner"
        )
    return names
