"""Simulated sensors: what each configured sensor would send, as wire bytes, given the ground truth.

Every simulated sensor has a maximum range, an update period, measurement noise (taken from its
server-side config, so the decoder's accuracies are honest), a detection probability below one
and clutter: false detections on the water at a Poisson rate. Wire formats are made by the
project's own encoders (:mod:`sensors.radar_nmea`, :mod:`sensors.asterix_encode`,
:mod:`sensors.ais`, :mod:`sensors.camera`, :mod:`sensors.drone`).

``step`` returns a list of payloads, each one transport unit (a UDP datagram, an MQTT message, an
HTTP body, a TCP write). ``labels`` maps the target ids the decoder will produce to the entity
id they come from (or ``"clutter"``): the simulator's own answer key, for tests and scoring.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np

from geo.river import RiverModel
from sensors.ais import AisConfig, encode_position, encode_static, with_tag_block
from sensors.asterix import AsterixConfig
from sensors.asterix_encode import Cat010Report, cat010_block
from sensors.camera import CameraConfig
from sensors.config import SensorConfigBase
from sensors.model import TargetClass
from sensors.radar_nmea import RadarNmeaConfig, encode_tll, encode_ttm
from sensors.sim.world import GEOD, EntityState, bearing_range, offset_point

CLUTTER = "clutter"
KNOT_MPS = 1852.0 / 3600.0
SPEED_SD_MPS = 0.3
COURSE_SD_DEG = 3.0
AIS_GNSS_SD_M = 3.0
_CLUTTER_NUMBERS = (500, 999)  # radar track numbers given to false tracks, cycling


@dataclass(frozen=True)
class SensorSpec:
    """What the simulator needs beyond the server-side config: coverage, timing, detection."""

    max_range_m: float | None = 10_000.0
    period_s: float = 2.0
    phase_s: float = 0.0
    p_detect: float = 0.9
    p_detect_person: float = 0.3
    clutter_per_scan: float = 0.1
    sector_deg: tuple[float, float] | None = None  # (centre, width) of what a camera can look at
    nmea_sentence: Literal["TTM", "TLL"] = "TTM"
    sac_sic: tuple[int, int] = (0, 1)
    camera_geometry: Literal["depression", "bbox", "lrf"] = "depression"
    system_ids: tuple[int, ...] = ()  # drones carried by this MAVLink link (empty: the config's agency)
    footprint_m: float = 400.0  # how far from below a drone's camera detects
    static_every_s: float = 180.0  # AIS static data


def default_spec(cfg: SensorConfigBase) -> SensorSpec:
    """Plausible defaults by sensor type, for configs the scenario does not describe."""
    if isinstance(cfg, AisConfig):
        return SensorSpec(max_range_m=None, period_s=1.0, p_detect=0.95, clutter_per_scan=0.0)
    if isinstance(cfg, RadarNmeaConfig | AsterixConfig):
        return SensorSpec(max_range_m=10_000.0, period_s=2.5, p_detect=0.9, clutter_per_scan=0.2)
    if isinstance(cfg, CameraConfig):
        return SensorSpec(max_range_m=2_500.0, period_s=2.0, p_detect=0.8, p_detect_person=0.7, clutter_per_scan=0.02)
    return SensorSpec(max_range_m=None, period_s=2.0, p_detect=0.85, p_detect_person=0.8, clutter_per_scan=0.01)


class WaterGrid:
    """Points on the water of every section (every 200 m along, five lanes across): where clutter
    appears."""

    def __init__(
        self, river: RiverModel, spacing_m: float = 200.0, lanes_m: Sequence[float] = (-60, -30, 0, 30, 60)
    ) -> None:
        pts = [
            river.axis_point(s.name, c / 1000.0, off)
            for s in river.sections
            for c in np.arange(0.0, s.length_m, spacing_m)
            for off in lanes_m
        ]
        self.lon = np.array([p[0] for p in pts])
        self.lat = np.array([p[1] for p in pts])

    def near(self, lon: float, lat: float, max_range_m: float) -> tuple[np.ndarray, np.ndarray]:
        """The grid points within a range of a site."""
        _, _, dist = GEOD.inv(np.full(self.lon.shape, lon), np.full(self.lat.shape, lat), self.lon, self.lat)
        keep = np.asarray(dist) <= max_range_m
        return self.lon[keep], self.lat[keep]


class SimSensor:
    """Common part: schedule, random generator, visibility, clutter points, labels."""

    def __init__(self, cfg: SensorConfigBase, spec: SensorSpec, rng: np.random.Generator, water: WaterGrid) -> None:
        self.cfg = cfg
        self.spec = spec
        self.rng = rng
        self.labels: dict[str, str] = {}
        self._next_due = spec.phase_s
        self._numbers: dict[str, int] = {}
        self._next_clutter = _CLUTTER_NUMBERS[0]
        site = cfg.site
        if site is None and isinstance(cfg, RadarNmeaConfig | AsterixConfig | CameraConfig):
            raise ValueError(f"sensor {cfg.id}: a simulated radar or camera needs its site")
        self._site = (site.lon, site.lat) if site is not None else None
        self._clutter_pts: tuple[np.ndarray, np.ndarray] | None = None
        if self._site is not None and spec.max_range_m is not None:
            self._clutter_pts = water.near(*self._site, spec.max_range_m)

    def step(self, t_s: float, when: datetime, states: Sequence[EntityState]) -> list[bytes]:
        """Payloads to send at sim time ``t_s`` (empty between updates)."""
        if t_s + 1e-9 < self._next_due:
            return []
        while self._next_due <= t_s + 1e-9:
            self._next_due += self.spec.period_s
        return self.scan(t_s, when, states)

    def scan(self, t_s: float, when: datetime, states: Sequence[EntityState]) -> list[bytes]:
        raise NotImplementedError

    def visible(self, states: Sequence[EntityState]) -> list[tuple[EntityState, float, float]]:
        """Entities on the water in range (and sector) that this update detects: (state, bearing, range)."""
        assert self._site is not None
        out = []
        for s in states:
            if not s.entity.on_water:
                continue
            brg, dist = bearing_range(*self._site, s.lon, s.lat)
            if self.spec.max_range_m is not None and dist > self.spec.max_range_m:
                continue
            if self.spec.sector_deg is not None and not _in_sector(brg, *self.spec.sector_deg):
                continue
            p = self.spec.p_detect_person if s.entity.cls is TargetClass.PERSON else self.spec.p_detect
            if self.rng.random() < p:
                out.append((s, brg, dist))
        return out

    def clutter(self) -> list[tuple[float, float, float, float]]:
        """This update's false detections on the water: (lon, lat, bearing, range) each."""
        if self._clutter_pts is None or len(self._clutter_pts[0]) == 0 or self.spec.clutter_per_scan <= 0:
            return []
        assert self._site is not None
        out = []
        for _ in range(int(self.rng.poisson(self.spec.clutter_per_scan))):
            i = int(self.rng.integers(len(self._clutter_pts[0])))
            e, n = self.rng.normal(0.0, 20.0, 2)
            lon, lat = offset_point(float(self._clutter_pts[0][i]), float(self._clutter_pts[1][i]), e, n)
            brg, dist = bearing_range(*self._site, lon, lat)
            if self.spec.sector_deg is None or _in_sector(brg, *self.spec.sector_deg):
                out.append((lon, lat, brg, dist))
        return out

    def number(self, entity_id: str) -> int:
        """A stable track number per entity, from 1, in order of first detection."""
        if entity_id not in self._numbers:
            self._numbers[entity_id] = len(self._numbers) + 1
        return self._numbers[entity_id]

    def clutter_number(self) -> int:
        n = self._next_clutter
        self._next_clutter = n + 1 if n < _CLUTTER_NUMBERS[1] else _CLUTTER_NUMBERS[0]
        return n

    def noisy_velocity(self, s: EntityState) -> tuple[float, float]:
        speed = max(0.0, s.speed_mps + float(self.rng.normal(0.0, SPEED_SD_MPS)))
        return speed, (s.course_deg + float(self.rng.normal(0.0, COURSE_SD_DEG))) % 360.0


