"""The built-in scenario (30 minutes, repeating) and the sensors that watch it, on both banks.

Traffic, in river coordinates (km from the section's upstream end; offset + = right bank = MD):

- legitimate, with AIS: a tourist boat off Otaci (north km 29-33), the Soroca-Tsekynivka ferry
  shuttling across at km 106.9, a UA barge going down the south section (km 32-37), MD and UA
  patrol boats out of Otaci and Mohyliv-Podilskyy;
- without AIS: a boat crossing UA -> MD at north km 60, one at south km 30, one that comes to the
  axis at north km 31, loiters five minutes and goes back, two that meet 30 m apart across the
  axis at north km 92 for five minutes;
- a dark target: VOLNA switches its AIS off near the border at north km 81.6 and crosses to UA;
- a person in the water drifting down from above Soroca at the current (0.8 m/s);
- an MD drone over north km 56-64 and a UA drone over south km 26-34.

Sensors: MD NMEA radar (TTM over TCP) at Otaci, UA ASTERIX CAT010 radar (UDP) at Yampil, MD NMEA
TLL radar (UDP) above Palanca, the MD AIS network (UDP), an MD thermal camera at Soroca (MQTT, or
HTTP), a UA visual camera at Mohyliv-Podilskyy (HTTP), and the MD and UA drone links (MAVLink/UDP).
"""

from __future__ import annotations

import math
import socket
from dataclasses import dataclass, fields, replace
from datetime import datetime
from pathlib import Path

import numpy as np

from geo.river import RiverModel
from sensors.ais import AisConfig
from sensors.asterix import AsterixConfig
from sensors.camera import CameraConfig
from sensors.config import HttpTransport, MqttTransport, Site, TcpServerTransport, UdpTransport
from sensors.drone import DroneConfig
from sensors.model import TargetClass
from sensors.radar_nmea import RadarNmeaConfig
from sensors.registry import SensorConfig
from sensors.sim.emit import Simulator
from sensors.sim.sensing import SensorSpec
from sensors.sim.world import Entity, RiverPath, Waypoint, World

CYCLE_S = 1800.0
CURRENT_MPS = 0.8
LOCALHOST = "127.0.0.1"
THERMAL_TOPIC = "{root}/MD/camera/md-cam-soroca/events"

# Sensor sites: on or just inland of the bank (from RiverModel.axis_point, rounded).
OTACI_RADAR = Site(lon=27.79986, lat=48.43325, height_m=30.0)  # north km 28.6, 350 m into MD
YAMPIL_RADAR = Site(lon=28.28628, lat=48.23649, height_m=40.0)  # north km 88.3, 400 m into UA
PALANCA_RADAR = Site(lon=30.04976, lat=46.43300, height_m=25.0)  # south km 45, 400 m into MD
SOROCA_CAMERA = Site(lon=28.30408, lat=48.16112, height_m=35.0)  # north km 106.5, 250 m into MD
MOHYLIV_CAMERA = Site(lon=27.79769, lat=48.44105, height_m=20.0)  # north km 27.9, 200 m into UA
SOROCA_CAMERA_HEADING_DEG = 115.6  # towards the axis
MOHYLIV_CAMERA_HEADING_DEG = 228.7
MD_DRONE_SYSID = 11
UA_DRONE_SYSID = 21


Point = tuple[float, float, float]  # (cycle time s, river km, offset m)

