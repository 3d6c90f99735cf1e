"""The whole updated workbook, checked by a second validator: openxml-audit.

tests/test_outputs_xlsx_schema.py validates the parts licreport writes whole
against XML Schemas written from ECMA-376 (a subset; see tests/schemas/README.md).
openxml-audit (MIT, a test extra) validates every part of a package, charts,
drawings, and the user's own parts licreport edits included, against the schema
data of Microsoft's Open XML SDK, the validator Excel's team publishes. It is
stricter than ECMA-376 in places (a font's children in one order, where the
standard allows any), so the rule checked here is: **licreport adds no schema
error**. An error in the output must already be in the input (same part, same
place, same words); the computed sheets, the chart and its drawing, which
licreport writes from nothing, have none at all.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openxml_audit import OpenXmlValidator, ValidationSeverity

from licreport import api
from licreport.outputs.xlsx.styles import unwrap_alternate_content
from tests.userbook import REALWORLD, paste_ledger

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "ledger.xlsx"
Finding = tuple[str, str, str]


def schema_errors(book: Path) -> set[Finding]:
    """(part, path in the part, description) of every error (warnings are advice)."""
    result = OpenXmlValidator().validate(str(book))
    return {
        (e.part_uri or "", e.path or "", e.description)
        for e in result.errors
        if e.severity == ValidationSeverity.ERROR
    }


def reconcile(ledger: Path, out: Path, month: str, *, redo: bool = False) -> Path:
    api.reconcile(ledger, api.RunOptions(month, exchange=True, redo=redo), api.Outputs(out))
    (book,) = out.glob(f"*-{month}{ledger.suffix}")
    return book


def written_whole(book: Path) -> list[str]:
    """The parts the run made from nothing (stamped 1980-01-01 by the writer)."""
    with zipfile.ZipFile(book) as z:
        return ["/" + i.filename for i in z.infolist() if i.date_time == (1980, 1, 1, 0, 0, 0)]


def unwrapped(ledger: Path, tmp: Path) -> Path:
    """`ledger` with its styles' mc:AlternateContent replaced by their Fallback, as the
    output has them: the validator skips wrapped items, so their own findings (a
    Hancom font's children in another order) show only once unwrapped."""
    copy = tmp / f"unwrapped-{ledger.name}"
    with zipfile.ZipFile(ledger) as zin, zipfile.ZipFile(copy, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith("styles.xml"):
                data = unwrap_alternate_content(data)
            zout.writestr(info, data)
    return copy


def assert_adds_no_error(ledger: Path, book: Path) -> None:
    added = schema_errors(book) - schema_errors(unwrapped(ledger, book.parent))
    assert not added, "\n".join(f"{p} {path}: {d}" for p, path, d in sorted(added))


def test_validator_finds_an_element_out_of_order(tmp_path: Path) -> None:
    """The check can fail: a pageMargins moved after pageSetup in a computed sheet."""
    book = reconcile(SAMPLE, tmp_path / "out", "2026-12")
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(book) as zin, zipfile.ZipFile(broken, "w") as zout:
        part = next(p.lstrip("/") for p in written_whole(book) if "worksheets/sheet" in p)
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == part:
                start = data.index(b"<pageMargins")
                end = data.index(b"/>", start) + 2
                margins = data[start:end]
                data = data[:start] + data[end:]
                data = data.replace(b"</worksheet>", margins + b"</worksheet>")
            zout.writestr(info, data)
    added = schema_errors(broken) - schema_errors(SAMPLE)
    assert {(p, d) for p, _, d in added} == {("/" + part, "Unexpected element 'pageMargins' found")}


def test_the_samples_months_add_no_schema_error(tmp_path: Path) -> None:
    """December, then January from December's output, then December again with --redo."""
    december = reconcile(SAMPLE, tmp_path / "dec", "2026-12")
    january = reconcile(december, tmp_path / "jan", "2027-01")
    redone = reconcile(january, tmp_path / "redo", "2027-01", redo=True)
    for before, after in ((SAMPLE, december), (december, january), (january, redone)):
        assert_adds_no_error(before, after)
    # What the run writes whole (computed sheets, chart, drawing, rels) has no error at all.
    ours = set(written_whole(december))
    assert any("/charts/" in p for p in ours) and any("/drawings/" in p for p in ours)
    assert not {f for f in schema_errors(december) if f[0] in ours}


def test_a_csv_ledgers_workbook_has_no_schema_error(tmp_path: Path) -> None:
    """A CSV ledger's workbook is licreport's from the first byte to the last."""
    api.reconcile(
        ROOT / "sample_data" / "ledger",
        api.RunOptions("2026-12", exchange=True),
        api.Outputs(tmp_path / "out"),
    )
    (book,) = (tmp_path / "out").glob("*.xlsx")
    assert schema_errors(book) == set()


@pytest.mark.parametrize(
    "name",
    sorted(
        p.name
        for p in REALWORLD.iterdir()
        if p.suffix in (".xlsx", ".xlsm") and "Strict" not in p.name
    ),
)
def test_users_workbooks_get_no_new_schema_error(name: str, tmp_path: Path) -> None:
    """The sample's ledger pasted into each real-world workbook (tests/fixtures/realworld)."""
    case = paste_ledger(REALWORLD / name, tmp_path / name)
    assert_adds_no_error(case, reconcile(case, tmp_path / "out", "2026-12"))
