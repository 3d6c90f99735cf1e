"""The package being rewritten: the input zip, the edits collected, then `Package.write`."""

from __future__ import annotations

import contextlib
import posixpath
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO

from defusedxml import ElementTree as SafeET

from licreport.errors import UnreadableFile
from licreport.forked import in_two
from licreport.outputs.xlsx import PatchError
from licreport.outputs.xlsx.constants import (
    COMPRESSLEVEL,
    CONTENT_TYPES,
    CT_CHART,
    CT_DRAWING,
    CT_STYLES,
    CT_WORKSHEET,
    NS_R,
    NS_STRICT_MAIN,
    REL_CALCCHAIN,
    REL_CHART,
    REL_DRAWING,
    REL_STYLES,
    REL_WORKSHEET,
)
from licreport.outputs.xlsx.parts import (
    COMPUTED_MARK,
    Rel,
    add_defined_names,
    add_sheet_entries,
    computed_marks,
    content_types,
    is_date1904,
    relative,
    rels_name,
    rels_xml,
    resolve,
    set_filter_database,
    set_print_titles,
)
from licreport.outputs.xlsx.rowmap import RowMap
from licreport.outputs.xlsx.shift import shift_defined_names
from licreport.outputs.xlsx.styles import MINIMAL_STYLES
from licreport.outputs.xlsx.xmlwriter import (
    PFX,
    PartChecker,
    checked_part,
    children,
    local_name,
    xml_attr,
)
from licreport.outputs.xlsx.zipcopy import Content, copy_entry, write_part


def write_alone(side: IO[bytes], name: str, content: Content) -> dict[str, str | None]:
    """Part `name` as the one entry of a zip in `side` (from its start), parsed strictly as
    it is written: the problems `PartChecker.problems` found."""
    side.seek(0)
    side.truncate()
    check = PartChecker()
    try:
        with zipfile.ZipFile(side, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESSLEVEL) as z:
            write_part(z, name, content, None, check)
        side.flush()  # a forked child leaves by os._exit, which flushes nothing
        return check.problems()
    finally:
        check.close()


@dataclass
class SheetRef:
    """A sheet listed in workbook.xml."""

    name: str
    sheet_id: int
    rid: str
    part: str
    index: int


@dataclass
class NewSheet:
    name: str
    part: str
    write: Callable[[IO[bytes]], None]
    drawing: tuple[bytes, bytes] | None  # (drawing xml, chart xml)
    rid: str = ""
    replaced: bool = False
    computed: bool = False  # gets the COMPUTED_MARK name
    cells: int = 0  # how many cells it holds: the largest is written beside (`Package.write`)


APART_CELLS = 500_000  # a new sheet this large is written by a second process


