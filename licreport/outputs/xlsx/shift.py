"""References after ledger rows are deleted (``--redo``), as Excel's "delete rows" does.

A reference to a row below the removed ones moves up; a range loses its removed
rows; a reference whose every row is removed becomes ``#REF!``.  Formulas are
split with openpyxl's formula tokenizer (`openpyxl.formula.tokenizer.Tokenizer`),
so strings, function names and defined names are never taken for references.

Where a formula's cells derive their references by offset (a shared formula's
other cells, the cells of a conditional format or validation range), the shift
holds only when every cell and the rows it points at move up together; when they
do not, `Unshiftable` stops the run rather than leave a reference to the wrong row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from xml.sax.saxutils import escape, unescape

from licreport.outputs.xlsx import PatchError
from licreport.outputs.xlsx.rowmap import RowMap
from licreport.outputs.xlsx.utility import parse_ref
from licreport.outputs.xlsx.xmlwriter import PFX

REF_ERROR = "#REF!"
# One operand: an optional sheet ('My sheet'!, Sheet! or a 3-D span Jan:Mar!), then a
# cell, a range or rows.
_OPERAND = re.compile(
    r"^(?P<sheet>(?:'(?:[^']|'')+'|[^'!\[\]]+)!)?"
    r"(?P<a>\$?[A-Za-z]{0,3}\$?\d*)(?::(?P<b>\$?[A-Za-z]{0,3}\$?\d*))?$"
)
_PART = re.compile(r"^(\$?)([A-Za-z]{0,3})(\$?)(\d*)$")
_ENTITIES = {'"': "&quot;"}


class Unshiftable(PatchError):
    """A reference --redo cannot move without pointing at the wrong row."""


def _sheet_of(prefix: str | None) -> str | None:
    if not prefix:
        return None
    name = prefix[:-1]
    if name.startswith("'"):
        name = name[1:-1].replace("''", "'")
    return name


def _row(part: str) -> tuple[str, int | None, bool]:
    """(column with its ``$``, row or None, row absolute?) of one side of a reference."""
    m = _PART.match(part)
    if m is None:
        return part, None, False
    col = m.group(1) + m.group(2)
    if not m.group(4):
        return col, None, False
    return col, int(m.group(4)), bool(m.group(3))


Offset = Callable[[int, bool], int | None]
Shifts = Mapping[str, RowMap]  # sheet name (casefolded) -> the rows removed from it


class SheetShifts(dict[str, RowMap]):
    """The rows removed per sheet (casefolded name), and the workbook's sheet order, which
    says what a 3-D reference (``Jan:Dec!B5``) spans."""

    def __init__(self, removed: Mapping[str, RowMap], order: Sequence[str] = ()) -> None:
        super().__init__(removed)
        self.order = list(order)  # as the workbook spells them


def shifts_of(removed: Mapping[str, RowMap], order: Sequence[str] = ()) -> SheetShifts:
    """`removed` keyed by casefolded sheet name, sheets without removed rows left out;
    `order`: every sheet of the workbook, in order."""
    return SheetShifts({name.casefold(): rows for name, rows in removed.items() if rows}, order)


def _spanned(first: str, last: str, shifts: Shifts) -> list[str]:
    """The sheets of `shifts` a 3-D reference from `first` to `last` covers."""
    names: list[str] = getattr(shifts, "order", [])
    order = [n.casefold() for n in names]
    a, b = first.casefold(), last.casefold()
    if a in order and b in order:
        i, j = sorted((order.index(a), order.index(b)))
        return [names[k] for k in range(i, j + 1) if order[k] in shifts]
    return [n for n in (first, last) if n.casefold() in shifts]  # order unknown: its ends


def shift_operand(
    operand: str, shifts: Shifts, own: str | None, relative: Offset | None = None
) -> str:
    """One reference after the deletion (unchanged when it is not into a sheet of `shifts`).

    `own`: the sheet an unqualified reference is into (None: none, as in a defined name).
    `relative(row, absolute)`, when given, places each row of a reference into `own`
    (offset semantics; None: the row is removed).
    """
    m = _OPERAND.match(operand)
    if m is None:
        return operand
    target = _sheet_of(m.group("sheet"))
    if target is not None and ":" in target:  # a 3-D reference: Jan:Dec!B5
        start_sheet, end_sheet = target.split(":", 1)
        spanned = _spanned(start_sheet, end_sheet, shifts)
        if spanned and _row(m.group("a"))[1] is not None:
            raise Unshiftable(
                f"the 3-D reference {operand} spans the sheet {spanned[0]!r}, whose rows "
                "--redo removes: its rows would no longer line up across the sheets. "
                "Nothing was written; remove those rows by hand"
            )
        return operand
    name = (target if target is not None else own or "").casefold()
    rows = shifts.get(name)
    if rows is None or (target is None and own is None):
        return operand
    a, b = m.group("a"), m.group("b")
    _, ra, abs_a = _row(a)
    _, rb, abs_b = _row(b) if b is not None else ("", ra, abs_a)
    if ra is None or rb is None:
        return operand  # a whole column (D:D), a name or a mixed form: no row to move
    prefix = m.group("sheet") or ""
    span: tuple[int, int] | None
    if relative is not None and own is not None and name == own.casefold():
        na, nb = relative(ra, abs_a), relative(rb, abs_b)
        span = None if na is None or nb is None else (min(na, nb), max(na, nb))
    else:
        span = rows.span(min(ra, rb), max(ra, rb))
    if span is None:
        return prefix + REF_ERROR
    first, last = span if ra <= rb else (span[1], span[0])
    sa = a[: len(a) - len(str(ra))] + str(first)
    if b is None:
        return prefix + sa
    return prefix + sa + ":" + b[: len(b) - len(str(rb))] + str(last)


def shift_formula(
    formula: str, shifts: Shifts, own: str | None, relative: Offset | None = None
) -> str:
    """A formula (without its ``=``) with its references into the sheets of `shifts` moved."""
    if not shifts:
        return formula
    from openpyxl.formula.tokenizer import Tokenizer, TokenizerError  # here: --redo only

    try:
        tok = Tokenizer("=" + formula)
    except TokenizerError:
        return formula  # not a formula openpyxl can read: left as it was written
    changed = False
    for item in tok.items:
        if item.type == "OPERAND" and item.subtype == "RANGE":
            new = shift_operand(item.value, shifts, own, relative)
            if new != item.value:
                item.value, changed = new, True
    return tok.render()[1:] if changed else formula


def shift_sqref(sqref: str, rows: RowMap) -> str:
    """A space-separated range list (``A2:A9 C4``) after the deletion; ``""`` when all go."""
    kept = []
    for ref in sqref.split():
        new = rows.ref(ref)
        if new is not None:
            kept.append(new)
    return " ".join(kept)


def offset_rule(rows: RowMap, anchor: int, first: int, last: int, where: str) -> Offset:
    """How the cells `first`..`last` (anchored at row `anchor`) place a row they point at.

    An absolute row moves as any reference does; a relative row keeps its offset from
    the anchor, which is right only when every kept cell and its target move together.
    """
    kept = [r for r in range(first, last + 1) if r not in rows.removed_set]
    new_anchor = anchor - rows.shift(anchor)

    def place(row: int, absolute: bool) -> int | None:
        if absolute:
            span = rows.span(row, row)
            return None if span is None else span[0]
        d = row - anchor
        if not kept:
            return None
        moves = {rows.shift(c + d) - rows.shift(c) for c in kept}
        if any(c + d in rows.removed_set for c in kept) or len(moves) > 1:
            raise Unshiftable(
                f"{where}: a relative reference (row {row}) would point at the wrong row "
                "once --redo removes the rows of the month; nothing was written. "
                "Make the reference absolute ($) or remove those rows by hand"
            )
        return new_anchor + d - moves.pop()

    return place


_F_ELEMENT = re.compile(rb"(<" + PFX + rb"f\b)([^>]*?)(?:/>|>([^<]*)(</" + PFX + rb"f\s*>))")


def xml_formula(text: bytes) -> str:
    return unescape(text.decode("utf-8"), {"&quot;": '"', "&apos;": "'"})


def xml_formula_text(formula: str) -> bytes:
    return escape(formula, _ENTITIES).encode("utf-8")


def shift_formulas_in(xml: bytes, shifts: Shifts, own: str | None, where: str) -> bytes:
    """`xml` (rows of a worksheet) with every formula element's text shifted.

    `own`: the sheet the rows belong to, when its rows are the ones removed (old row
    numbers); a shared formula's first cell then anchors its range (`offset_rule`).
    A shared formula whose other cells cannot derive the moved references by offset
    (its cells stay while its targets move, or the reverse) is refused.
    """
    own_rows = shifts.get(own.casefold()) if own is not None else None

    def fix(m: re.Match[bytes]) -> bytes:
        body = m.group(3)
        if body is None or not body.strip():
            return m.group(0)
        formula = xml_formula(body)
        shared = b"shared" in m.group(2)
        ref = _REF_ATTR.search(m.group(2))
        rule = None
        if shared and own_rows is not None and ref is not None:
            span = first_row(ref.group(1).decode())
            if span is not None:
                rule = offset_rule(
                    own_rows, span[0], span[0], span[1], f"{where}:{ref.group(1).decode()}: formula"
                )
        new = _located(shift_formula, f"{where}: formula", formula, shifts, own, rule)
        if new == formula:
            return m.group(0)
        if (
            shared
            and shift_formula(
                formula,
                {k: v for k, v in shifts.items() if own is None or k != own.casefold()},
                own,
                None,
            )
            != formula
        ):
            raise Unshiftable(
                f"{where}: formula: a shared formula ({formula}) refers to rows --redo removes or "
                "moves in another sheet; its other cells would point at the wrong rows. "
                "Nothing was written; remove those rows by hand"
            )
        return m.group(1) + m.group(2) + b">" + xml_formula_text(new) + m.group(4)

    return _F_ELEMENT.sub(fix, xml)


_REF_ATTR = re.compile(rb"(?<![\w:])ref\s*=\s*[\"']([^\"']*)[\"']")
_SQREF_ATTR = re.compile(rb"((?<![\w:])sqref\s*=\s*[\"'])([^\"']*)([\"'])")
_SQREF_EL = re.compile(rb"(<xm:sqref>)([^<]*)(</xm:sqref>)")
# The formulas of conditional formats and validations (x14: <xm:f>), not cells' <f>.
_RULE_F = re.compile(
    rb"(<(?:" + PFX + rb"(?:formula|formula1|formula2)|xm:f)>)([^<]*)"
    rb"(</(?:" + PFX + rb"(?:formula|formula1|formula2)|xm:f)\s*>)"
)
_BLOCKS = re.compile(
    rb"<(" + PFX + rb")(conditionalFormatting|dataValidation)\b[^>]*>.*?</\1\2\s*>", re.S
)
_HYPERLINK = re.compile(rb"<" + PFX + rb"hyperlink\b[^>]*?/>")


_EMPTIED = (b"conditionalFormattings", b"ext", b"extLst")  # innermost first


def shift_foot(foot: bytes, shifts: Shifts, sheet: str) -> bytes:
    """What follows ``<sheetData>``: conditional formats and validations (and their Excel
    2010 ``x14`` forms) and hyperlinks moved with their rows; a format or validation
    whose every cell is removed goes, as in Excel."""
    rows = shifts.get(sheet.casefold())
    if rows is None:
        return foot

    def block(m: re.Match[bytes]) -> bytes:
        text = m.group(0)
        attr, element = _SQREF_ATTR.search(text), _SQREF_EL.search(text)
        found = attr or element
        if found is None:
            return text
        sqref = found.group(2).decode()
        span = first_row(sqref)
        new_sqref = shift_sqref(sqref, rows)
        if not new_sqref or span is None:
            return b""
        anchor = parse_ref(sqref.split()[0])
        top = anchor[1] if anchor is not None else span[0]
        rule = offset_rule(
            rows, top, span[0], span[1], f"{sheet}:{sqref}: conditional format or validation"
        )

        def formula(f: re.Match[bytes]) -> bytes:
            old = xml_formula(f.group(2))
            where = f"{sheet}:{sqref}: conditional format or validation"
            new = _located(shift_formula, where, old, shifts, sheet, rule)
            return f.group(0) if new == old else f.group(1) + xml_formula_text(new) + f.group(3)

        text = _RULE_F.sub(formula, text)
        pattern = _SQREF_ATTR if attr is not None else _SQREF_EL
        return pattern.sub(lambda s: s.group(1) + new_sqref.encode() + s.group(3), text, count=1)

    foot = _BLOCKS.sub(block, foot)
    foot = _recount(foot, b"dataValidations", b"dataValidation")
    for group in _EMPTIED:  # an Excel 2010 extension left with nothing in it goes too
        foot = re.sub(
            rb"<(" + PFX + rb")" + group + rb"\b[^>]*>\s*</\1" + group + rb"\s*>", b"", foot
        )

    def link(m: re.Match[bytes]) -> bytes:
        ref = _REF_ATTR.search(m.group(0))
        if ref is None:
            return m.group(0)
        new = rows.ref(ref.group(1).decode())
        if new is None:
            return b""
        return m.group(0)[: ref.start(1)] + new.encode() + m.group(0)[ref.end(1) :]

    foot = _HYPERLINK.sub(link, foot)
    return re.sub(rb"<" + PFX + rb"hyperlinks\b[^>]*>\s*</" + PFX + rb"hyperlinks\s*>", b"", foot)


def _recount(xml: bytes, group: bytes, item: bytes) -> bytes:
    """Each ``<group count=..>`` recounted after items went; an empty group goes."""
    pattern = re.compile(
        rb"<(" + PFX + rb")" + group + rb"\b([^>]*)>(.*?)</\1" + group + rb"\s*>", re.S
    )

    def fix(m: re.Match[bytes]) -> bytes:
        n = len(re.findall(rb"<" + re.escape(m.group(1)) + item + rb"\b", m.group(3)))
        if n == 0:
            return b""
        attrs = re.sub(rb"(\bcount\s*=\s*[\"'])\d+", rb"\g<1>%d" % n, m.group(2))
        return b"<%s%s%s>%s</%s%s>" % (m.group(1), group, attrs, m.group(3), m.group(1), group)

    return pattern.sub(fix, xml)


# A series reference, whatever the chart namespace's prefix (openpyxl writes none).
_CHART_F = re.compile(rb"(<(" + PFX + rb")f>)([^<]*)(</\2f\s*>)")


def shift_chart(xml: bytes, shifts: Shifts, where: str = "chart") -> bytes:
    """A chart part's series references into the sheets of `shifts` moved."""

    def fix(m: re.Match[bytes]) -> bytes:
        formula = xml_formula(m.group(3))
        new = _located(shift_formula, where, formula, shifts, None)
        return m.group(0) if new == formula else m.group(1) + xml_formula_text(new) + m.group(4)

    return _CHART_F.sub(fix, xml)


