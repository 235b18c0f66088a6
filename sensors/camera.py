"""Camera detection events (thermal or visual, schema ``dwatch.camera.v1``): one JSON document per
detection, turned into a bearing (and, when it can be measured or derived, a range) from the camera.

Three geometries (see ``docs/camera-events.md``):

1. ``bearing_deg`` (true) with an optional laser ``range_m``;
2. ``bearing_deg`` with ``depression_deg`` to the target's waterline: range from the camera height;
3. ``bbox`` in pixels with the camera's ``pan_deg``/``tilt_deg``: an ideal pinhole camera (tangent
   model, no lens distortion, no roll) rotated by tilt then pan gives the ray to the bottom centre of
   the box (the waterline), hence its true bearing and depression, then range as in 2.

Range from depression: tan(dep) = h/d + d(1-k)/(2R) (earth curvature with refraction coefficient k;
flat water when curvature is off). Beyond the horizon or ``max_range_m`` only the bearing is sent.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sensors.adapter import Framing
from sensors.config import SensorConfigBase, Site
from sensors.model import BearingRange, Decoded, Observation, Reject, SensorKind, TargetClass

SCHEMA = "dwatch.camera.v1"
MAX_FRAME = 64 * 1024
EARTH_RADIUS_M = 6_371_000.0
DEDUP_WINDOW = 4096  # event ids remembered for de-duplication (MQTT QoS 1 redelivers)
_PIXEL_SD = 1.0  # px, quantisation and jitter of a box edge
_BOX_SD_FRACTION = 0.1  # of the box size: where in the box the target's reference point lies

CLASS_NAMES: dict[str, TargetClass] = {
    "person": TargetClass.PERSON,
    "human": TargetClass.PERSON,
    "pedestrian": TargetClass.PERSON,
    "swimmer": TargetClass.PERSON,
    "vessel": TargetClass.VESSEL,
    "boat": TargetClass.VESSEL,
    "ship": TargetClass.VESSEL,
    "vehicle": TargetClass.VEHICLE,
    "car": TargetClass.VEHICLE,
    "truck": TargetClass.VEHICLE,
    "aircraft": TargetClass.AIRCRAFT,
    "drone": TargetClass.AIRCRAFT,
    "uav": TargetClass.AIRCRAFT,
    "debris": TargetClass.DEBRIS,
    "unknown": TargetClass.UNKNOWN,
}


class CameraConfig(SensorConfigBase):
    """A camera on the bank: where it stands, how high above the water, where pan 0 points, and
    its optics at zoom 1 (used when an event does not give its own field of view)."""

    type: Literal["camera"] = "camera"
    site: Site
    heading_deg: float = Field(ge=0, lt=360, description="true bearing of pan 0")
    hfov_deg: float = Field(default=60.0, gt=0, lt=180)
    vfov_deg: float = Field(default=34.0, gt=0, lt=180)
    image_width_px: int = Field(default=1920, gt=0, le=100_000)
    image_height_px: int = Field(default=1080, gt=0, le=100_000)
    bearing_sd_deg: float | None = Field(default=None, gt=0, le=45, description="None: from the pixel size")
    depression_sd_deg: float = Field(default=0.1, gt=0, le=10, description="tilt reading / angle accuracy")
    height_sd_m: float = Field(default=0.5, ge=0, le=100, description="river level changes the lens height")
    lrf_sd_fraction: float = Field(default=0.01, ge=0, le=1, description="laser range finder, part of range")
    lrf_sd_m: float = Field(default=5.0, gt=0, le=1000, description="laser range finder, fixed part")
    max_range_m: float = Field(default=5000.0, gt=0, le=100_000, description="derived ranges beyond are dropped")
    earth_curvature: bool = True
    refraction_k: float = Field(default=0.13, ge=0, lt=1)
    thermal: bool = False

    @model_validator(mode="after")
    def _height_given(self) -> CameraConfig:
        if "height_m" not in self.site.model_fields_set or self.site.height_m <= 0:
            raise ValueError("a camera needs site.height_m > 0 given explicitly (range from depression uses it)")
        return self

    @property
    def bearing_sd(self) -> float:
        """Configured bearing accuracy, else 3 pixels at zoom 1, never below 0.2 deg (pointing)."""
        if self.bearing_sd_deg is not None:
            return self.bearing_sd_deg
        return max(0.2, self.hfov_deg / self.image_width_px * 3.0)

    @property
    def curvature_per_m(self) -> float:
        """The a in tan(dep) = h/d + a*d: (1 - k) / 2R, or 0 for flat water."""
        return (1.0 - self.refraction_k) / (2.0 * EARTH_RADIUS_M) if self.earth_curvature else 0.0


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class BBox(_Schema):
    """A detection box in pixels: top-left corner (x right, y down from the image's top-left) and size."""

    x: float = Field(ge=0, le=100_000)
    y: float = Field(ge=0, le=100_000)
    w: float = Field(gt=0, le=100_000)
    h: float = Field(gt=0, le=100_000)


class CameraEvent(_Schema):
    """One detection event as a camera's analytics sends it (JSON, schema ``dwatch.camera.v1``)."""

    schema_: Literal["dwatch.camera.v1"] = Field(alias="schema")
    camera_id: str = Field(min_length=1, max_length=64)
    time: datetime
    event_id: str = Field(min_length=1, max_length=128)
    label: str = Field(alias="class", min_length=1, max_length=32)
    confidence: float = Field(ge=0, le=1)
    track_id: str | int | None = None
    bearing_deg: float | None = Field(default=None, ge=-360, le=360)
    range_m: float | None = Field(default=None, gt=0, le=100_000)
    depression_deg: float | None = Field(default=None, ge=-90, le=90)
    bbox: BBox | None = None
    pan_deg: float | None = Field(default=None, ge=-360, le=360)
    tilt_deg: float | None = Field(default=None, ge=-90, le=90)
    hfov_deg: float | None = Field(default=None, gt=0, lt=180)
    vfov_deg: float | None = Field(default=None, gt=0, lt=180)
    image_width_px: int | None = Field(default=None, gt=0, le=100_000)
    image_height_px: int | None = Field(default=None, gt=0, le=100_000)

    @model_validator(mode="after")
    def _one_geometry(self) -> CameraEvent:
        box_only = {"pan_deg", "tilt_deg", "hfov_deg", "vfov_deg", "image_width_px", "image_height_px"}
        given = {k for k in self.model_fields_set if getattr(self, k) is not None}
        if self.bbox is not None:
            if not {"pan_deg", "tilt_deg"} <= given:
                raise ValueError("bbox needs pan_deg and tilt_deg")
            if given & {"bearing_deg", "range_m", "depression_deg"}:
                raise ValueError("bbox excludes bearing_deg, range_m and depression_deg")
        elif self.bearing_deg is None:
            raise ValueError("give bearing_deg (with range_m or depression_deg) or bbox with pan_deg/tilt_deg")
        elif given & box_only:
            raise ValueError(f"{', '.join(sorted(given & box_only))} only go with bbox")
        elif self.range_m is not None and self.depression_deg is not None:
            raise ValueError("give range_m or depression_deg, not both")
        return self


@dataclass(frozen=True)
class RangeFix:
    range_m: float
    range_sd_m: float


class _Refused(Exception):
    """A refused event inside the decoder (never leaves it): reason and detail of the Reject."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def range_from_depression(height_m: float, depression_deg: float, curvature_per_m: float = 0.0) -> float | None:
    """Distance over water to the point seen ``depression_deg`` below the horizontal from
    ``height_m``; the near root of a*d^2 - tan(dep)*d + h = 0. None when the ray misses the water
    (at or above the horizon, or beyond it on a curved earth)."""
    if not (depression_deg > 0 and height_m > 0):
        return None
    t = math.tan(math.radians(depression_deg))
    disc = t * t - 4.0 * curvature_per_m * height_m
    if disc < 0:
        return None
    return 2.0 * height_m / (t + math.sqrt(disc))  # = h / tan(dep) on flat water, stable near the horizon


def depression_range(config: CameraConfig, depression_deg: float, depression_sd_deg: float) -> RangeFix | None:
    """Range and its 1-sigma from a depression angle, propagating the angle and height errors:
    dd/ddep = (1 + t^2) d^2 / (h - a d^2), dd/dh = d / (h - a d^2). None beyond horizon or max range."""
    h, a = config.site.height_m, config.curvature_per_m
    d = range_from_depression(h, depression_deg, a)
    if d is None or d > config.max_range_m:
        return None
    t = math.tan(math.radians(depression_deg))
    denom = h - a * d * d
    if not denom > 0:
        return None
    per_rad = (d * d + (t * d) ** 2) / denom
    sd = math.hypot(per_rad * math.radians(depression_sd_deg), d / denom * config.height_sd_m)
    if not (math.isfinite(sd) and sd > 0):
        return None
    return RangeFix(d, sd)


def bbox_angles(config: CameraConfig, ev: CameraEvent) -> tuple[float, float, float, float]:
    """True bearing, depression and their 1-sigma (deg) of the box's bottom centre (the waterline)."""
    assert ev.bbox is not None and ev.pan_deg is not None and ev.tilt_deg is not None
    box = ev.bbox
    width = ev.image_width_px or config.image_width_px
    height = ev.image_height_px or config.image_height_px
    if box.x + box.w > width or box.y + box.h > height:
        raise _Refused("bad_value", f"bbox {box.x},{box.y},{box.w},{box.h} exceeds the image {width}x{height}")
    hfov, vfov = _fields_of_view(config, ev, width, height)
    fx = width / 2.0 / math.tan(math.radians(hfov) / 2.0)
    fy = height / 2.0 / math.tan(math.radians(vfov) / 2.0)
    u = (box.x + box.w / 2.0 - width / 2.0) / fx  # right, per unit of focal length
    v = (box.y + box.h - height / 2.0) / fy  # down
    tau = math.radians(ev.tilt_deg)
    ahead = math.cos(tau) + v * math.sin(tau)  # ray after tilt: ahead (horizontal), right, up
    up = math.sin(tau) - v * math.cos(tau)
    bearing = config.heading_deg + ev.pan_deg + math.degrees(math.atan2(u, ahead))
    depression = -math.degrees(math.atan2(up, math.hypot(ahead, u)))
    bearing_sd = math.hypot(config.bearing_sd, math.degrees(math.hypot(_PIXEL_SD, _BOX_SD_FRACTION * box.w) / fx))
    depression_sd = math.hypot(
        config.depression_sd_deg, math.degrees(math.hypot(_PIXEL_SD, _BOX_SD_FRACTION * box.h) / fy)
    )
    return bearing, depression, bearing_sd, depression_sd


def _fields_of_view(config: CameraConfig, ev: CameraEvent, width: int, height: int) -> tuple[float, float]:
    """The event's fields of view; one alone implies the other (square pixels); none: zoom 1."""
    if ev.hfov_deg is not None and ev.vfov_deg is not None:
        return ev.hfov_deg, ev.vfov_deg
    if ev.hfov_deg is not None:
        return ev.hfov_deg, 2.0 * math.degrees(math.atan(math.tan(math.radians(ev.hfov_deg) / 2) * height / width))
    if ev.vfov_deg is not None:
        return 2.0 * math.degrees(math.atan(math.tan(math.radians(ev.vfov_deg) / 2) * width / height)), ev.vfov_deg
    return config.hfov_deg, config.vfov_deg


def norm_deg(angle_deg: float) -> float:
    """An angle in [0, 360)."""
    a = angle_deg % 360.0
    return 0.0 if a >= 360.0 else a


def target_class(label: str) -> TargetClass:
    """The class for an analytics label; an unknown label is UNKNOWN, not refused (a detection of
    something the table does not name is still a detection)."""
    return CLASS_NAMES.get(label.strip().lower(), TargetClass.UNKNOWN)


class CameraDecoder:
    """Decodes one camera's JSON detection events into bearing observations from its site."""

    kind = SensorKind.CAMERA
    framing = Framing.DATAGRAM

    def __init__(self, config: CameraConfig) -> None:
        self.config = config
        self._seen: OrderedDict[str, None] = OrderedDict()

    def decode(self, frame: bytes, received_at: datetime) -> Decoded:
        """One frame = one JSON event: one observation, or one reject."""
        if len(frame) > MAX_FRAME:
            return Decoded(rejects=[Reject("too_large", f"frame of {len(frame)} bytes > {MAX_FRAME}", frame[:80])])
        try:
            ev = self._parse(frame)
            obs = self._observe(ev, frame)
        except _Refused as r:
            return Decoded(rejects=[Reject(r.reason, r.detail, frame)])
        except (ValueError, ArithmeticError) as exc:  # a model invariant: should not happen, never raise
            return Decoded(rejects=[Reject("bad_value", f"{type(exc).__name__}: {exc}"[:300], frame)])
        self._remember(ev.event_id)
        return Decoded(messages=[obs])

    def _parse(self, frame: bytes) -> CameraEvent:
        try:
            ev = CameraEvent.model_validate_json(frame)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
            if errors and errors[0]["type"] == "json_invalid":
                raise _Refused("bad_json", _one_line(errors[0]["msg"])) from None
            text = "; ".join(f"{'.'.join(map(str, e['loc'])) or '<document>'}: {e['msg']}" for e in errors)
            raise _Refused("schema_error", _one_line(text)) from None
        if ev.camera_id != self.config.id:
            raise _Refused("wrong_camera", _one_line(f"event of camera {ev.camera_id!r} sent to {self.config.id!r}"))
        if ev.time.tzinfo is None or ev.time.utcoffset() is None:
            raise _Refused("naive_time", f"time {ev.time.isoformat()} has no timezone")
        if ev.event_id in self._seen:
            raise _Refused("duplicate", _one_line(f"event {ev.event_id!r} already received"))
        return ev

    def _line_of_sight(self, ev: CameraEvent) -> tuple[float, float, RangeFix | None]:
        """Bearing (any turn), its sd, and the range when measured or derivable within limits."""
        cfg = self.config
        depression: float | None
        if ev.bbox is not None:
            bearing, depression, bearing_sd, depression_sd = bbox_angles(cfg, ev)
        else:
            assert ev.bearing_deg is not None
            bearing, bearing_sd = ev.bearing_deg, cfg.bearing_sd
            depression, depression_sd = ev.depression_deg, cfg.depression_sd_deg
            if ev.range_m is not None:
                return bearing, bearing_sd, RangeFix(ev.range_m, ev.range_m * cfg.lrf_sd_fraction + cfg.lrf_sd_m)
        if depression is None:
            return bearing, bearing_sd, None
        if not depression > 0:
            raise _Refused("no_depression", f"depression {depression:.3f} deg: target at or above the horizon")
        return bearing, bearing_sd, depression_range(cfg, depression, depression_sd)

    def _observe(self, ev: CameraEvent, frame: bytes) -> Observation:
        cfg = self.config
        bearing, bearing_sd, fix = self._line_of_sight(ev)
        cls = target_class(ev.label)
        return Observation(
            sensor_id=cfg.id,
            sensor_kind=SensorKind.CAMERA,
            time=ev.time.astimezone(UTC),
            bearing=BearingRange(
                origin_lon=cfg.site.lon,
                origin_lat=cfg.site.lat,
                bearing_deg=norm_deg(bearing),
                bearing_sd_deg=bearing_sd,
                range_m=fix.range_m if fix else None,
                range_sd_m=fix.range_sd_m if fix else None,
            ),
            target_id=f"{cfg.id}:{ev.track_id}" if ev.track_id is not None else None,
            target_class=cls,
            class_confidence=0.0 if cls is TargetClass.UNKNOWN else ev.confidence,
            raw=frame,
        )

    def _remember(self, event_id: str) -> None:
        self._seen[event_id] = None
        while len(self._seen) > DEDUP_WINDOW:
            self._seen.popitem(last=False)


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def make_event(
    camera_id: str,
    time: datetime,
    cls: str,
    confidence: float,
    bearing_deg: float | None = None,
    range_m: float | None = None,
    depression_deg: float | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    pan_deg: float | None = None,
    tilt_deg: float | None = None,
    hfov_deg: float | None = None,
    vfov_deg: float | None = None,
    image_width_px: int | None = None,
    image_height_px: int | None = None,
    track_id: str | int | None = None,
    event_id: str | None = None,
) -> bytes:
    """A ``dwatch.camera.v1`` event as JSON bytes (for the scenario simulator); ``bbox`` is
    (x, y, w, h). The default event id is a hash of the content (deterministic, unique per event).
    Raises ValueError if the event would not pass the schema."""
    if time.tzinfo is None or time.utcoffset() is None:
        raise ValueError("event time must be timezone-aware")
    doc: dict[str, object] = {"schema": SCHEMA, "camera_id": camera_id, "time": time.isoformat()}
    doc.update({"class": cls, "confidence": confidence, "track_id": track_id})
    doc.update({"bearing_deg": bearing_deg, "range_m": range_m, "depression_deg": depression_deg})
    if bbox is not None:
        doc["bbox"] = dict(zip(("x", "y", "w", "h"), bbox, strict=True))
    doc.update({"pan_deg": pan_deg, "tilt_deg": tilt_deg, "hfov_deg": hfov_deg, "vfov_deg": vfov_deg})
    doc.update({"image_width_px": image_width_px, "image_height_px": image_height_px})
    doc = {k: v for k, v in doc.items() if v is not None}
    body = json.dumps(doc, sort_keys=True, allow_nan=False)
    doc["event_id"] = event_id or hashlib.sha256(body.encode()).hexdigest()[:20]
    out = json.dumps(doc, allow_nan=False).encode()
    try:
        CameraEvent.model_validate_json(out)
    except ValidationError as exc:
        raise ValueError(_one_line(str(exc))) from None
    return out
