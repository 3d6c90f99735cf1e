"""XML text: escaping and the strict check of every part the writer wrote."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from licreport.outputs.xlsx import PatchError
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
