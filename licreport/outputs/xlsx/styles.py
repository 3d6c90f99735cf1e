"""styles.xml: the formats licreport's cells use, added to (or reused from) the user's."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from defusedxml import ElementTree as SafeET

from licreport.outputs.xlsx import PatchError
from licreport.outputs.xlsx.constants import NS_MAIN
from licreport.outputs.xlsx.xmlwriter import (
    PFX,
    children,
    insert_children,
    local_name,
    xml_attr,
)

DATE_FORMAT = "yyyy-mm-dd"
# Built-in number formats: 3 '#,##0', 4 '#,##0.00', 10 '0.00%'.
INT_FMT, MONEY_FMT, PERCENT_FMT = 3, 4, 10

# ---------------------------------------------------------------- styles


_BUILTIN_DATE_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])


def is_date_format(code: str) -> bool:
    """Does a number format code show a date or time?"""
    code = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code).split(";")[0]
    return bool(re.search(r"[dmyhs]", code, re.I)) and "General" not in code


@dataclass(frozen=True)
class CellStyles:
    """cellXfs indices appended for our cells, and which indices show dates."""

    header: int
    date: int
    integer: int
    money: int
    percent: int
    date_xfs: frozenset[int]


# The children of <styleSheet> in schema order (CT_Stylesheet), and the minimal
# content of the collections a cell style needs, for a styles part that lacks them.
_STYLE_ORDER = (
    "numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles",
    "dxfs", "tableStyles", "colors", "extLst",
)  # fmt: skip
_STYLE_DEFAULTS = {  # collection -> (count, items)
    "fonts": (
        1,
        '<{p}font><{p}sz val="11"/><{p}name val="Calibri"/><{p}family val="2"/></{p}font>',
    ),
    "fills": (
        2,
        '<{p}fill><{p}patternFill patternType="none"/></{p}fill>'
        '<{p}fill><{p}patternFill patternType="gray125"/></{p}fill>',
    ),
    "borders": (
        1,
        "<{p}border><{p}left/><{p}right/><{p}top/><{p}bottom/><{p}diagonal/></{p}border>",
    ),
    "cellStyleXfs": (1, '<{p}xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'),
    "cellXfs": (1, '<{p}xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'),
    "cellStyles": (1, '<{p}cellStyle name="Normal" xfId="0" builtinId="0"/>'),
}


def _complete_styles(xml: bytes) -> bytes:
    """styles.xml with every collection a cell style points into (an empty part made whole).

    LibreOffice and Excel open a styles part without fonts or cellXfs (even an
    empty ``<styleSheet/>``) using their defaults; our cells need those
    collections, so the missing ones get the same defaults, in schema order.
    """
    root = SafeET.fromstring(xml)
    m = re.search(rb"<(" + PFX + rb")styleSheet\b[^>]*?(/?)>", xml)
    if m is None:
        raise PatchError("styles.xml has no <styleSheet>")
    prefix = m.group(1)
    p = prefix.decode()
    if m.group(2):  # <styleSheet .../>
        tag = xml[m.start() : m.end() - 2].rstrip() + b">"
        xml = xml[: m.start()] + tag + b"</" + prefix + b"styleSheet>" + xml[m.end() :]
    present = {local_name(c.tag) for c in root}
    for name, (count, items) in _STYLE_DEFAULTS.items():
        if name in present:
            continue
        element = f'<{p}{name} count="{count}">{items.format(p=p)}</{p}{name}>'.encode()
        later = _STYLE_ORDER[_STYLE_ORDER.index(name) + 1 :]
        at = None
        for follower in later:
            if follower in present:
                found = re.search(rb"<" + re.escape(prefix + follower.encode()) + rb"\b", xml)
                if found is not None:
                    at = found.start()
                    break
        if at is None:
            at = xml.rindex(b"</" + prefix + b"styleSheet")
        xml = xml[:at] + element + xml[at:]
        present.add(name)
    return xml


_ALTERNATE = re.compile(
    rb"<(" + PFX + rb")AlternateContent\b([^>]*)>(.*?)</\1AlternateContent\s*>", re.S
)
_NS_DECL = re.compile(rb"\sxmlns(?::[\w.-]+)?=(\"[^\"]*\"|'[^']*')")
_MC_NS = b"http://schemas.openxmlformats.org/markup-compatibility/2006"


def unwrap_alternate_content(xml: bytes) -> bytes:
    """styles.xml with each ``mc:AlternateContent`` replaced by its ``mc:Fallback`` element.

    Hancom Office wraps fonts and cellXfs in AlternateContent (a Choice with its own
    extensions, a plain Fallback). Excel and LibreOffice use the Fallback; calamine
    counts both branches, so every index after the first wrapper is off by one and
    dates show as numbers. Since licreport rewrites this part anyway, it keeps the
    portable branch only, and every reader counts the same items. The Hancom-only
    extension attributes of the Choice are dropped. A wrapper without a one-element
    Fallback, or a result that does not parse, leaves the part as it was.
    """

    def fallback(m: re.Match[bytes]) -> bytes:
        mc, head, body = m.group(1), m.group(2), m.group(3)
        fb = re.search(
            rb"<"
            + re.escape(mc)
            + rb"Fallback\b([^>]*)>(.*?)</"
            + re.escape(mc)
            + rb"Fallback\s*>",
            body,
            re.S,
        )
        if fb is None:
            return m.group(0)
        inner = fb.group(2).strip()
        if not re.fullmatch(rb"<([\w.:-]+)\b[^>]*?(?:/>|>.*</\1\s*>)", inner, re.S):
            return m.group(0)
        # Declarations made on the wrapper go onto the element that leaves it.
        start = re.match(rb"<[\w.:-]+", inner)
        assert start is not None
        tag_end = inner.index(b">")
        decls = b""
        for d in _NS_DECL.finditer(head + fb.group(1)):
            if _MC_NS in d.group(0):
                continue
            name = d.group(0).split(b"=", 1)[0].strip()
            if name + b"=" not in inner[:tag_end] and name + b"=" not in decls:
                decls += d.group(0)
        return inner[: start.end()] + decls + inner[start.end() :]

    if b"AlternateContent" not in xml:
        return xml
    out = _ALTERNATE.sub(fallback, xml)
    try:
        SafeET.fromstring(out)
    except Exception:  # a part we cannot simplify is kept as the user wrote it
        return xml
    return out


# Names of the built-in cell styles (ECMA-376 Part 1, 18.8.7), which Excel always writes.
_BUILTIN_STYLE_NAMES = {
    "0": "Normal", "3": "Comma", "4": "Currency", "5": "Percent", "6": "Comma [0]",
    "7": "Currency [0]", "8": "Hyperlink", "9": "Followed Hyperlink",
}  # fmt: skip
_CELL_STYLE = re.compile(rb"<(" + PFX + rb")cellStyle\b([^>]*?)(/?)>")


def name_builtin_styles(xml: bytes) -> bytes:
    """styles.xml with a nameless built-in ``cellStyle`` given its built-in name.

    The name is optional in the schema and Hancom Office leaves it out; openpyxl
    then cannot open the workbook. The name added is the one Excel shows anyway.
    """

    def named(m: re.Match[bytes]) -> bytes:
        attrs = m.group(2)
        builtin = re.search(rb'\sbuiltinId="(\d+)"', attrs)
        if re.search(rb"\sname=", attrs) or builtin is None:
            return m.group(0)
        name = _BUILTIN_STYLE_NAMES.get(builtin.group(1).decode())
        if name is None:
            return m.group(0)
        return b'<%scellStyle name="%s"%s%s>' % (m.group(1), name.encode(), attrs, m.group(3))

    return _CELL_STYLE.sub(named, xml)


def _items(root: Any, group: str, name: str) -> list[Any]:
    """The `name` elements of every `group`, one per index as Excel counts them.

    An ``mc:AlternateContent`` (Hancom Office wraps fonts and xfs in them) is one
    item: its ``mc:Fallback`` element (else its first ``mc:Choice``'s) stands for it.
    """
    out: list[Any] = []
    for g in children(root, group):
        for child in g:
            local = local_name(child.tag)
            if local == name:
                out.append(child)
            elif local == "AlternateContent":
                branches = children(child, "Fallback") + children(child, "Choice")
                inner = next((e for b in branches for e in b if local_name(e.tag) == name), None)
                if inner is not None:
                    out.append(inner)
    return out


def _shape(elem: Any) -> tuple[Any, ...]:
    """An element's attributes and children as a comparable value (prefixes and order ignored).

    Children are sorted: a font written by an older licreport (``<b/>`` first) is
    the same font as one in Excel's order.
    """
    attrs = tuple(sorted((local_name(k), v) for k, v in elem.attrib.items()))
    return (local_name(elem.tag), attrs, tuple(sorted(_shape(c) for c in elem)))


def _reuse_or_append(
    xml: bytes, prefix: bytes, group: str, existing: list[Any], wanted: list[str]
) -> tuple[bytes, list[int]]:
    """Indices of the `wanted` elements: one already in `group` is reused, the rest appended.

    A second run on its own output finds the formats the first one added, so
    styles.xml does not grow by a font and five cell formats every month.
    """
    shapes: dict[tuple[Any, ...], int] = {}
    for i, elem in enumerate(existing):
        shapes.setdefault(_shape(elem), i)
    indices, items = [], b""
    count = len(existing)
    for text in wanted:
        shape = _shape(SafeET.fromstring(_with_ns(text, prefix)))
        if shape in shapes:
            indices.append(shapes[shape])
            continue
        shapes[shape] = count
        indices.append(count)
        items += text.encode()
        count += 1
    if items:
        xml = insert_children(xml, prefix, group.encode(), items, count)
    return xml, indices


def _with_ns(text: str, prefix: bytes) -> bytes:
    """A lone element in the main namespace under `prefix`, so it parses by itself."""
    p = prefix.decode().rstrip(":")
    decl = f' xmlns:{p}="{NS_MAIN}"' if p else f' xmlns="{NS_MAIN}"'
    m = re.match(r"<([\w:.-]+)", text)
    assert m is not None
    return (text[: m.end()] + decl + text[m.end() :]).encode()


def _argb(attr: str, value: str) -> str:
    """A colour copied from the user's font, as the schema types it: ``rgb`` is 8 hex
    digits (ARGB); a 6-digit RGB, which Excel reads as opaque, gets its ``FF``."""
    if attr == "rgb" and re.fullmatch(r"[0-9A-Fa-f]{6}", value):
        return "FF" + value
    return value


def patch_styles(xml: bytes) -> tuple[bytes, CellStyles]:
    """Add a bold font, a ``yyyy-mm-dd`` format and five cellXfs to styles.xml (reused if there)."""
    xml = _complete_styles(name_builtin_styles(unwrap_alternate_content(xml)))
    root = SafeET.fromstring(xml)
    m = re.search(rb"<(" + PFX + rb")styleSheet\b", xml)
    prefix = m.group(1) if m else b""
    p = prefix.decode()

    numfmts = {}
    for nf in _items(root, "numFmts", "numFmt"):
        numfmts[int(nf.get("numFmtId", "0"))] = nf.get("formatCode", "")
    xfs = _items(root, "cellXfs", "xf")
    fonts = _items(root, "fonts", "font")

    # Bold header font: the default font with <b/>, children in the order Excel writes
    # them (CT_Font allows any order; the Open XML SDK's validator expects this one).
    font_xml = f"<{p}font><{p}b/>"
    base = {local_name(c.tag): c for c in (fonts[0] if fonts else [])}
    for name in ("sz", "color", "name", "family", "charset", "scheme"):
        if name in base:
            attrs = "".join(
                f' {local_name(k)}="{xml_attr(_argb(k, v))}"'
                for k, v in base[name].attrib.items()
                if "}" not in k
            )
            font_xml += f"<{p}{name}{attrs}/>"
    font_xml += f"</{p}font>"
    xml, (bold_font,) = _reuse_or_append(xml, prefix, "fonts", fonts, [font_xml])

    date_id = next((i for i, c in numfmts.items() if c == DATE_FORMAT), None)
    if date_id is None:
        date_id = max([163, *numfmts]) + 1
        item = f'<{p}numFmt numFmtId="{date_id}" formatCode="{DATE_FORMAT}"/>'.encode()
        if children(root, "numFmts"):
            xml = insert_children(xml, prefix, b"numFmts", item, len(numfmts) + 1)
        else:
            assert m is not None
            end = xml.index(b">", m.end())
            xml = (
                xml[: end + 1]
                + b'<%snumFmts count="1">%s</%snumFmts>' % (prefix, item, prefix)
                + xml[end + 1 :]
            )
        numfmts[date_id] = DATE_FORMAT

    rest = 'fillId="0" borderId="0" xfId="0"'
    new = [f'<{p}xf numFmtId="0" fontId="{bold_font}" {rest} applyFont="1"/>'] + [
        f'<{p}xf numFmtId="{fid}" fontId="0" {rest} applyNumberFormat="1"/>'
        for fid in (date_id, INT_FMT, MONEY_FMT, PERCENT_FMT)
    ]
    xml, (header, date, integer, money, percent) = _reuse_or_append(
        xml, prefix, "cellXfs", xfs, new
    )

    date_xfs = set()
    for i, xf in enumerate(xfs):
        fid = int(xf.get("numFmtId", "0") or 0)
        if fid in _BUILTIN_DATE_IDS or (fid in numfmts and is_date_format(numfmts[fid])):
            date_xfs.add(i)
    date_xfs.add(date)
    styles = CellStyles(header, date, integer, money, percent, frozenset(date_xfs))
    return xml, styles


MINIMAL_STYLES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<styleSheet xmlns="' + NS_MAIN.encode() + b'">'
    b'<fonts count="1"><font><sz val="11"/><color theme="1"/><name val="Calibri"/>'
    b'<family val="2"/><scheme val="minor"/></font></fonts>'
    b'<fills count="2"><fill><patternFill patternType="none"/></fill>'
    b'<fill><patternFill patternType="gray125"/></fill></fills>'
    b'<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    b'<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    b'<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    b'<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    b'<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium9" '
    b'defaultPivotStyle="PivotStyleLight16"/></styleSheet>'
)
