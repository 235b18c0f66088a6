"""Simulated cameras (``dwatch.camera.v1`` JSON events) and drones (MAVLink), on top of
:mod:`sensors.sim.sensing`.

A camera reports boats and persons in range and in its sector with a class and a confidence,
in one of three geometries: bearing with depression to the waterline, bearing with a laser range,
or a pixel box with the pan/tilt it was taken at. Errors follow the camera's config (pointing,
tilt, laser) plus one pixel of box jitter, so the decoder's accuracies match. A drone reports its
own state (HEARTBEAT, GLOBAL_POSITION_INT, SYS_STATUS) and what its camera tracks below it
(CAMERA_TRACKING_GEO_STATUS), one camera component per tracked target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from sensors.camera import CameraConfig, make_event
from sensors.config import SensorConfigBase
from sensors.drone import DroneConfig, DroneEmitter
from sensors.model import TargetClass
from sensors.sim.sensing import CLUTTER, SensorSpec, SimSensor, WaterGrid
from sensors.sim.world import EntityState, bearing_range, offset_point

PIXEL_SD = 1.0
AIM_SD_DEG = (1.0, 0.3)  # how far from the image centre a PTZ operator leaves a target (pan, tilt)
CLUTTER_TRACKS = 9000
FIRST_CAMERA_COMPONENT = 100  # MAV_COMP_ID_CAMERA .. CAMERA6 (105): 100-104 for targets, 105 for false ones
TRACK_SLOTS = 5
DRONE_H_ACC_M = 15.0
STATUS_EVERY = 5
SORTIE_S = 1800.0  # battery goes from 100 % to 40 % over a sortie, then a fresh one


class CameraSim(SimSensor):
    """A thermal or visual camera with detection analytics, one JSON event per detection."""

    cfg: CameraConfig

    def __init__(self, cfg: SensorConfigBase, spec: SensorSpec, rng: np.random.Generator, water: WaterGrid) -> None:
        super().__init__(cfg, spec, rng, water)
        self._clutter_tracks = 0

    def scan(self, t_s: float, when: datetime, states: Sequence[EntityState]) -> list[bytes]:
        out = []
        for s, brg, dist in self.visible(states):
            person = s.entity.cls is TargetClass.PERSON
            size = (0.5, 0.4) if person else (s.entity.length_m, 2.0)
            track = self.number(s.id)
            confidence = round(float(self.rng.uniform(0.6, 0.95)), 2)
            ev = self._event(when, "person" if person else "boat", confidence, brg, dist, track, size)
            if ev is not None:
                self.labels[f"{self.cfg.id}:{track}"] = s.id
                out.append(ev)
        for _lon, _lat, brg, dist in self.clutter():
            self._clutter_tracks += 1
            track = CLUTTER_TRACKS + self._clutter_tracks
            label = "person" if self.rng.random() < 0.3 else "boat"
            confidence = round(float(self.rng.uniform(0.3, 0.5)), 2)
            ev = self._event(when, label, confidence, brg, dist, track, (3.0, 1.0))
            if ev is not None:
                self.labels[f"{self.cfg.id}:{track}"] = CLUTTER
                out.append(ev)
        return out

    def depression_deg(self, dist_m: float) -> float:
        """True depression of the waterline at a distance (the decoder's curved-earth model)."""
        return math.degrees(math.atan(self.cfg.site.height_m / dist_m + self.cfg.curvature_per_m * dist_m))

    def _event(
        self, when: datetime, label: str, conf: float, brg: float, dist: float, track: int, size: tuple[float, float]
    ) -> bytes | None:
        cfg, geometry = self.cfg, self.spec.camera_geometry
        if dist < 1.0:
            return None
        if geometry == "bbox":
            return self._bbox_event(when, label, conf, brg, dist, track, size)
        bearing = round((brg + float(self.rng.normal(0.0, cfg.bearing_sd))) % 360.0, 4)
        if geometry == "lrf":
            r = dist + float(self.rng.normal(0.0, dist * cfg.lrf_sd_fraction + cfg.lrf_sd_m))
            return make_event(
                cfg.id, when, label, conf, bearing_deg=bearing, range_m=round(max(r, 1.0), 1), track_id=track
            )
        dep = self.depression_deg(dist) + float(self.rng.normal(0.0, cfg.depression_sd_deg))
        if dep <= 0.001:
            return None
        return make_event(cfg.id, when, label, conf, bearing_deg=bearing, depression_deg=round(dep, 5), track_id=track)

    def _bbox_event(
        self, when: datetime, label: str, conf: float, brg: float, dist: float, track: int, size: tuple[float, float]
    ) -> bytes | None:
        """A pinhole camera aimed near the target: the box's bottom centre is the waterline."""
        cfg, rng = self.cfg, self.rng
        width, height = cfg.image_width_px, cfg.image_height_px
        fx = width / 2.0 / math.tan(math.radians(cfg.hfov_deg) / 2.0)
        fy = height / 2.0 / math.tan(math.radians(cfg.vfov_deg) / 2.0)
        dep = self.depression_deg(dist)
        pan = (brg - cfg.heading_deg + float(rng.normal(0.0, AIM_SD_DEG[0])) + 180.0) % 360.0 - 180.0
        tilt = -dep + float(rng.normal(0.0, AIM_SD_DEG[1]))
        a, d, t = math.radians(brg - cfg.heading_deg - pan), math.radians(dep), math.radians(tilt)
        z = math.cos(d) * math.cos(a) * math.cos(t) - math.sin(d) * math.sin(t)
        x = math.cos(d) * math.sin(a)
        y = math.cos(d) * math.cos(a) * math.sin(t) + math.sin(d) * math.cos(t)
        if z <= 0:
            return None
        cx = width / 2.0 + x / z * fx + float(rng.normal(0.0, PIXEL_SD))
        bottom = height / 2.0 + y / z * fy + float(rng.normal(0.0, PIXEL_SD))
        w, h = max(3.0, size[0] / dist * fx), max(3.0, size[1] / dist * fy)
        box = (round(cx - w / 2.0, 1), round(bottom - h, 1), round(w, 1), round(h, 1))
        if box[0] < 0 or box[1] < 0 or box[0] + box[2] > width or box[1] + box[3] > height:
            return None
        pan_read = round(pan + float(rng.normal(0.0, cfg.bearing_sd)), 4)  # the PTZ's reading errors
        tilt_read = round(tilt + float(rng.normal(0.0, cfg.depression_sd_deg)), 4)
        return make_event(cfg.id, when, label, conf, bbox=box, pan_deg=pan_read, tilt_deg=tilt_read, track_id=track)


class DroneSim(SimSensor):
    """A MAVLink link carrying one or more of our drones: telemetry every update (one datagram per
    drone) and tracked targets below each drone."""

    cfg: DroneConfig

    def __init__(self, cfg: SensorConfigBase, spec: SensorSpec, rng: np.random.Generator, water: WaterGrid) -> None:
        super().__init__(cfg, spec, rng, water)
        self._water = water
        self._emitters: dict[tuple[int, int], DroneEmitter] = {}
        self._slots: dict[int, dict[str, int]] = {}
        self._updates = 0

    def _mine(self, s: EntityState) -> bool:
        sid = s.entity.system_id
        if sid is None:
            return False
        return sid in self.spec.system_ids if self.spec.system_ids else s.entity.agency == self.cfg.agency

    def _emitter(self, system_id: int, component: int = 1) -> DroneEmitter:
        key = (system_id, component)
        if key not in self._emitters:
            self._emitters[key] = DroneEmitter(system_id, component)
        return self._emitters[key]

    def scan(self, t_s: float, when: datetime, states: Sequence[EntityState]) -> list[bytes]:
        self._updates += 1
        out = []
        for d in states:
            if self._mine(d):
                out.append(self._telemetry(d, t_s) + self._detections(d, states))
        return out

    def _telemetry(self, d: EntityState, t_s: float) -> bytes:
        assert d.entity.system_id is not None
        em = self._emitter(d.entity.system_id)
        lon, lat = offset_point(d.lon, d.lat, *self.rng.normal(0.0, 1.0, 2))
        course = math.radians(d.course_deg)
        north, east = d.speed_mps * math.cos(course), d.speed_mps * math.sin(course)
        boot_ms = int(t_s * 1000) % 2**32
        frames = em.heartbeat(mode="AUTO", armed=True) + em.global_position(
            lat, lon, d.entity.altitude_m, north, east, boot_ms
        )
        if self._updates % STATUS_EVERY == 1:
            frac = (d.t_s % SORTIE_S) / SORTIE_S
            battery = round(100 - 60 * frac)
            frames += em.sys_status(battery, round(14.0 + 2.8 * battery / 100.0, 2))
        return frames

    def _detections(self, d: EntityState, states: Sequence[EntityState]) -> bytes:
        assert d.entity.system_id is not None
        sid = d.entity.system_id
        slots = self._slots.setdefault(sid, {})
        frames = b""
        for s in states:
            if not s.entity.on_water or bearing_range(d.lon, d.lat, s.lon, s.lat)[1] > self.spec.footprint_m:
                continue
            p = self.spec.p_detect_person if s.entity.cls is TargetClass.PERSON else self.spec.p_detect
            if (s.id not in slots and len(slots) >= TRACK_SLOTS) or self.rng.random() >= p:
                continue
            comp = slots.setdefault(s.id, FIRST_CAMERA_COMPONENT + len(slots))
            self.labels[f"{self.cfg.id}:{sid}:{comp}"] = s.id
            frames += self._track(sid, comp, s.lon, s.lat, *self.noisy_velocity(s))
        for _ in range(int(self.rng.poisson(self.spec.clutter_per_scan))):
            lons, lats = self._water.near(d.lon, d.lat, self.spec.footprint_m)
            if len(lons):
                i = int(self.rng.integers(len(lons)))
                comp = FIRST_CAMERA_COMPONENT + TRACK_SLOTS
                self.labels[f"{self.cfg.id}:{sid}:{comp}"] = CLUTTER
                frames += self._track(sid, comp, float(lons[i]), float(lats[i]), 0.0, 0.0)
        return frames

    def _track(self, sid: int, comp: int, lon: float, lat: float, speed: float, course: float) -> bytes:
        lon, lat = offset_point(lon, lat, *self.rng.normal(0.0, DRONE_H_ACC_M / math.sqrt(2.0), 2))
        c = math.radians(course)
        return self._emitter(sid, comp).tracking(
            lat,
            lon,
            h_acc_m=DRONE_H_ACC_M,
            north_mps=speed * math.cos(c),
            east_mps=speed * math.sin(c),
            heading_deg=course,
        )