def _in_sector(bearing_deg: float, centre_deg: float, width_deg: float) -> bool:
    return abs((bearing_deg - centre_deg + 180.0) % 360.0 - 180.0) <= width_deg / 2.0


def _lines(lines: Sequence[str]) -> list[bytes]:
    return [("".join(line + "\r\n" for line in lines)).encode("ascii")] if lines else []


class NmeaRadarSim(SimSensor):
    """A shore radar's ARPA output: TTM (range/bearing) or TLL (lat/lon) lines, one batch per scan."""

    cfg: RadarNmeaConfig

    def scan(self, t_s: float, when: datetime, states: Sequence[EntityState]) -> list[bytes]:
        lines = []
        for s, brg, dist in self.visible(states):
            n = self.number(s.id)
            self.labels[f"{self.cfg.id}:{n}"] = s.id
            lines.append(self._sentence(n, s.lon, s.lat, brg, dist, *self.noisy_velocity(s), when))
        for lon, lat, brg, dist in self.clutter():
            n = self.clutter_number()
            self.labels[f"{self.cfg.id}:{n}"] = CLUTTER
            lines.append(self._sentence(n, lon, lat, brg, dist, abs(float(self.rng.normal(0, 0.5))), 0.0, when))
        return _lines(lines)

    def _sentence(
        self, n: int, lon: float, lat: float, brg: float, dist: float, speed: float, course: float, when: datetime
    ) -> str:
        if self.spec.nmea_sentence == "TLL":
            sd = self.cfg.tll_accuracy_m / math.sqrt(2.0)  # accuracy is the radial 1-sigma
            e, no = self.rng.normal(0.0, sd, 2)
            lon2, lat2 = offset_point(lon, lat, e, no)
            return encode_tll(n, lon2, lat2, "tracking", when)
        r = max(0.0, dist + float(self.rng.normal(0.0, self.cfg.range_sd_m)))
        b = (brg + float(self.rng.normal(0.0, self.cfg.bearing_sd_deg))) % 360.0
        return encode_ttm(n, r, b, speed, course, "tracking", when)


