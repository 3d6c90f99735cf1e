"""Package parts: relationships, content types, workbook.xml edits, the empty package."""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from defusedxml import ElementTree as SafeET

from licreport.outputs.xlsx import PatchError
from licreport.outputs.xlsx.constants import (
    CONTENT_TYPES,
    CT_RELS,
    CT_STYLES,
    CT_THEME,
    NS_CT,
    NS_MAIN,
    NS_PKG_REL,
    NS_R,
    REL_DOC,
    REL_STYLES,
    REL_THEME,
)
from licreport.outputs.xlsx.styles import MINIMAL_STYLES
from licreport.outputs.xlsx.utility import absolute_ref, quote_sheetname
from licreport.outputs.xlsx.xmlwriter import (
    PFX,
    children,
    get_attr,
    local_name,
    prefix_for,
    xml_attr,
    xml_text,
)
from licreport.outputs.xlsx.zipcopy import FIXED_TIME

CT_BY_EXTENSION = {"rels": CT_RELS, "xml": "application/xml"}  # for parts no Default types


# ---------------------------------------------------------------- the package


@dataclass(frozen=True)
class Rel:
    id: str
    type: str
    target: str  # the resolved part name (raw target when external)
    external: bool = False


def rels_name(part: str) -> str:
    """The relationships part of `part` (``""`` is the package root)."""
    if part == "":
        return "_rels/.rels"
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


def resolve(source: str, target: str) -> str:
    target = unquote(target)
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def relative(source: str, part: str) -> str:
    return posixpath.relpath(part, posixpath.dirname(source) or ".")


def set_filter_database(xml: bytes, index: int, sheet: str, ref: str) -> bytes:
    """Point the hidden ``_xlnm._FilterDatabase`` name of sheet `index` at `ref`."""
    pattern = re.compile(
        rb"(<" + PFX + rb"definedName\b[^>]*?>)(.*?)(</" + PFX + rb"definedName\s*>)",
        re.S,
    )

    def fix(m: re.Match[bytes]) -> bytes:
        tag = m.group(1)
        if b"_xlnm._FilterDatabase" not in tag:
            return m.group(0)
        local = re.search(rb"localSheetId\s*=\s*[\"'](\d+)[\"']", tag)
        if local is None or int(local.group(1)) != index:
            return m.group(0)
        return tag + xml_text(absolute_ref(sheet, ref)).encode() + m.group(3)

    return pattern.sub(fix, xml)


def rels_xml(items: Sequence[tuple[str, str, str]]) -> bytes:
    body = "".join(
        f'<Relationship Id="{i}" Type="{t}" Target="{xml_attr(tg)}"/>' for i, t, tg in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Relationships xmlns="{NS_PKG_REL}">{body}</Relationships>'
    ).encode()


# licreport's computed sheets carry a hidden sheet-scoped defined name: it follows
# the sheet when the user moves, renames or copies it, survives edits of the
# cells, and goes when the sheet is deleted -- so a sheet the user makes and
# names Status never has it.  (Excel, LibreOffice and openpyxl keep such names.)
COMPUTED_MARK = "_licreport_computed"


def computed_marks(workbook_xml: bytes) -> frozenset[int]:
    """Indices (``localSheetId``) of the sheets carrying `COMPUTED_MARK`."""
    root = SafeET.fromstring(workbook_xml)
    out = set()
    for group in children(root, "definedNames"):
        for name in children(group, "definedName"):
            local = name.get("localSheetId", "")
            if name.get("name", "").casefold() == COMPUTED_MARK and local.isdigit():
                out.add(int(local))
    return frozenset(out)


# What may follow <definedNames> in a workbook (CT_Workbook's sequence).
_AFTER_DEFINED_NAMES = (
    "calcPr", "oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes",
    "webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst",
)  # fmt: skip


def add_defined_names(xml: bytes, items: bytes) -> bytes:
    """`xml` (workbook.xml) with `items` (``<definedName>`` elements) in ``<definedNames>``."""
    m = re.search(rb"<(" + PFX + rb")definedNames\b[^>]*?(/?)>", xml)
    if m is not None:
        p = m.group(1)
        if m.group(2):
            tag = xml[m.start() : m.end() - 2].rstrip() + b">"
            return xml[: m.start()] + tag + items + b"</" + p + b"definedNames>" + xml[m.end() :]
        close = xml.index(b"</" + p + b"definedNames", m.end())
        return xml[:close] + items + xml[close:]
    root = re.search(rb"<(" + PFX + rb")workbook\b", xml)
    p = root.group(1) if root else b""
    at = None
    for name in _AFTER_DEFINED_NAMES:
        found = re.search(rb"<" + re.escape(p + name.encode()) + rb"[\s/>]", xml)
        if found is not None:
            at = found.start() if at is None else min(at, found.start())
    if at is None:
        at = xml.rindex(b"</" + p + b"workbook")
    return xml[:at] + b"<%sdefinedNames>%s</%sdefinedNames>" % (p, items, p) + xml[at:]


def is_date1904(workbook_xml: bytes) -> bool:
    """Does the workbook count dates from 1904 (``<workbookPr date1904="1">``)?"""
    root = SafeET.fromstring(workbook_xml)
    pr = next((c for c in root if local_name(c.tag) == "workbookPr"), None)
    return pr is not None and pr.get("date1904", "0").strip().lower() in ("1", "true")