# AIS identities: id -> (MMSI, name, callsign, ship type, length m, beam m); MID 214 = MD, 272 = UA.
AIS_IDENTITY: dict[str, tuple[int, str, str, int, float, float]] = {
    "tourist-nistru": (214180001, "NISTRU TUR", "ER2001", 60, 20.0, 5.0),
    "ferry-soroca": (214180002, "FERRY SOROCA", "ER2002", 60, 30.0, 10.0),
    "barge-dnister-7": (272180003, "BARGE DNISTER 7", "UR3003", 79, 80.0, 11.0),
    "patrol-md-1": (214180011, "POLITIA FRONTIERA 1", "ERBP1", 55, 9.0, 3.0),
    "patrol-ua-1": (272180012, "DPSU PATRUL 1", "UBP1", 55, 9.0, 3.0),
    "dark-volna": (214180009, "VOLNA", "ER2009", 30, 12.0, 4.0),
}
DARK_AIS_OFF_S = 690.0  # VOLNA's transponder goes silent 8 m from the axis, then she crosses
_FERRY = [(0, 85), (240, 85), (420, -85), (660, -85), (840, 85), (1080, 85), (1260, -85), (1500, -85), (1680, 85)]
# Legitimate traffic loops (ends where it starts) so the cycle repeats smoothly.
LEGITIMATE: dict[str, tuple[str, list[Point]]] = {
    "tourist-nistru": ("north", [(0, 29.2, 70), (120, 29.2, 70), (960, 33.4, 30), (1020, 33.4, 50), (1740, 29.2, 70)]),
    "ferry-soroca": ("north", [(t, 106.91, off) for t, off in _FERRY]),
    "barge-dnister-7": ("south", [(0, 32.0, -25), (CYCLE_S, 37.4, -25)]),
    "patrol-md-1": ("north", [(0, 28.55, 85), (300, 28.55, 85), (1040, 36.0, 30), (1100, 36.0, 35), (1740, 28.55, 85)]),
    "patrol-ua-1": (
        "north",
        [(0, 27.86, -85), (500, 27.86, -85), (1150, 22.0, -30), (1200, 22.0, -35), (1700, 27.86, -85)],
    ),
    "dark-volna": ("north", [(0, 79.5, 40), (600, 81.3, 40), (700, 81.6, 8), (800, 81.9, -40), (CYCLE_S, 84.9, -40)]),
    "drone-md-1": ("north", [(0, 56.0, 30), (900, 64.0, 30), (CYCLE_S, 56.0, 30)]),  # over its own bank
    "drone-ua-1": ("south", [(0, 26.0, -30), (900, 34.0, -30), (CYCLE_S, 26.0, -30)]),
}
ROLES = {
    "tourist-nistru": "tourist boat",
    "ferry-soroca": "ferry",
    "barge-dnister-7": "barge",
    "dark-volna": "dark target",
}


def _path(section: str, points: list[Point]) -> RiverPath:
    return RiverPath(section, tuple(Waypoint(t, km, off) for t, km, off in points))


def _legitimate() -> list[Entity]:
    """AIS traffic, the dark target, the patrols and the drones."""
    out = []
    for eid, (section, points) in LEGITIMATE.items():
        path = _path(section, points)
        agency = ("MD" if "-md-" in eid else "UA") if eid.startswith(("drone-", "patrol-")) else None
        if eid.startswith("drone-"):
            sysid = MD_DRONE_SYSID if agency == "MD" else UA_DRONE_SYSID
            out.append(Entity(eid, TargetClass.AIRCRAFT, path, agency=agency, system_id=sysid, altitude_m=120.0))
            continue
        mmsi, name, callsign, ship_type, length_m, beam_m = AIS_IDENTITY[eid]
        e = Entity(eid, TargetClass.VESSEL, path, True, mmsi, name, callsign, ship_type, length_m, beam_m)
        dark = DARK_AIS_OFF_S if eid == "dark-volna" else None
        role = ROLES.get(eid, "patrol")
        out.append(replace(e, ais_class_b=eid == "tourist-nistru", ais_until_s=dark, agency=agency, role=role))
    return out


