"""Tables (ListObjects) on a sheet the appender rewrites: removed rows out, grown to cover
the new rows and columns (their ``ref``, autofilter, sort state and columns)."""

from __future__ import annotations

import re

from defusedxml import ElementTree as SafeET

from licreport.outputs.xlsx.appender import (
    AUTOFILTER_RE,
    SORTSTATE_RE,
    SheetAppender,
)
from licreport.outputs.xlsx.constants import REL_TABLE
from licreport.outputs.xlsx.utility import parse_ref
from licreport.outputs.xlsx.xmlwriter import PFX, children, insert_children, xml_attr


def table_edits(app: SheetAppender) -> dict[str, bytes]:
    """Tables (ListObjects) on the sheet: removed rows out, grown to cover the new rows."""
    out: dict[str, bytes] = {}
    if app.n == 0 and not app.rows:
        return out
    for rel in app.pkg.rels(app.part):
        if rel.type != REL_TABLE or rel.external or rel.target not in app.pkg.names:
            continue
        xml = app.pkg.read(rel.target)
        root = SafeET.fromstring(xml)
        ref = root.get("ref", "")
        # A table with a totals row or no header row moves but does not grow.
        headed = root.get("headerRowCount", "1") != "0"
        fixed = bool(int(root.get("totalsRowCount", "0") or 0)) or not headed
        if fixed and not app.rows:
            continue
        new_ref = app.extend(ref, grow=not fixed, header=headed)
        if new_ref == ref:
            continue
        old, new = parse_ref(ref), parse_ref(new_ref)
        assert old is not None and new is not None
        m = re.search(rb"<(" + PFX + rb")table\b", xml)
        p = m.group(1) if m else b""
        table_re = re.compile(rb"(<" + re.escape(p) + rb"table\b[^>]*?\bref\s*=\s*[\"'])([^\"']*)")
        xml = set_ref(xml, table_re, new_ref)
        if fixed:
            filtered = AUTOFILTER_RE.search(xml)
            if filtered is not None:
                moved = app.extend(filtered.group(2).decode(), grow=False, header=headed)
                xml = set_ref(xml, AUTOFILTER_RE, moved)
        else:
            xml = set_ref(xml, AUTOFILTER_RE, new_ref)
        if app.rows:
            sort = SORTSTATE_RE.search(xml)
            sorted_ref = app.rows.ref(sort.group(2).decode()) if sort is not None else None
            if sorted_ref is not None:
                xml = set_ref(xml, SORTSTATE_RE, sorted_ref)
        if new[2] > old[2]:
            cols = [c for g in children(root, "tableColumns") for c in children(g, "tableColumn")]
            next_id = max([0, *(int(c.get("id", "0")) for c in cols)]) + 1
            items = b""
            for idx in range(old[2] + 1, new[2] + 1):
                name = next(c.name for i, c, _ in app.columns if i == idx)
                items += b'<%stableColumn id="%d" name="%s"/>' % (
                    p,
                    next_id,
                    xml_attr(name).encode(),
                )
                next_id += 1
            xml = insert_children(xml, p, b"tableColumns", items, len(cols) + new[2] - old[2])
        out[rel.target] = xml
    return out


def set_ref(xml: bytes, pattern: re.Pattern[bytes], ref: str) -> bytes:
    """`xml` with group 2 of the first match of `pattern` (a ``ref`` value) set to `ref`."""
    m = pattern.search(xml)
    return xml if m is None else xml[: m.start(2)] + ref.encode() + xml[m.end(2) :]
