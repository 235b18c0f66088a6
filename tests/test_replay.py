"""``dwatch replay`` on the real recordings: counts, rejects per reason, original timing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

DATA = REPO / "tests" / "data"


def replay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sar", "replay", "--no-progress", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def summary(r: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert r.returncode == 0, r.stderr
    out: dict[str, Any] = json.loads(r.stdout)
    return out


def test_tlog_replay_flat_out(tmp_path: Path) -> None:
    out = tmp_path / "msgs.jsonl"
    s = summary(replay(str(DATA / "mavlink" / "ardusub-small.tlog"), "--speed", "0", "--out", str(out)))
    assert s["by_type"] == {"VehicleState": 2375}
    assert s["first"] == "2023-05-04T17:15:41.055000+00:00"
    assert s["last"] == "2023-05-04T17:20:04.352000+00:00"
    assert s["sensors"] == [
        {"sensor_id": "ardusub-small", "kind": "drone", "accepted": 2375, "rejected": {"bad_crc": 4}}
    ]
    lines = out.read_text().splitlines()
    assert len(lines) == 2375
    first = json.loads(lines[0])
    assert first["message"] == "VehicleState" and first["system_id"] == 1


def test_tlog_replay_keeps_original_timing() -> None:
    started = time.monotonic()
    s = summary(replay(str(DATA / "mavlink" / "ardusub-small.tlog"), "--speed", "100"))
    assert s["messages"] == 2375
    assert time.monotonic() - started >= 263.3 / 100  # the recording spans 263.3 s


@pytest.mark.parametrize(
    ("name", "by_type", "rejected"),
    [
        ("ais-18-27.log", {"Observation": 138, "VesselStatic": 69}, {"invalid_part_number": 69}),
        ("ais-raw-messages.log", {"Observation": 97, "VesselStatic": 13}, {"base_station": 5}),
    ],
)
def test_ais_replay_counts(name: str, by_type: dict[str, int], rejected: dict[str, int]) -> None:
    s = summary(replay(str(DATA / "ais" / name), "--speed", "0", "--agency", "UA"))
    assert s["by_type"] == by_type
    assert s["sensors"][0]["rejected"] == rejected


def test_several_files_merge(tmp_path: Path) -> None:
    s = summary(
        replay(str(DATA / "ais" / "ais-18-27.log"), str(DATA / "mavlink" / "ardusub-small.tlog"), "--speed", "0")
    )
    assert s["messages"] == 207 + 2375
    assert [x["kind"] for x in s["sensors"]] == ["ais", "drone"]


@pytest.mark.parametrize(
    ("content", "args", "fragment"),
    [
        (b"hello world\n", [], "cannot tell the format"),
        (b"$RATTM,01,1.2,45.0,T,,,,,,N,,T,,120000.00,A*00\n", [], "needs the radar site (--site LON,LAT)"),
        (b"", [], "is empty"),
    ],
)
def test_unusable_recordings_exit_2(tmp_path: Path, content: bytes, args: list[str], fragment: str) -> None:
    f = tmp_path / "rec.txt"
    f.write_bytes(content)
    r = replay(str(f), *args)
    assert r.returncode == 2 and fragment in r.stderr and "Traceback" not in r.stderr


def test_missing_file_exits_2() -> None:
    r = replay("/nonexistent/rec.log")
    assert r.returncode == 2 and "cannot read" in r.stderr
