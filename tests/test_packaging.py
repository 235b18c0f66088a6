"""An installed wheel (not the source tree) finds its data files and answers."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_wheel_carries_data_and_works_outside_the_source_tree(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(REPO)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    wheel = next((tmp_path / "dist").glob("dniester_watch-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in (
        "md_ua_boundary.geojson",
        "md_ua_countries.geojson",
        "places.geojson",
        "dniester_centerline_wdbii.geojson",
        "PROVENANCE.md",
        "example-config.toml",
    ):
        assert f"dwatch_data/{f}" in names
    assert {"sar/web/index.html", "sar/web/app.js", "sar/web/style.css"} <= names
    assert {"sensors/sim/__init__.py", "sensors/sim/scenario.py", "sar/api/sensors.py"} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import json, geo, sar; from geo.river import RiverModel;"
        "print(json.dumps({'geo': geo.__file__, 'loc': RiverModel().locate(28.2849, 48.1566).to_dict()}))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["geo"].startswith(str(site))
    assert out["loc"]["side"] == "MD" and out["loc"]["section"] == "north"