def _located(shift: Callable[..., str], where: str, *args: object) -> str:
    """`shift(*args)`, an `Unshiftable` it raises naming `where`."""
    try:
        return shift(*args)
    except Unshiftable as exc:
        raise Unshiftable(f"{where}: {exc.message}") from None


_PIVOT_SOURCE = re.compile(rb"<" + PFX + rb"worksheetSource\b[^>]*?/?>")
_ATTR = re.compile(rb"""(?<![\w:])(ref|sheet)\s*=\s*(["'])([^"']*)\2""")


def shift_pivot_source(xml: bytes, shifts: Shifts, where: str = "pivot table") -> bytes:
    """A pivot cache whose source range is on a sheet of `shifts`: the range loses the
    removed rows, as Excel's "delete rows" does (the cached records stay until the
    pivot table is refreshed). A source whose every row is removed is refused."""

    def fix(m: re.Match[bytes]) -> bytes:
        element = m.group(0)
        attrs = {a.group(1): a for a in _ATTR.finditer(element)}
        if b"ref" not in attrs or b"sheet" not in attrs:
            return element  # a named range or table: moved with its name
        sheet = unescape(attrs[b"sheet"].group(3).decode(), {"&quot;": '"', "&apos;": "'"})
        rows = shifts.get(sheet.casefold())
        if rows is None:
            return element
        ref = attrs[b"ref"]
        new = rows.ref(ref.group(3).decode())
        if new is None:
            raise Unshiftable(
                f"{where}: its source {sheet}!{ref.group(3).decode()} is only rows --redo "
                "removes. Nothing was written; change the pivot table's source first"
            )
        return element[: ref.start(3)] + new.encode() + element[ref.end(3) :]

    return _PIVOT_SOURCE.sub(fix, xml)


