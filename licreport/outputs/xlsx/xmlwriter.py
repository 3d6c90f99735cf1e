"""XML text for parts we write or edit: escaping, attributes, elements, strict checking.

The role of XlsxWriter's ``xmlwriter.py``: every string that goes into a part
we write passes `xml_text` or `xml_attr`."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
import zipfile
from typing import IO, Any
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
_ESCAPED_CHAR = re.compile("[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]")


def needs_escape(text: str) -> bool:
    """Whether `NEEDS_ESCAPE` finds something in `text` (else `xml_text` leaves it as it
    is), for a long text (a column's texts joined): the character class and the ``_x``
    searched apart take half the time of the one pattern."""
    return "_x" in text or _ESCAPED_CHAR.search(text) is not None


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


def checked_part(name: str) -> bool:
    """Whether `check_xml` parses the part `name` (XML parts; images and the like pass)."""
    return name.lower().endswith((".xml", ".rels", ".vml")) or name == CONTENT_TYPES


def _strict_parser() -> Any:
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    return parser


def _problem(name: str, exc: BaseException) -> str:
    """The message of the `PatchError` for a part that failed the strict parse."""
    if isinstance(exc, expat.ExpatError):
        return _not_well_formed(name, expat.ErrorString(exc.code), exc.lineno)
    return f"the written workbook's part {name} declares a DTD or entities"


def _not_well_formed(name: str, why: str | None, line: int) -> str:
    return (
        f"the written workbook's part {name} is not well-formed XML "
        f"({why}, line {line}); nothing was written. "
        "This is a bug: please report it with the input workbook"
    )


def check_xml(z: zipfile.ZipFile, name: str) -> None:
    """Parse one part of a written package strictly (well-formed, every prefix bound).

    Streamed through expat with namespace processing and no tree, so a 100,000-row
    sheet costs no memory; DTDs and entity declarations are refused as defusedxml
    does (its parsers build a tree, hence expat directly).  Non-XML parts pass.
    """
    if not checked_part(name):
        return
    parser = _strict_parser()
    try:
        with z.open(name) as fp:
            while chunk := fp.read(constants.CHUNK):
                parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except (expat.ExpatError, _Refused) as exc:
        raise PatchError(_problem(name, exc)) from None


# The same strict parse in a second process, fed the parts' bytes through a pipe as they
# are written: frames of a kind byte (B: a part begins, its name follows; C: a chunk of it;
# E: it ends) and a little-endian length.  At the end of its input it prints, as JSON,
# every part it parsed and the problem found (null: none).  Standard library only.
_CHILD = r"""
import json, struct, sys
from xml.parsers import expat

class Refused(Exception):
    pass

def refuse(*_):
    raise Refused

def parser():
    p = expat.ParserCreate(namespace_separator="}")
    p.StartDoctypeDeclHandler = p.EntityDeclHandler = p.ExternalEntityRefHandler = refuse
    return p

def parse(p, data, final):
    try:
        p.Parse(data, final)
    except expat.ExpatError as exc:
        return ["xml", expat.ErrorString(exc.code), exc.lineno]
    except Refused:
        return ["dtd"]
    return None

inp, done, name, p, failed = sys.stdin.buffer, {}, None, None, None
while len(head := inp.read(5)) == 5:
    kind, size = head[:1], struct.unpack("<I", head[1:])[0]
    data = inp.read(size) if size else b""
    if kind == b"B":
        name, p, failed = data.decode("utf-8"), parser(), None
    elif kind == b"C" and failed is None:
        failed = parse(p, data, False)
    elif kind == b"E":
        done[name] = failed if failed is not None else parse(p, b"", True)
json.dump(done, sys.stdout)
"""
_FRAME = struct.Struct("<cI")
INLINE_BYTES = 4 << 20  # a part up to this size is parsed here; a larger one in the child


class PartChecker:
    """`check_xml` on every XML part while the package is written, not after.

    A part's bytes are parsed as they are produced (``begin``, ``feed``, ``end``,
    in the thread that deflates them).  Small parts are parsed in this process when
    they end.  A part past `INLINE_BYTES` (a 100,000-row sheet is 70 MB of XML)
    goes to a second Python process through a pipe, so its parse runs on the other
    core while the rest of the workbook is rendered; the process is started for
    the first such part only.  `problems` then gives, for every part checked,
    the `PatchError` message or ``None``.  If the second process cannot be
    started or dies, the parts it should have checked are missing from
    `problems`, and `verify` reads them back from the written file instead.
    """

    def __init__(self) -> None:
        self._done: dict[str, str | None] = {}
        self._child: subprocess.Popen[bytes] | None = None
        self._broken = False
        self._name: str | None = None
        self._held: list[bytes] = []
        self._size = 0
        self._remote = False
        self._parser: Any = None  # parsing here, as the chunks come
        self._failed: str | None = None

    def begin(self, name: str) -> None:
        self._name, self._held, self._size, self._remote = name, [], 0, False
        self._parser, self._failed = None, None

    def feed(self, data: bytes) -> None:
        if self._name is None:
            return
        if self._remote:
            self._send(b"C", data)
        elif self._parser is not None:
            self._parse(data)
        else:
            self._held.append(bytes(data))
            self._size += len(data)
            if self._size > INLINE_BYTES:
                held, self._held = self._held, []
                if self._start():
                    self._remote = True
                    self._send(b"B", self._name.encode("utf-8"))
                    for chunk in held:
                        self._send(b"C", chunk)
                else:  # no second process: parse here as the chunks come
                    self._parser = _strict_parser()
                    for chunk in held:
                        self._parse(chunk)

    def end(self) -> None:
        name = self._name
        if name is None:
            return
        if self._remote:
            self._send(b"E", b"")
        else:
            if self._parser is None:
                self._parser = _strict_parser()
                for chunk in self._held:
                    self._parse(chunk)
            self._parse(b"", final=True)
            self._done[name] = self._failed
        self._name, self._held, self._parser = None, [], None

    def _parse(self, data: bytes, final: bool = False) -> None:
        if self._failed is not None:
            return
        try:
            self._parser.Parse(data, final)
        except (expat.ExpatError, _Refused) as exc:
            self._failed = _problem(self._name or "", exc)

    def problems(self) -> dict[str, str | None]:
        """Every part checked: the problem's message, or None.  Waits for the child."""
        child, self._child = self._child, None
        if child is not None and not self._broken:
            try:
                assert child.stdin is not None and child.stdout is not None
                child.stdin.close()
                found = json.loads(child.stdout.read() or b"{}")
                child.wait()
                for name, why in found.items():
                    if why is None:
                        self._done[name] = None
                    elif why[0] == "xml":
                        self._done[name] = _not_well_formed(name, why[1], why[2])
                    else:
                        self._done[name] = _problem(name, _Refused())
            except (OSError, ValueError):
                pass
        self.close(child)
        return dict(self._done)

    def close(self, child: subprocess.Popen[bytes] | None = None) -> None:
        """End the child process (after an error, or once `problems` has read it)."""
        child = child or self._child
        self._child = None
        if child is not None:
            if child.poll() is None:
                child.kill()
            child.wait()
            for stream in (child.stdin, child.stdout):
                if stream is not None and not stream.closed:
                    stream.close()

    def _start(self) -> bool:
        if self._child is not None or self._broken:
            return not self._broken
        if not sys.executable:
            self._broken = True
            return False
        try:
            self._child = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _CHILD],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except (OSError, TypeError, ValueError):  # no interpreter to start: parse here
            self._broken = True
        return not self._broken

    def _send(self, kind: bytes, data: bytes) -> None:
        child = self._child
        if child is None or self._broken:
            return
        pipe: IO[bytes] | None = child.stdin
        try:
            assert pipe is not None
            pipe.write(_FRAME.pack(kind, len(data)))
            if data:
                pipe.write(data)
        except (OSError, ValueError):  # the child died: `verify` reads those parts back
            self._broken = True
