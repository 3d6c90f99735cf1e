"""XML text for parts we write or edit: escaping, attributes, elements, strict checking.

The role of XlsxWriter's ``xmlwriter.py``: every string that goes into a part
we write passes `xml_text` or `xml_attr`."""

from __future__ import annotations

import re
import zipfile
from typing import Any
from xml.parsers import expat

from licreport.outputs.xlsx import PatchError, constants
from licreport.outputs.xlsx.constants import CONTENT_TYPES

PFX = rb"(?:[A-Za-z_][\w.-]*:)?"  # an optional namespace prefix in a tag name


# ---------------------------------------------------------------- cell text


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")


def _bad_char(m: re.Match[str]) -> str:
    ch = m.group()
    return "_x005F_" if ch == "_" else f"_x{ord(ch):04X}_"


NEEDS_ESCAPE = re.compile("[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x")


def xml_text(value: str) -> str:
    """Escape text for an element body; control characters as Excel's ``_xHHHH_``."""
    if not NEEDS_ESCAPE.search(value):
        return value
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if _XML_BAD.search(value):
        value = _XML_BAD.sub(_bad_char, value)
    return value


def xml_attr(value: str) -> str:
    """Escape text for a double-quoted attribute value."""
    value = xml_text(value)
    return value.replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


def get_attr(attrs: bytes, name: bytes) -> bytes | None:
    """The value of attribute `name` in a start tag's attribute text."""
    m = re.search(rb"(?<![\w:])" + name + rb"\s*=\s*[\"']([^\"']*)[\"']", attrs)
    return m.group(1) if m else None


def set_attr(attrs: bytes, name: bytes, value: bytes) -> bytes:
    pattern = rb"((?<![\w:])" + name + rb"\s*=\s*[\"'])[^\"']*([\"'])"
    return re.sub(pattern, lambda m: m.group(1) + value + m.group(2), attrs, count=1)


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def children(elem: Any, name: str) -> list[Any]:
    return [c for c in elem if local_name(c.tag) == name]


def insert_children(xml: bytes, prefix: bytes, name: bytes, items: bytes, count: int) -> bytes:
    """Append `items` inside ``<name>`` (made if self-closing) and set its ``count``."""
    open_re = re.compile(rb"<" + re.escape(prefix + name) + rb"\b([^>]*?)(/?)>")
    m = open_re.search(xml)
    if m is None:
        raise PatchError(f"styles: no <{name.decode()}> element")
    attrs = re.sub(rb"\s(?<![\w:])count\s*=\s*[\"'][^\"']*[\"']", b"", m.group(1))
    start = b"<" + prefix + name + attrs + b' count="%d">' % count
    if m.group(2):
        return xml[: m.start()] + start + items + b"</" + prefix + name + b">" + xml[m.end() :]
    close = xml.index(b"</" + prefix + name, m.end())
    return xml[: m.start()] + start + xml[m.end() : close] + items + xml[close:]


def root_tag(xml: bytes) -> bytes:
    """The start tag of the document element (after the XML declaration and comments)."""
    m = re.search(rb"<[A-Za-z_]", xml)
    if m is None:
        raise PatchError("a part has no document element")
    return xml[m.start() : xml.index(b">", m.start())]


def prefix_for(xml: bytes, namespace: str, fallback: str) -> tuple[str, str]:
    """(prefix, declaration) for attributes in `namespace` on a new child of the root.

    Only a declaration on the document element is in scope everywhere: openpyxl
    with lxml declares ``xmlns:r`` on each ``<sheet>`` instead, and using that
    ``r:`` elsewhere leaves an unbound prefix.  Without one on the root, the new
    element declares its own (the second item, to put in its start tag).
    """
    decl = re.search(
        rb"xmlns:([\w.-]+)\s*=\s*[\"']" + re.escape(namespace.encode()) + rb"[\"']",
        root_tag(xml),
    )
    if decl is not None:
        return decl.group(1).decode(), ""
    return fallback, f' xmlns:{fallback}="{namespace}"'


# ---------------------------------------------------------------- checking what we wrote


class _Refused(Exception):
    pass


def _refuse(*_: Any) -> Any:
    raise _Refused


def check_xml(z: zipfile.ZipFile, name: str) -> None:
    """Parse one part of a written package strictly (well-formed, every prefix bound).

    Streamed through expat with namespace processing and no tree, so a 100,000-row
    sheet costs no memory; DTDs and entity declarations are refused as defusedxml
    does (its parsers build a tree, hence expat directly).  Non-XML parts pass.
    """
    if not name.lower().endswith((".xml", ".rels", ".vml")) and name != CONTENT_TYPES:
        return
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    try:
        with z.open(name) as fp:
            while chunk := fp.read(constants.CHUNK):
                parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise PatchError(
            f"the written workbook's part {name} is not well-formed XML "
            f"({expat.ErrorString(exc.code)}, line {exc.lineno}); nothing was written. "
            "This is a bug: please report it with the input workbook"
        ) from None
    except _Refused:
        raise PatchError(f"the written workbook's part {name} declares a DTD or entities") from None