def first_row(sqref: str) -> tuple[int, int] | None:
    """(first row, last row) over a range list, for anchoring its formulas."""
    spans = [p for p in (parse_ref(r) for r in sqref.split()) if p is not None]
    if not spans:
        return None
    return min(p[1] for p in spans), max(p[3] for p in spans)


_DEFINED_NAME = re.compile(
    rb"(<" + PFX + rb"definedName\b[^>]*>)([^<]*)(</" + PFX + rb"definedName\s*>)"
)


def shift_defined_names(xml: bytes, shifts: Shifts) -> bytes:
    """workbook.xml with every defined name's references into `shifts`' sheets moved."""
    if not shifts:
        return xml

    def fix(m: re.Match[bytes]) -> bytes:
        old = xml_formula(m.group(2))
        name = _NAME_ATTR.search(m.group(1))
        where = f"defined name {name.group(1).decode()}" if name else "a defined name"
        new = _located(shift_formula, where, old, shifts, None)
        return m.group(0) if new == old else m.group(1) + xml_formula_text(new) + m.group(3)

    return _DEFINED_NAME.sub(fix, xml)


_NAME_ATTR = re.compile(rb"""(?<![\w:])name\s*=\s*["']([^"']*)["']""")


def shift_rule_formulas(xml: bytes, shifts: Shifts, own: str | None) -> bytes:
    """The conditional-format and validation formulas of a sheet whose own rows stay."""

    def fix(m: re.Match[bytes]) -> bytes:
        old = xml_formula(m.group(2))
        where = f"{own}: conditional format or validation" if own else "a rule"
        new = _located(shift_formula, where, old, shifts, own)
        return m.group(0) if new == old else m.group(1) + xml_formula_text(new) + m.group(3)

    return _RULE_F.sub(fix, xml)


def shift_other_sheet(xml: bytes, shifts: Shifts, sheet: str) -> bytes:
    """A worksheet none of whose rows are removed, its references into `shifts` moved."""
    return shift_rule_formulas(shift_formulas_in(xml, shifts, None, sheet), shifts, None)