def _suspicious(rng: np.random.Generator) -> list[Entity]:
    """Boats without AIS and the person in the water; start times jitter by the seed."""
    j = [float(rng.uniform(-20.0, 20.0)) for _ in range(5)]
    loiter = [
        (290 + j[2] + 30 * k, 31.15 + float(rng.uniform(-0.03, 0.03)), float(rng.uniform(-30, -12))) for k in range(11)
    ]
    phase, t0 = float(rng.uniform(0.0, 2.0 * math.pi)), 120.0 + j[4]
    drift = [(t, 106.2 + CURRENT_MPS * (t - t0) / 1000.0, 20.0 + 5.0 * math.sin(phase + (t - t0) / 100.0))
             for t in [*(t0 + 60.0 * k for k in range(math.ceil((CYCLE_S - t0) / 60.0))), CYCLE_S]]  # fmt: skip
    paths: dict[str, tuple[str, str, list[Point]]] = {
        "boat-cross-north": (
            "crossing",
            "north",
            [(300 + j[0], 59.95, -85), (400 + j[0], 59.95, -85), (470 + j[0], 60.05, 85)],
        ),
        "boat-cross-south": (
            "crossing",
            "south",
            [(1100 + j[1], 29.95, -85), (1300 + j[1], 29.95, -85), (1380 + j[1], 30.05, 85)],
        ),
        "boat-loiter": ("loiter", "north", [(200 + j[2], 31.2, -85), *loiter, (690 + j[2], 31.2, -85)]),
        "boat-meet-ua": (
            "rendezvous",
            "north",
            [
                (600 + j[3], 92.0, -85),
                (700 + j[3], 92.0, -85),
                (800 + j[3], 92.15, -15),
                (1100 + j[3], 92.24, -15),
                (1200 + j[3], 92.1, -85),
            ],
        ),
        "boat-meet-md": (
            "rendezvous",
            "north",
            [
                (600 + j[3], 92.3, 85),
                (700 + j[3], 92.3, 85),
                (800 + j[3], 92.15, 15),
                (1100 + j[3], 92.24, 15),
                (1200 + j[3], 92.35, 85),
            ],
        ),
    }
    boats = [Entity(eid, TargetClass.VESSEL, _path(sec, pts), role=role) for eid, (role, sec, pts) in paths.items()]
    return [*boats, Entity("person-soroca", TargetClass.PERSON, _path("north", drift), role="person in the water")]


def build_world(river: RiverModel, seed: int = 0) -> World:
    """The built-in scenario; the seed moves the suspicious events by up to 20 s and shapes the
    loitering and the drift."""
    rng = np.random.default_rng(seed)
    return World(river, [*_legitimate(), *_suspicious(rng)], CYCLE_S)


@dataclass(frozen=True)
class DemoPorts:
    """Where the server listens for the demo sensors (all on 127.0.0.1)."""

    otaci_tcp: int = 10110
    palanca_udp: int = 10111
    ais_udp: int = 10112
    yampil_udp: int = 8600
    md_drones_udp: int = 14550
    ua_drones_udp: int = 14551
    mqtt_port: int = 1883

    @classmethod
    def free(cls, mqtt_port: int = 1883) -> DemoPorts:
        """Ports the system gives as free right now (TCP for ``*_tcp``, UDP for ``*_udp``)."""
        chosen: dict[str, int] = {}
        for f in fields(cls):
            if f.name == "mqtt_port":
                continue
            kind = socket.SOCK_STREAM if f.name.endswith("_tcp") else socket.SOCK_DGRAM
            with socket.socket(socket.AF_INET, kind) as s:
                s.bind((LOCALHOST, 0))
                chosen[f.name] = int(s.getsockname()[1])
        return cls(**chosen, mqtt_port=mqtt_port)


def demo_sensor_configs(ports: DemoPorts, mqtt: bool = True, topic_root: str = "dwatch") -> list[SensorConfig]:
    """Server-side configs of the scenario's sensors, listening where the simulator sends.
    ``topic_root`` keeps demos that share a broker apart."""
    topic = THERMAL_TOPIC.format(root=topic_root)
    thermal = MqttTransport(host=LOCALHOST, port=ports.mqtt_port, topic=topic) if mqtt else HttpTransport()
    return [
        RadarNmeaConfig(
            id="md-radar-otaci",
            agency="MD",
            site=OTACI_RADAR,
            expected_period_s=2.5,
            transport=TcpServerTransport(host=LOCALHOST, port=ports.otaci_tcp),
        ),
        AsterixConfig(
            id="ua-radar-yampil",
            agency="UA",
            site=YAMPIL_RADAR,
            expected_period_s=3.0,
            transport=UdpTransport(host=LOCALHOST, port=ports.yampil_udp),
        ),
        RadarNmeaConfig(
            id="md-radar-palanca",
            agency="MD",
            site=PALANCA_RADAR,
            expected_period_s=3.0,
            tll_accuracy_m=40.0,
            transport=UdpTransport(host=LOCALHOST, port=ports.palanca_udp),
        ),
        AisConfig(
            id="md-ais", agency="MD", expected_period_s=10.0, transport=UdpTransport(host=LOCALHOST, port=ports.ais_udp)
        ),
        CameraConfig(
            id="md-cam-soroca",
            agency="MD",
            site=SOROCA_CAMERA,
            heading_deg=SOROCA_CAMERA_HEADING_DEG,
            hfov_deg=24.0,
            vfov_deg=18.0,
            image_width_px=640,
            image_height_px=480,
            thermal=True,
            max_range_m=4000.0,
            expected_period_s=10.0,
            transport=thermal,
        ),
        CameraConfig(
            id="ua-cam-mohyliv",
            agency="UA",
            site=MOHYLIV_CAMERA,
            heading_deg=MOHYLIV_CAMERA_HEADING_DEG,
            max_range_m=5000.0,
            expected_period_s=10.0,
            transport=HttpTransport(),
        ),
        DroneConfig(
            id="md-drones",
            agency="MD",
            expected_period_s=1.0,
            transport=UdpTransport(host=LOCALHOST, port=ports.md_drones_udp),
        ),
        DroneConfig(
            id="ua-drones",
            agency="UA",
            expected_period_s=1.0,
            transport=UdpTransport(host=LOCALHOST, port=ports.ua_drones_udp),
        ),
    ]


