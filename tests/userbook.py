"""A "user's case": the sample ledger's sheets pasted into a real-world workbook.

Built at zip level, not with openpyxl: openpyxl would rewrite the very parts under
test (styles wrapped in ``mc:AlternateContent``, a missing or empty styles part,
``.rels`` typed by Override, the workbook part at the package root, the 1904 date
system).  The pasted sheets are plain cells: text as inline strings, numbers as
numbers and dates as bare serials in the workbook's own date system, so every part
of the real workbook stays byte for byte what it was, except the workbook, its
relationships and the content types, which gain one entry per sheet.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import openpyxl
from defusedxml import ElementTree as SafeET

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "ledger.xlsx"
REALWORLD = Path(__file__).resolve().parent / "fixtures" / "realworld"
LEDGER_SHEETS = ("Partners", "Products", "Discounts", "Pool", "Clients", "Exchanges", "Renewals")
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
STRICT_MAIN = "http://purl.oclc.org/ooxml/spreadsheetml/main"
STRICT_R = "http://purl.oclc.org/ooxml/officeDocument/relationships"
TRANS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def sample_rows() -> dict[str, list[list[Any]]]:
    """The sample ledger's sheets as values (dates as `datetime`)."""
    wb = openpyxl.load_workbook(SAMPLE)
    return {name: [list(r) for r in wb[name].iter_rows(values_only=True)] for name in LEDGER_SHEETS}


def _letter(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        out = chr(65 + rem) + out
    return out


def _cell(ref: str, v: Any, date1904: bool, p: str) -> str:
    if v is None:
        return ""
    if isinstance(v, (dt.date, dt.datetime)):
        day = v.date() if isinstance(v, dt.datetime) else v
        epoch = dt.date(1904, 1, 1) if date1904 else dt.date(1899, 12, 30)
        return f'<{p}c r="{ref}"><{p}v>{(day - epoch).days}</{p}v></{p}c>'
    if isinstance(v, bool):
        return f'<{p}c r="{ref}" t="b"><{p}v>{int(v)}</{p}v></{p}c>'
    if isinstance(v, (int, float)):
        return f'<{p}c r="{ref}"><{p}v>{v}</{p}v></{p}c>'
    text = escape(str(v))
    return f'<{p}c r="{ref}" t="inlineStr"><{p}is><{p}t>{text}</{p}t></{p}is></{p}c>'


def sheet_xml(rows: list[list[Any]], main_ns: str, date1904: bool) -> bytes:
    body = "".join(
        f'<row r="{r}">'
        + "".join(_cell(f"{_letter(c)}{r}", v, date1904, "") for c, v in enumerate(row))
        + "</row>"
        for r, row in enumerate(rows, 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{main_ns}"><sheetData>{body}</sheetData></worksheet>'
    ).encode()


def workbook_part(z: zipfile.ZipFile) -> str:
    root = SafeET.fromstring(z.read("_rels/.rels"))
    for rel in root:
        if rel.get("Type", "").endswith("/officeDocument"):
            return rel.get("Target", "").lstrip("/")
    raise AssertionError("no officeDocument relationship")


def rels_of(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


def paste_ledger(real: Path, out: Path, sheets: dict[str, list[list[Any]]] | None = None) -> Path:
    """`real` with the sample's ledger sheets (or `sheets`) added after its own sheets."""
    sheets = sheets if sheets is not None else sample_rows()
    with zipfile.ZipFile(real) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
        infos = z.infolist()
        wb_part = workbook_part(z)
    wb_xml = parts[wb_part]
    root = SafeET.fromstring(wb_xml)
    main_ns = root.tag[1:].split("}")[0]
    r_ns = STRICT_R if main_ns == STRICT_MAIN else TRANS_R
    date1904 = bool(re.search(rb'date1904\s*=\s*"(1|true)"', wb_xml))
    m = re.search(rb"<([\w.-]+:)?workbook\b", wb_xml)
    p = (m.group(1) or b"").decode() if m else ""
    root_tag = wb_xml[m.start() : wb_xml.index(b">", m.start())] if m else b""
    decl = re.search(rb"xmlns:([\w.-]+)\s*=\s*\"" + re.escape(r_ns.encode()) + rb"\"", root_tag)
    rp, local = (decl.group(1).decode(), "") if decl else ("lr", f' xmlns:lr="{r_ns}"')
    sheet_ids = [int(x) for x in re.findall(rb'sheetId\s*=\s*"(\d+)"', wb_xml)]
    wb_rels = rels_of(wb_part)
    rels = parts[wb_rels]
    folder = posixpath.dirname(wb_part)
    new_sheets, new_rels, overrides = [], [], []
    for k, (name, rows) in enumerate(sheets.items(), 1):
        part = posixpath.join(folder, "worksheets", f"pasted{k}.xml")
        parts[part] = sheet_xml(rows, main_ns, date1904)
        rid = f"rIdPasted{k}"
        target = posixpath.relpath(part, folder or ".")
        new_rels.append(f'<Relationship Id="{rid}" Type="{r_ns}/worksheet" Target="{target}"/>')
        sid = max([0, *sheet_ids]) + k
        new_sheets.append(
            f'<{p}sheet{local} name={quoteattr(name)} sheetId="{sid}" {rp}:id="{rid}"/>'
        )
        overrides.append(f'<Override PartName="/{part}" ContentType="{CT_WORKSHEET}"/>')
    close = wb_xml.index(f"</{p}sheets>".encode())
    parts[wb_part] = wb_xml[:close] + "".join(new_sheets).encode() + wb_xml[close:]
    close = rels.rindex(b"</")
    parts[wb_rels] = rels[:close] + "".join(new_rels).encode() + rels[close:]
    ct = parts["[Content_Types].xml"]
    close = ct.rindex(b"</")
    parts["[Content_Types].xml"] = ct[:close] + "".join(overrides).encode() + ct[close:]
    order = [i.filename for i in infos] + [n for n in parts if n not in {i.filename for i in infos}]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in order:
            zout.writestr(name, parts[name])
    return out
