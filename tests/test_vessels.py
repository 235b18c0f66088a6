"""Static data joined to the MMSI from the real AIS recording (type 24 parts A and B merged)."""

from __future__ import annotations

from pathlib import Path

from sensors.ais import AisConfig
from sensors.model import VesselStatic
from sensors.replay import replay
from sensors.vessels import VesselRegistry
from tests.conftest import REPO


def test_type24_parts_merge_into_one_vessel() -> None:
    registry = VesselRegistry()
    statics: list[VesselStatic] = []

    def sink(m: object) -> None:
        if isinstance(m, VesselStatic):
            statics.append(m)
            registry.update(m)

    path = REPO / "tests" / "data" / "ais" / "ais-raw-messages.log"
    replay([(Path(path), AisConfig(id="rx", agency="MD"))], sink, speed=0, progress=False)
    assert len(statics) == 13
    vessels = registry.all()
    assert len(vessels) == len({s.mmsi for s in statics})
    for v in vessels:  # every field said by any report of the vessel survives the merge
        said = [s for s in statics if s.mmsi == v.mmsi]
        for field in ("name", "callsign", "ship_type", "length_m"):
            values = [getattr(s, field) for s in said if getattr(s, field) is not None]
            assert getattr(v, field) == (values[-1] if values else None), (v.mmsi, field)
    assert any(v.name and v.callsign for v in vessels)  # a part A and a part B joined