def demo_specs() -> dict[str, SensorSpec]:
    """Coverage, timing and detection of the scenario's sensors, by sensor id."""
    return {
        "md-radar-otaci": SensorSpec(
            max_range_m=8000.0,
            period_s=2.5,
            p_detect=0.9,
            p_detect_person=0.2,
            clutter_per_scan=0.3,
            nmea_sentence="TTM",
        ),
        "ua-radar-yampil": SensorSpec(
            max_range_m=8000.0,
            period_s=3.0,
            phase_s=1.0,
            p_detect=0.9,
            p_detect_person=0.2,
            clutter_per_scan=0.3,
            sac_sic=(72, 10),
        ),
        "md-radar-palanca": SensorSpec(
            max_range_m=12000.0,
            period_s=3.0,
            phase_s=2.0,
            p_detect=0.85,
            p_detect_person=0.15,
            clutter_per_scan=0.3,
            nmea_sentence="TLL",
        ),
        "md-ais": SensorSpec(max_range_m=None, period_s=1.0, p_detect=0.95, clutter_per_scan=0.0),
        "md-cam-soroca": SensorSpec(
            max_range_m=3000.0,
            period_s=2.0,
            p_detect=0.85,
            p_detect_person=0.9,
            clutter_per_scan=0.03,
            sector_deg=(SOROCA_CAMERA_HEADING_DEG, 170.0),
            camera_geometry="depression",
        ),
        "ua-cam-mohyliv": SensorSpec(
            max_range_m=3500.0,
            period_s=2.0,
            phase_s=1.0,
            p_detect=0.75,
            p_detect_person=0.5,
            clutter_per_scan=0.03,
            sector_deg=(MOHYLIV_CAMERA_HEADING_DEG, 170.0),
            camera_geometry="bbox",
        ),
        "md-drones": SensorSpec(
            max_range_m=None,
            period_s=1.0,
            p_detect=0.9,
            p_detect_person=0.9,
            clutter_per_scan=0.02,
            system_ids=(MD_DRONE_SYSID,),
            footprint_m=400.0,
        ),
        "ua-drones": SensorSpec(
            max_range_m=None,
            period_s=1.0,
            p_detect=0.9,
            p_detect_person=0.9,
            clutter_per_scan=0.02,
            system_ids=(UA_DRONE_SYSID,),
            footprint_m=400.0,
        ),
    }


def demo_simulator(
    river: RiverModel,
    ports: DemoPorts,
    http_base_url: str,
    seed: int = 0,
    speed: float = 1.0,
    mqtt: bool = True,
    start: datetime | None = None,
    truth_path: Path | None = None,
    topic_root: str = "dwatch",
    http_token: str | None = None,
) -> Simulator:
    """Everything ``dwatch demo`` needs: the built-in world, its sensors as the server is told to
    receive them (:func:`demo_sensor_configs` with the same ports and ``mqtt``), and their specs."""
    configs = demo_sensor_configs(ports, mqtt, topic_root)
    return Simulator(
        build_world(river, seed), configs, seed=seed, speed=speed, start=start, http_base_url=http_base_url,
        http_token=http_token, mqtt_port=ports.mqtt_port, specs=demo_specs(), truth_path=truth_path,
    )  # fmt: skip