class Package:
    """An .xlsx being rewritten: the input zip, the edits collected, then `write`."""

    def __init__(self, source: zipfile.ZipFile) -> None:
        self.zin = source
        self.infos = source.infolist()
        self.names = {i.filename for i in self.infos}
        self._taken = {n.lower() for n in self.names}
        self.replace: dict[str, Content] = {}
        self.drop: set[str] = set()
        self.added: list[tuple[str, Content]] = []
        self.overrides: dict[str, str] = {}
        self._new_sheets: list[NewSheet] = []
        self.filter_refs: dict[int, str] = {}  # sheet index -> its autofilter's new range
        self.shifts: dict[str, RowMap] = {}  # casefolded sheet -> rows --redo removes
        self._extra_rels: list[tuple[str, str]] = []
        self._rels: dict[str, list[Rel]] = {}
        self.written: list[str] = []  # the parts `write` rendered (not copied), for `verify`
        # the parts `write` parsed strictly while writing them -> problem (None: none)
        self.checked: dict[str, str | None] = {}
        # transitional or Strict (whose relationship types are purl.oclc.org ones)
        docs = [r for r in self.rels("") if r.type.endswith("/officeDocument")]
        if not docs or docs[0].target not in self.names:
            raise UnreadableFile("not a workbook: no officeDocument part")
        self.workbook = docs[0].target
        self.workbook_xml = self.read(self.workbook)
        self.sheets = self._read_sheets()
        self.date1904 = is_date1904(self.workbook_xml)
        # Strict Open XML (ISO 29500 strict namespaces): read, never rewritten.
        self.strict = SafeET.fromstring(self.workbook_xml).tag.startswith(NS_STRICT_MAIN)
        self._computed_marks = computed_marks(self.workbook_xml)

    # -- reading

    def read(self, name: str) -> bytes:
        return self.zin.read(name)

    def rels(self, part: str) -> list[Rel]:
        """Relationships of `part` (cached); [] when it has none."""
        name = rels_name(part)
        if name not in self._rels:
            out: list[Rel] = []
            if name in self.names:
                for r in SafeET.fromstring(self.read(name)):
                    if local_name(r.tag) != "Relationship":
                        continue
                    external = r.get("TargetMode") == "External"
                    target = r.get("Target", "")
                    resolved = target if external else resolve(part, target)
                    out.append(Rel(r.get("Id", ""), r.get("Type", ""), resolved, external))
            self._rels[name] = out
        return self._rels[name]

    def _read_sheets(self) -> list[SheetRef]:
        root = SafeET.fromstring(self.workbook_xml)
        by_id = {r.id: r for r in self.rels(self.workbook)}
        out: list[SheetRef] = []
        for group in children(root, "sheets"):
            for i, s in enumerate(children(group, "sheet")):
                rid = s.get(f"{{{NS_R}}}id", "")
                rel = by_id.get(rid)
                part = rel.target if rel and rel.type == REL_WORKSHEET else ""
                out.append(SheetRef(s.get("name", ""), int(s.get("sheetId", "0")), rid, part, i))
        return out

    def sheet(self, name: str) -> SheetRef | None:
        """The sheet called `name` (exact, else case-insensitive)."""
        for s in self.sheets:
            if s.name == name:
                return s
        return next((s for s in self.sheets if s.name.casefold() == name.casefold()), None)

    def free_name(self, folder: str, stem: str, ext: str) -> str:
        """A part name not in the package (OPC part names compare case-insensitively)."""
        n = 1
        while f"{folder}/{stem}{n}.{ext}".lower() in self._taken:
            n += 1
        name = f"{folder}/{stem}{n}.{ext}"
        self._taken.add(name.lower())
        return name

    def styles_xml(self) -> tuple[str, bytes]:
        """(part name, bytes) of styles.xml; a minimal one is added when there is none."""
        for r in self.rels(self.workbook):
            if r.type == REL_STYLES and r.target in self.names:
                return r.target, self.read(r.target)
        folder = posixpath.dirname(self.workbook) or "xl"
        name = f"{folder}/styles.xml"  # the name openpyxl and calamine look for
        if name.lower() in self._taken:
            name = self.free_name(folder, "styles", "xml")
        self._taken.add(name.lower())
        self._extra_rels.append((REL_STYLES, name))
        self.overrides["/" + name] = CT_STYLES
        return name, MINIMAL_STYLES

    def final_sheet_names(self) -> list[str]:
        """Every worksheet the output will list, in order (not chart or macro sheets)."""
        new = [s.name for s in self._new_sheets if not s.replaced]
        return [s.name for s in self.sheets if s.part] + new

    def set_styles(self, name: str, xml: bytes) -> None:
        if name in self.names:
            self.replace[name] = xml
        else:
            self.added.append((name, xml))

    # -- edits

    def add_sheet(
        self,
        name: str,
        write: Callable[[IO[bytes]], None],
        drawing: tuple[bytes, bytes] | None = None,
        *,
        computed: bool = False,
        cells: int = 0,
    ) -> None:
        """A new worksheet at the end of the workbook (`computed`: marked as licreport's)
        holding about `cells` cells."""
        taken = [s.name for s in self.sheets] + [s.name for s in self._new_sheets]
        if any(t.casefold() == name.casefold() for t in taken):
            raise PatchError(f"sheet {name!r} already exists")
        part = self.free_name("xl/worksheets", "sheet", "xml")
        self._new_sheets.append(
            NewSheet(name, part, write, drawing, computed=computed, cells=cells)
        )

    def is_computed(self, ref: SheetRef) -> bool:
        """Did licreport write this sheet (it carries the COMPUTED_MARK name)?"""
        return ref.index in self._computed_marks

    def replace_sheet(
        self,
        ref: SheetRef,
        write: Callable[[IO[bytes]], None],
        drawing: tuple[bytes, bytes] | None = None,
        *,
        computed: bool = False,
        cells: int = 0,
    ) -> None:
        """Rewrite an existing worksheet in place: same name, position and part name.

        Parts only the old sheet used (its drawing, charts, tables, comments) go.
        """
        if ref.part not in self.names:
            raise PatchError(f"sheet {ref.name!r} is not a worksheet")
        self._new_sheets.append(
            NewSheet(
                ref.name,
                ref.part,
                write,
                drawing,
                ref.rid,
                replaced=True,
                computed=computed,
                cells=cells,
            )
        )
        self.replace[ref.part] = write
        doomed = self._reachable(ref.part)
        keep = self._reachable("", skip={ref.part})
        gone = doomed - keep - {ref.part}
        self.drop.update(gone)
        self.drop.update(rels_name(p) for p in gone | {ref.part} if rels_name(p) in self.names)

    def drop_calc_chain(self) -> None:
        """Drop the calculation chain (cells with formulas moved); Excel rebuilds it."""
        self.drop.update(r.target for r in self.rels(self.workbook) if r.type == REL_CALCCHAIN)

    def _reachable(self, start: str, skip: Iterable[str] = ()) -> set[str]:
        """Parts reachable through relationships from `start`, not entering `skip`."""
        skipped = set(skip)
        seen: set[str] = set()
        todo = [start]
        while todo:
            for rel in self.rels(todo.pop()):
                if rel.external or rel.target in seen or rel.target in skipped:
                    continue
                if rel.target in self.names:
                    seen.add(rel.target)
                    todo.append(rel.target)
        return seen

    # -- writing

    def write(self, target: IO[bytes]) -> None:
        """Write the output package: copies, replacements, then the new parts."""
        if any(s.replaced for s in self._new_sheets):
            # Its cells may have held formulas the calc chain lists; Excel rebuilds it.
            self.drop_calc_chain()
        for s in self._new_sheets:
            self.overrides["/" + s.part] = CT_WORKSHEET
            if not s.replaced:
                self.added.append((s.part, s.write))
            if s.drawing is not None:
                drawing = self.free_name("xl/drawings", "drawing", "xml")
                chart = self.free_name("xl/charts", "chart", "xml")
                self.added.append(
                    (
                        rels_name(s.part),
                        rels_xml([("rId1", REL_DRAWING, relative(s.part, drawing))]),
                    )
                )
                self.added.append((drawing, s.drawing[0]))
                self.added.append(
                    (rels_name(drawing), rels_xml([("rId1", REL_CHART, relative(drawing, chart))]))
                )
                self.added.append((chart, s.drawing[1]))
                self.overrides["/" + drawing] = CT_DRAWING
                self.overrides["/" + chart] = CT_CHART
        self.replace[rels_name(self.workbook)] = self._workbook_rels()
        self.replace[self.workbook] = self._workbook_xml()
        self.replace[CONTENT_TYPES] = content_types(
            self.read(CONTENT_TYPES), self.drop, self.overrides, [n for n, _ in self.added]
        )

        added = {n for n, _ in self.added}
        self.written = sorted((set(self.replace) | added) - self.drop)
        apart = self._apart()
        check = PartChecker()  # the strict parse `verify` needs, while the parts stream
        try:
            with (
                zipfile.ZipFile(
                    target, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESSLEVEL
                ) as zout,
                tempfile.TemporaryFile() if apart else contextlib.nullcontext() as side,
            ):

                def here() -> None:
                    for info in self.infos:
                        name = info.filename
                        if name in self.drop or name in added or name == apart:
                            continue
                        if name in self.replace:
                            write_part(zout, name, self.replace[name], info, check)
                        else:
                            copy_entry(self.zin, zout, info)
                    for name, content in self.added:
                        if name != apart:
                            write_part(zout, name, self.replace.get(name, content), None, check)

                def beside() -> dict[str, str | None]:
                    if apart is None or side is None:
                        return {}
                    return write_alone(side, apart, self._content(apart))

                _, found = in_two(here, beside, fork=apart is not None)
                if apart is not None and side is not None:  # last, whoever wrote it
                    with zipfile.ZipFile(side) as alone:
                        copy_entry(alone, zout, alone.getinfo(apart))
            found.update(check.problems())
            self.checked = {n: why for n, why in found.items() if checked_part(n)}
        finally:
            check.close()

    def _apart(self) -> str | None:
        """The new sheet with the most cells, from `APART_CELLS`: written by a forked second
        process (`in_two`) while this one writes the rest, then copied in as the last entry.
        Rendering a 100,000-row sheet is a second's Python work, done on the second core."""
        big = max(self._new_sheets, key=lambda s: s.cells, default=None)
        return big.part if big is not None and big.cells >= APART_CELLS else None

    def _content(self, name: str) -> Content:
        if name in self.replace:
            return self.replace[name]
        return next(c for n, c in self.added if n == name)

    def _workbook_rels(self) -> bytes:
        name = rels_name(self.workbook)
        xml = self.read(name)
        for rel in self.rels(self.workbook):
            if rel.target in self.drop and rel.id:
                xml = re.sub(
                    rb"<"
                    + PFX
                    + rb"Relationship\b[^>]*?\bId\s*=\s*[\"']"
                    + re.escape(rel.id.encode())
                    + rb"[\"'][^>]*?/>",
                    b"",
                    xml,
                )
        used = {r.id for r in self.rels(self.workbook)}
        counter = iter(range(1, 1 << 30))

        def next_id() -> str:
            rid = next(f"rId{n}" for n in counter if f"rId{n}" not in used)
            used.add(rid)
            return rid

        items = []
        for s in self._new_sheets:
            if not s.replaced:
                s.rid = next_id()
                items.append((s.rid, REL_WORKSHEET, relative(self.workbook, s.part)))
        for rtype, part in self._extra_rels:
            items.append((next_id(), rtype, relative(self.workbook, part)))
        m = re.search(rb"<(" + PFX + rb")Relationships\b", xml)
        p = m.group(1).decode() if m else ""
        body = "".join(
            f'<{p}Relationship Id="{i}" Type="{t}" Target="{xml_attr(tg)}"/>' for i, t, tg in items
        )
        close = xml.rindex(b"</")
        return xml[:close] + body.encode() + xml[close:]

    def _workbook_xml(self) -> bytes:
        xml = shift_defined_names(self.workbook_xml, self.shifts)  # before the new filter refs
        for index, ref in self.filter_refs.items():
            xml = set_filter_database(xml, index, self.sheets[index].name, ref)
        new = [s for s in self._new_sheets if not s.replaced]
        if new:
            first = max([0, *(s.sheet_id for s in self.sheets)]) + 1
            xml = add_sheet_entries(xml, first, [(s.name, s.rid) for s in new])
        by_part = {r.part: r.index for r in self.sheets if r.part}
        marks = [by_part[s.part] for s in self._new_sheets if s.replaced and s.computed]
        marks += [i for i, s in enumerate(new, len(self.sheets)) if s.computed]
        marks = [i for i in marks if i not in self._computed_marks]
        # every sheet written whole prints its header row on each page
        titled = [(by_part[s.part], s.name) for s in self._new_sheets if s.replaced]
        titled += [(i, s.name) for i, s in enumerate(new, len(self.sheets))]
        xml = set_print_titles(xml, titled)
        if not marks:
            return xml
        root = re.search(rb"<(" + PFX + rb")workbook\b", xml)
        p = root.group(1).decode() if root else ""
        items = "".join(
            f'<{p}definedName name="{COMPUTED_MARK}" localSheetId="{i}" hidden="1">'
            f'"licreport"</{p}definedName>'
            for i in marks
        )
        return add_defined_names(xml, items.encode())
