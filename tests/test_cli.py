"""The command line as a user runs it: JSON on stdout, exit 2 and one line on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO


def dwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sar", *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_locate_prints_json() -> None:
    r = dwatch("locate", "27.8", "48.437")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert (body["section"], body["side"], body["on_water"]) == ("north", "MD", True)
    assert body["river_km"] == pytest.approx(28.352, abs=0.01)


def test_route_prints_json() -> None:
    r = dwatch("route", "27.80,48.437", "28.30,48.155", "--speed-kn", "20")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["distance_m"] == pytest.approx(78_793, abs=5)
    assert body["speed_kn"] == 20
    assert body["path"]["type"] == "LineString"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["locate", "27.8", "95"], "latitude must be a finite number"),
        (["locate", "abc", "48"], "longitude must be a number"),
        (["locate", "nan", "48"], "longitude must be a finite number"),
        (["locate", "10", "48"], "outside the covered area"),
        (["route", "27.80,48.437", "27.0,48.0"], "routes need a point within"),
        (["route", "27.80;48.437", "28.3,48.15"], "expected LON,LAT"),
        (["route", "28.5,48.12", "30.0,46.44"], "separated by dams"),
        (["route", "27.80,48.437", "28.3,48.15", "--speed-kn", "-3"], "speed must be positive"),
        (["--config", "/nonexistent.toml", "locate", "27.8", "48.4"], "cannot read config"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line(args: list[str], fragment: str) -> None:
    r = dwatch(*args)
    assert r.returncode == 2
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert fragment in r.stderr
    assert "Traceback" not in r.stderr


def test_console_script_is_installed() -> None:
    from pathlib import Path

    script = Path(sys.executable).with_name("dwatch")
    r = subprocess.run([str(script), "locate", "28.2849", "48.1566"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["side"] == "MD"  # Soroca