def empty_package() -> bytes:
    """A workbook with no sheets yet (the base the CSV path adds every sheet to)."""
    import io

    from openpyxl.writer.theme import theme_xml  # here: openpyxl is 0.1 s to import

    buf = io.BytesIO()
    parts = {
        CONTENT_TYPES: (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Types xmlns="{NS_CT}">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{CT_STYLES}"/>'
            f'<Override PartName="/xl/theme/theme1.xml" ContentType="{CT_THEME}"/>'
            "</Types>"
        ).encode(),
        "_rels/.rels": rels_xml([("rId1", REL_DOC, "xl/workbook.xml")]),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook xmlns="{NS_MAIN}" xmlns:r="{NS_R}">'
            '<bookViews><workbookView xWindow="240" yWindow="15" windowWidth="16095" '
            'windowHeight="9660"/>'
            '</bookViews><sheets></sheets><calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": rels_xml(
            [("rId1", REL_STYLES, "styles.xml"), ("rId2", REL_THEME, "theme/theme1.xml")]
        ),
        "xl/styles.xml": MINIMAL_STYLES,
        # The default Office theme, which the styles' "minor" font scheme refers to (and
        # which the Open XML SDK requires); openpyxl's copy of it, not ours to maintain.
        "xl/theme/theme1.xml": theme_xml.encode(),
    }
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(zipfile.ZipInfo(name, FIXED_TIME), data)
    return buf.getvalue()


def add_sheet_entries(xml: bytes, first_id: int, sheets: Sequence[tuple[str, str]]) -> bytes:
    """workbook.xml with a ``<sheet>`` for each (name, relationship id) at the end of
    ``<sheets>``, numbered from `first_id`."""
    m = re.search(rb"<(" + PFX + rb")sheets\b[^>]*?(/?)>", xml)
    if m is None:
        raise PatchError("workbook.xml has no <sheets>")
    p = m.group(1)
    rp, local = prefix_for(xml, NS_R, "r")
    items = []
    for sheet_id, (name, rid) in enumerate(sheets, first_id):
        attrs = f'name="{xml_attr(name)}" sheetId="{sheet_id}" {rp}:id="{rid}"'
        items.append(f"<{p.decode()}sheet{local} {attrs}/>")
    body = "".join(items).encode()
    if m.group(2):
        return xml[: m.start()] + b"<%ssheets>%s</%ssheets>" % (p, body, p) + xml[m.end() :]
    close = xml.index(b"</" + p + b"sheets", m.end())
    return xml[:close] + body + xml[close:]


def content_types(
    xml: bytes, drop: Iterable[str], overrides: Mapping[str, str], added: Sequence[str]
) -> bytes:
    """[Content_Types].xml without the `drop`ped parts' Overrides, with the new `overrides`,
    and an Override for each `added` part whose extension has no Default.

    Packages written by LibreOffice 3-5 (and some Excel builds) type each
    ``.rels`` part by an Override and have no ``Default Extension="rels"``.
    """
    root = SafeET.fromstring(xml)
    existing = {o.get("PartName", "").lower() for o in root if local_name(o.tag) == "Override"}
    for part in drop:
        xml = re.sub(
            rb"<"
            + PFX
            + rb"Override\b[^>]*?\bPartName\s*=\s*[\"']/"
            + re.escape(part.encode())
            + rb"[\"'][^>]*?/>",
            b"",
            xml,
            flags=re.I,
        )
    m = re.search(rb"<(" + PFX + rb")Types\b", xml)
    p = m.group(1).decode() if m else ""
    defaults = {d.get("Extension", "").lower() for d in root if local_name(d.tag) == "Default"}
    untyped = {}
    for name in added:
        ext = name.rsplit(".", 1)[-1].lower()
        if "/" + name not in overrides and ext not in defaults and ext in CT_BY_EXTENSION:
            untyped["/" + name] = CT_BY_EXTENSION[ext]
    body = "".join(
        f'<{p}Override PartName="{xml_attr(name)}" ContentType="{ct}"/>'
        for name, ct in {**overrides, **untyped}.items()
        if name.lower() not in existing
    )
    close = xml.rindex(b"</")
    return xml[:close] + body.encode() + xml[close:]


PRINT_TITLES = "_xlnm.Print_Titles"


def set_print_titles(xml: bytes, sheets: Sequence[tuple[int, str]]) -> bytes:
    """workbook.xml with row 1 of each (index, name) sheet printed on every page: its
    ``_xlnm.Print_Titles`` name replaced by ``'Name'!$1:$1``."""
    if not sheets:
        return xml
    indices = {i for i, _ in sheets}
    pattern = re.compile(
        rb"<" + PFX + rb"definedName\b([^>]*?)(?:/>|>.*?</" + PFX + rb"definedName\s*>)", re.S
    )

    def drop(m: re.Match[bytes]) -> bytes:
        name, local = get_attr(m.group(1), b"name"), get_attr(m.group(1), b"localSheetId")
        if name == PRINT_TITLES.encode() and local is not None and local.isdigit():
            return b"" if int(local) in indices else m.group(0)
        return m.group(0)

    xml = pattern.sub(drop, xml)
    root = re.search(rb"<(" + PFX + rb")workbook\b", xml)
    p = root.group(1).decode() if root else ""
    items = "".join(
        f'<{p}definedName name="{PRINT_TITLES}" localSheetId="{i}">'
        f"{xml_text(quote_sheetname(name))}!$1:$1</{p}definedName>"
        for i, name in sorted(sheets)
    )
    return add_defined_names(xml, items.encode())
