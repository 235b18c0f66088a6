"""The fleet: files, tokens, and positions from the boats' own AIS and the drones' MAVLink."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sar.dispatch.fleet import (
    AssetStatus,
    Fleet,
    FleetError,
    PositionFeed,
    example_fleet_path,
    hash_token,
    load_fleet_file,
)
from sensors.ais import AisConfig, AisDecoder, encode_position
from sensors.drone import DroneConfig, DroneDecoder, read_tlog
from sensors.model import VehicleState
from tests.conftest import REPO

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TLOG = REPO / "tests" / "data" / "mavlink" / "ardusub-small.tlog"


def test_example_fleet_is_both_agencies_at_their_own_banks() -> None:
    fleet = load_fleet_file(example_fleet_path())
    assert fleet.example and len(fleet.assets) == 13
    assert {a.agency.value for a in fleet.assets} == {"MD", "UA"}
    assert [a.id for a in fleet.assets if a.kind.value == "drone"] == ["MD-D1", "UA-D1"]


def test_positions_from_own_ais_and_drone_telemetry() -> None:
    assets = load_fleet_file(example_fleet_path()).assets
    drone_states = [
        m
        for stamp, raw in read_tlog(TLOG)
        for m in DroneDecoder(DroneConfig(id="uav-md-1", agency="MD")).decode(raw, stamp).messages
        if isinstance(m, VehicleState) and m.position is not None
    ]
    assert drone_states, "the recording has positions"
    sys_id = drone_states[0].system_id
    assets = [
        a.model_copy(update={"mmsi": 214_000_111}) if a.id == "MD-B3"
        else a.model_copy(update={"telemetry": f"uav-md-1:{sys_id}"}) if a.id == "MD-D1"
        else a
        for a in assets
    ]  # fmt: skip
    fleet = Fleet(assets, T0)
    feed = PositionFeed(fleet)
    ais = AisDecoder(AisConfig(id="md-ais-1", agency="MD"))
    for lon, lat, mmsi in ((28.2901, 48.2302, 214_000_111), (28.1, 48.2, 214_000_999)):
        (line,) = encode_position(mmsi, lon, lat, 12.0, 90.0)
        for m in ais.decode(line.encode(), T0).messages:
            feed.on_message("sensors.MD.md-ais-1", m)
    boat = fleet.get("MD-B3").position
    assert (boat.source, boat.lon, boat.lat) == (
        "ais",
        pytest.approx(28.2901, abs=1e-5),
        pytest.approx(48.2302, abs=1e-5),
    )
    assert fleet.get("UA-B3").position.source == "base"  # the other MMSI is not ours
    for state in drone_states:
        feed.on_message("sensors.MD.uav-md-1", state)
    drone = fleet.get("MD-D1").position
    last = drone_states[-1]
    assert last.position is not None
    assert (drone.source, drone.lon, drone.lat, drone.time) == (
        "mavlink",
        last.position.lon,
        last.position.lat,
        last.time,
    )


def test_tokens_are_checked_by_hash_and_statuses_follow() -> None:
    assets = [a.model_copy(update={"token_sha256": hash_token("secret-b1")}) if a.id == "MD-B1" else a
              for a in load_fleet_file(example_fleet_path()).assets]  # fmt: skip
    fleet = Fleet(assets, T0)
    found = fleet.authenticate("secret-b1")
    assert found is not None and found.id == "MD-B1"
    assert fleet.authenticate("secret-b2") is None and fleet.authenticate("") is None
    assert fleet.set_status("MD-B1", AssetStatus.EN_ROUTE, T0).status is AssetStatus.EN_ROUTE


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("assets = [", "not valid TOML"),
        ('[[assets]]\nid = "A"\nagency = "RO"\ncall_sign = "x"\nspeed_mps = 5\nbase = {name="b", lon=28, lat=48}',
         "assets.0.agency"),
        ('[[assets]]\nid = "A"\nagency = "MD"\ncall_sign = "x"\nspeed_mps = 5\nbase = {name="b", lon=28, lat=48}\n'
         '[[assets]]\nid = "A"\nagency = "UA"\ncall_sign = "y"\nspeed_mps = 5\nbase = {name="b", lon=28, lat=48}',
         "appears twice"),
    ],
)  # fmt: skip
def test_a_bad_fleet_file_is_one_clear_line(tmp_path: Path, text: str, fragment: str) -> None:
    f = tmp_path / "fleet.toml"
    f.write_text(text)
    with pytest.raises(FleetError, match=fragment):
        load_fleet_file(f)
    cfg = tmp_path / "dw.toml"
    cfg.write_text(f'[dispatch.fleet]\nfile = "{f}"\n')
    r = subprocess.run([sys.executable, "-m", "sar", "serve", "--config", str(cfg)], capture_output=True, text=True,
                       timeout=60, cwd=REPO)  # fmt: skip
    assert r.returncode == 2 and fragment in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
