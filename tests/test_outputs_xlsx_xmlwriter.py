"""XML text: escaping and the strict check of every part the writer wrote."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licreport.outputs.xlsx import PatchError, xmlwriter
from licreport.outputs.xlsx.xmlwriter import check_xml
from tests.userbook import TRANS_R


def test_check_xml_refuses_bad_parts(tmp_path: Path) -> None:
    path = tmp_path / "parts.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("good.xml", f'<a xmlns:r="{TRANS_R}"><b r:id="x"/></a>')
        z.writestr("unbound.xml", '<a><b r:id="x"/></a>')
        z.writestr("broken.rels", "<a><b></a>")
        z.writestr("dtd.xml", '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')
        z.writestr("media/image.png", b"\x89PNG not xml")
    with zipfile.ZipFile(path) as z:
        check_xml(z, "good.xml")
        check_xml(z, "media/image.png")
        for name, why in [
            ("unbound.xml", "unbound prefix"),
            ("broken.rels", "mismatched tag"),
            ("dtd.xml", "DTD"),
        ]:
            with pytest.raises(PatchError, match=why):
                check_xml(z, name)


@pytest.mark.parametrize(
    ("inline", "child"),
    [(1 << 30, True), (16, True), (16, False)],  # here; in the second process; none starts
)
def test_part_checker_parses_while_writing(
    monkeypatch: pytest.MonkeyPatch, inline: int, child: bool
) -> None:
    """`PartChecker` (the strict parse run as the parts are written) finds what `check_xml`
    finds, with the same messages, whether a part is parsed here or in the child process
    (or here as it comes, when no second process can be started)."""
    monkeypatch.setattr(xmlwriter, "INLINE_BYTES", inline)
    if not child:
        monkeypatch.setattr(xmlwriter.sys, "executable", "")
    parts = {
        "good.xml": f'<a xmlns:r="{TRANS_R}">' + '<b r:id="x"/>' * 50 + "</a>",
        "unbound.xml": "<a>" + "<c/>" * 20 + '<b r:id="x"/></a>',
        "broken.rels": "<a>" + "<c/>" * 20 + "<b></a>",
        "dtd.xml": '<!DOCTYPE a [<!ENTITY x "y">]><a>' + "<c/>" * 20 + "&x;</a>",
    }
    check = xmlwriter.PartChecker()
    try:
        for name, text in parts.items():
            check.begin(name)
            data = text.encode()
            for k in range(0, len(data), 7):
                check.feed(data[k : k + 7])
            check.end()
        found = check.problems()
    finally:
        check.close()
    assert found["good.xml"] is None
    for name, why in [
        ("unbound.xml", "is not well-formed XML (unbound prefix, line 1)"),
        ("broken.rels", "is not well-formed XML (mismatched tag, line 1)"),
        ("dtd.xml", "declares a DTD or entities"),
    ]:
        assert f"part {name} {why}" in str(found[name])


@given(st.text(alphabet=st.sampled_from("ab_x0<>&\x01\x0b\t\n\ufffe é"), max_size=12))
def test_needs_escape_is_the_escape_pattern_and_never_misses_a_change(text: str) -> None:
    assert xmlwriter.needs_escape(text) == bool(xmlwriter.NEEDS_ESCAPE.search(text))
    assert xmlwriter.needs_escape(text) or xmlwriter.xml_text(text) == text