class AsterixRadarSim(SimSensor):
    """A radar sending ASTERIX CAT010 polar target reports, one data block per scan."""

    cfg: AsterixConfig

    def scan(self, t_s: float, when: datetime, states: Sequence[EntityState]) -> list[bytes]:
        sac, sic = self.spec.sac_sic
        tod = _time_of_day(when)
        reports = []
        targets = [
            (self.number(s.id), s.id, brg, dist, *self.noisy_velocity(s)) for s, brg, dist in self.visible(states)
        ]
        for _lon, _lat, brg, dist in self.clutter():
            targets.append((self.clutter_number(), CLUTTER, brg, dist, abs(float(self.rng.normal(0, 0.5))), 0.0))
        for n, label, brg, dist, speed, course in targets:
            self.labels[f"{sac}/{sic}:{n}"] = label
            r = max(0.0, dist + float(self.rng.normal(0.0, self.cfg.range_sd_m)))
            az = (brg + float(self.rng.normal(0.0, self.cfg.azimuth_sd_deg))) % 360.0
            reports.append(
                Cat010Report(
                    sac,
                    sic,
                    tod,
                    track_number=n,
                    range_m=r,
                    azimuth_deg=az,
                    speed_mps=speed,
                    course_deg=course,
                    status="confirmed",
                )
            )
        return [cat010_block(reports)] if reports else []


def _time_of_day(when: datetime) -> float:
    t = when.astimezone(UTC)
    return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6


class AisSim(SimSensor):
    """An AIS receiver (or network): position reports of the cooperative vessels it hears, every
    few seconds under way and less often moored, static data every few minutes; a vessel whose
    transponder is off (a dark target) is not heard. Lines carry a receiver-time tag block."""

    cfg: AisConfig

    def __init__(self, cfg: SensorConfigBase, spec: SensorSpec, rng: np.random.Generator, water: WaterGrid) -> None:
        super().__init__(cfg, spec, rng, water)
        self._next_position: dict[str, float] = {}
        self._next_static: dict[str, float] = {}
        self._seq = 0

    def scan(self, t_s: float, when: datetime, states: Sequence[EntityState]) -> list[bytes]:
        lines: list[str] = []
        for s in states:
            e = s.entity
            if not (s.ais_on and e.mmsi is not None) or not self._in_range(s):
                continue
            due = self._next_position.setdefault(e.id, t_s + float(self.rng.uniform(0.0, 3.0)))
            if t_s >= due - 1e-9:
                self._next_position[e.id] = t_s + _ais_interval(s)
                if self.rng.random() < self.spec.p_detect:  # a report lost on the radio
                    lines += self._position(s)
            if t_s >= self._next_static.get(e.id, t_s) - 1e-9:
                self._next_static[e.id] = t_s + self.spec.static_every_s
                lines += self._static(s)
        return _lines([with_tag_block(line, when) for line in lines])

    def _in_range(self, s: EntityState) -> bool:
        if self.spec.max_range_m is None or self._site is None:
            return True
        return bearing_range(*self._site, s.lon, s.lat)[1] <= self.spec.max_range_m

    def _position(self, s: EntityState) -> list[str]:
        e = s.entity
        assert e.mmsi is not None
        self.labels[str(e.mmsi)] = e.id
        lon, lat = offset_point(s.lon, s.lat, *self.rng.normal(0.0, AIS_GNSS_SD_M, 2))
        moored = s.speed_mps < 0.2
        return encode_position(
            e.mmsi,
            lon,
            lat,
            s.speed_mps / KNOT_MPS,
            None if moored else s.course_deg,
            None if moored else s.course_deg,
            msg_type=18 if e.ais_class_b else 1,
            status=5 if moored else 0,
            channel="A" if self._seq % 2 == 0 else "B",
        )

    def _static(self, s: EntityState) -> list[str]:
        e = s.entity
        assert e.mmsi is not None
        self._seq = (self._seq + 1) % 10
        return encode_static(
            e.mmsi, e.name, e.callsign, e.ship_type, e.length_m, e.beam_m, class_b=e.ais_class_b, seq_id=self._seq
        )


def _ais_interval(s: EntityState) -> float:
    """Reporting interval: Class A under way 6 s, Class B 15 s, moored 30 s."""
    if s.speed_mps < 0.2:
        return 30.0
    return 15.0 if s.entity.ais_class_b else 6.0
