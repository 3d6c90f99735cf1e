"""Regenerate the deliberately broken ledgers in this folder (deterministic bytes).

Run ``python sample_data/broken/make_broken.py``.  The workbooks are written part by
part with fixed zip timestamps (openpyxl would stamp the current time), so running
it twice gives identical files.  The tests import the builders below as well.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
EPOCH = (1980, 1, 1, 0, 0, 0)
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
SHEET_TYPE = f"{REL_NS}/worksheet"
OLE2 = bytes.fromhex("D0CF11E0A1B11AE1")

# Style 1 is a date (numFmt 14), so date cells read back as dates.
STYLES = (
    f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{MAIN_NS}">'
    '<fonts count="1"><font/></fonts><fills count="1"><fill/></fills>'
    '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs>'
    "</styleSheet>"
)


class Raw(str):
    """A cell given as its own ``<c>`` XML (``{ref}`` is replaced by the cell address)."""


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_xml(ref: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, Raw):
        return value.replace("{ref}", ref)
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    if isinstance(value, dt.date):
        serial = (value - dt.date(1899, 12, 30)).days
        return f'<c r="{ref}" s="1"><v>{serial}</v></c>'
    text = escape(str(value))
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def sheet_xml(rows: Iterable[Iterable[Any]], prolog: str = "") -> str:
    """A worksheet part; `prolog` goes between the XML declaration and the root."""
    out = []
    for i, row in enumerate(rows, start=1):
        cells = "".join(cell_xml(f"{column_letter(j)}{i}", v) for j, v in enumerate(row))
        if cells:
            out.append(f'<row r="{i}">{cells}</row>')
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet xmlns="{MAIN_NS}">'
        f"<sheetData>{''.join(out)}</sheetData></worksheet>"
    )


def workbook_parts(sheets: dict[str, str], date1904: bool = False) -> dict[str, str]:
    """Every part of a minimal workbook whose sheets have the given worksheet XML."""
    pr = '<workbookPr date1904="1"/>' if date1904 else ""
    names = list(sheets)
    parts = {
        "[Content_Types].xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{CT_NS}">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{k}.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                for k in range(1, len(names) + 1)
            )
            + '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_NS}">'
            f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN_NS}" '
            f'xmlns:r="{REL_NS}">{pr}<sheets>'
            + "".join(
                f'<sheet name="{escape(n)}" sheetId="{k}" r:id="rId{k}"/>'
                for k, n in enumerate(names, start=1)
            )
            + "</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_NS}">'
            + "".join(
                f'<Relationship Id="rId{k}" Type="{SHEET_TYPE}" Target="worksheets/sheet{k}.xml"/>'
                for k in range(1, len(names) + 1)
            )
            + f'<Relationship Id="rId{len(names) + 1}" Type="{REL_NS}/styles" '
            'Target="styles.xml"/></Relationships>'
        ),
        "xl/styles.xml": STYLES,
    }
    for k, n in enumerate(names, start=1):
        parts[f"xl/worksheets/sheet{k}.xml"] = sheets[n]
    return parts


def write_parts(path: Path, parts: dict[str, str | bytes]) -> Path:
    """A zip with fixed timestamps, parts in the given order."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data.encode() if isinstance(data, str) else data)
    return path


def write_workbook(
    path: Path, sheets: dict[str, list[list[Any]] | str], date1904: bool = False
) -> Path:
    """A workbook from rows (lists of cell values) or ready worksheet XML per sheet."""
    xml = {n: s if isinstance(s, str) else sheet_xml(s) for n, s in sheets.items()}
    return write_parts(path, dict(workbook_parts(xml, date1904)))


def write_zip_bomb(path: Path, sheets: dict[str, list[list[Any]]], zeros: int) -> Path:
    """A workbook with an extra part of `zeros` zero bytes, streamed so it is never in memory."""
    write_workbook(path, sheets)  # type: ignore[arg-type]
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        info = zipfile.ZipInfo("xl/media/padding.xml", EPOCH)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as out:
            block = bytes(1024 * 1024)
            left = zeros
            while left > 0:
                out.write(block[: min(left, len(block))])
                left -= len(block)
    return path


def write_ole2(path: Path, encrypted: bool) -> Path:
    """The first bytes of an OLE2 compound file; with the stream name Excel uses for encryption."""
    header = OLE2 + bytes(504)
    directory = (
        "EncryptedPackage".encode("utf-16-le") if encrypted else "Workbook".encode("utf-16-le")
    )
    path.write_bytes(header + directory.ljust(512, b"\0") + bytes(1024))
    return path


