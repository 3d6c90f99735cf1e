"""The wheel ships templates/ as licreport.templates and renders a report outside the checkout."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RENDER = """
import datetime, hashlib, json, sys, tempfile
from pathlib import Path
import licreport
from licreport import api
from licreport.outputs.report import templates_dir
folder = Path(tempfile.mkdtemp())
ledger = api.init(folder, sample=True, force=False)
_, path = api.report(ledger, datetime.date(2026, 12, 1), api.Outputs(folder / "out"))
html = path.read_text(encoding="utf-8")
_, de_path = api.report(ledger, datetime.date(2026, 12, 1), api.Outputs(folder / "de", lang="de"))
de = de_path.read_text(encoding="utf-8")
sha = hashlib.sha256(ledger.read_bytes()).hexdigest()
print(json.dumps({"package": licreport.__file__, "templates": str(templates_dir()),
                  "ok": "Content-Security-Policy" in html and sha in html,
                  "de": '<html lang="de">' in de and "<h2>Übersicht</h2>" in de}))
"""


@pytest.mark.slow
def test_wheel_ships_templates_and_renders_outside_the_checkout(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    wheel = next(dist.glob("licreport-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "licreport/templates/report.html.j2" in names
    assert "licreport/templates/report.css" in names
    for lang in ("es", "de", "fr", "it", "pt"):  # the compiled catalogues ship (SPEC §11)
        assert f"licreport/locale/{lang}/LC_MESSAGES/messages.mo" in names
    # a fresh venv outside the checkout; its dependencies come from this interpreter's
    # site-packages through a .pth file (no network), licreport only from the wheel
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )  # fmt: skip
    deps = [p for p in sys.path if p.endswith("site-packages")]
    (site / "deps.pth").write_text("\n".join(deps) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
         str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    out = subprocess.run(
        [str(py), "-I", "-c", RENDER], cwd=tmp_path, check=True, capture_output=True, text=True
    )
    got = json.loads(out.stdout)
    assert got["ok"] is True
    assert got["de"] is True
    assert got["package"].startswith(str(site))
    assert got["templates"].startswith(str(site))