PARTNERS = [["partner", "name", "provider"], ["P1", "Acme IT", "WatchGuard"]]
PRODUCTS = [
    ["product", "name", "family", "main_product", "points_per_licence", "trial_days"],
    ["AD360", "Adaptive Defense 360", "EDR", None, 3, 30],
    ["PAT", "Patch Management", "PAT", "AD360", 1, None],
]
CLIENT_HEADER = ["partner", "client", "client_name", "product", "term", "licences", "start"]


def clients(*rows: list[Any]) -> list[list[Any]]:
    return [CLIENT_HEADER, *[list(r) for r in rows]]


ENTITY_BOMB = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
)
FORMULA = '<c r="{ref}"><f>SUM(A1:A2)</f></c>'  # a formula saved without its value
EXTERNAL_ENTITY = '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def main(out: Path = HERE) -> list[Path]:
    """Write every broken fixture into `out`; returns the paths written."""
    good_client = ["P1", "C001", "Alpha Ltd", "AD360", "1", 10, dt.date(2026, 1, 5)]
    written = [
        write_workbook(
            out / "bad-values.xlsx",
            {
                "Partners": [*PARTNERS, ["P2", "Beta MSP", "Panda"]],
                "Products": PRODUCTS,
                "Clients": clients(
                    good_client,
                    ["P1", "C002", "Beta Ltd", "AD360", "1", "ten", dt.date(2026, 1, 5)],
                    ["P1", "C003", "Gamma Ltd", "AD360", "4", 5, "31/12/2026"],
                    [None, "C004", "Delta Ltd", "AD360", "monthly", 2.5, "2026-02-30"],
                ),
            },
        ),
        write_workbook(
            out / "missing-sheet.xlsx", {"Partners": PARTNERS, "Clients": clients(good_client)}
        ),
        write_workbook(
            out / "missing-column.xlsx",
            {
                "Partners": PARTNERS,
                "Products": PRODUCTS,
                "Clients": [
                    ["partner", "client", "product", "term", "start"],
                    ["P1", "C001", "AD360", "1", dt.date(2026, 1, 5)],
                ],
            },
        ),
        write_workbook(
            out / "duplicate-headers.xlsx",
            {
                "Partners": PARTNERS,
                "Products": PRODUCTS,
                "Clients": [[*CLIENT_HEADER, "Licenses"], [*good_client, 12]],
            },
        ),
        write_workbook(
            out / "far-cell.xlsx",
            {
                "Partners": PARTNERS,
                "Products": PRODUCTS,
                "Clients": sheet_xml(clients(good_client)).replace(
                    "</sheetData>",
                    '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>',
                ),
            },
        ),
        write_workbook(
            out / "formula-no-cache.xlsx",
            {
                "Partners": PARTNERS,
                "Products": PRODUCTS,
                "Clients": [
                    *clients(*[good_client] * 5),
                    [
                        "P1",
                        "C009",
                        "Iota Ltd",
                        "AD360",
                        "1",
                        Raw('<c r="{ref}"><f>SUM(A1:A2)</f></c>'),
                    ],
                ],
            },
        ),
        write_workbook(
            out / "entity-bomb.xlsx",
            {
                "Partners": PARTNERS,
                "Products": PRODUCTS,
                "Clients": sheet_xml(clients(good_client), prolog=ENTITY_BOMB),
            },
        ),
        write_workbook(
            out / "external-entity.xlsx",
            {
                "Partners": PARTNERS,
                "Products": PRODUCTS,
                "Clients": sheet_xml(clients(good_client), prolog=EXTERNAL_ENTITY),
            },
        ),
        write_zip_bomb(
            out / "zip-bomb.xlsx", {"Partners": PARTNERS, "Products": PRODUCTS}, 50 * 1024 * 1024
        ),
        write_ole2(out / "legacy.xls", encrypted=False),
        write_ole2(out / "encrypted.xlsx", encrypted=True),
    ]
    full = write_workbook(
        out / "truncated.xlsx",
        {"Partners": PARTNERS, "Products": PRODUCTS, "Clients": clients(good_client)},
    )
    data = full.read_bytes()
    full.write_bytes(data[: len(data) // 2])
    empty = out / "empty.xlsx"
    empty.write_bytes(b"")
    text = out / "not-a-workbook.xlsx"
    text.write_bytes(b"partner,name,provider\nP1,Acme IT,WatchGuard\n")
    return [*written, full, empty, text]


if __name__ == "__main__":
    for p in main():
        print(p.relative_to(HERE.parent.parent))
