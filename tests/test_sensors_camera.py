"""Camera detection events: the three geometries with hand-computed numbers, every reject reason,
the encoder/decoder round trip, and a fuzz through the adapter."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sensors.adapter import SensorAdapter
from sensors.camera import CameraConfig, CameraDecoder, make_event, range_from_depression
from sensors.model import BearingRange, Decoded, Observation, SensorKind, SensorMessage, TargetClass
from tests.conftest import REPO

CAM = "cam-md-1"
T0 = datetime(2024, 5, 1, 3, 12, 45, tzinfo=UTC)
# Hand values used below (height 20 m, hfov 60, vfov 34, 1920 x 1080):
#   tan(1 deg) = 0.0174550649, 20 / tan(1 deg) = 1145.7992 m
#   fx = 960 / tan(30 deg) = 1662.7688 px, fy = 540 / tan(17 deg) = 1766.2604 px
#   default bearing sd = max(0.2, 60 / 1920 * 3 = 0.09375) = 0.2 deg


def config(**kw: Any) -> CameraConfig:
    base: dict[str, Any] = {
        "id": CAM,
        "agency": "MD",
        "site": {"lon": 29.1, "lat": 47.3, "height_m": 20.0},
        "heading_deg": 90.0,
        "earth_curvature": False,
    }
    return CameraConfig.model_validate(base | kw)


def event(**kw: Any) -> bytes:
    doc: dict[str, Any] = {
        "schema": "dwatch.camera.v1",
        "camera_id": CAM,
        "time": "2024-05-01T03:12:45Z",
        "event_id": "e-1",
        "class": "person",
        "confidence": 0.87,
    }
    doc.update(kw)
    return json.dumps({k: v for k, v in doc.items() if v is not None}).encode()


def decode(frame: bytes, cfg: CameraConfig | None = None) -> Decoded:
    return CameraDecoder(cfg or config()).decode(frame, T0)


def one(frame: bytes, cfg: CameraConfig | None = None) -> tuple[Observation, BearingRange]:
    d = decode(frame, cfg)
    assert d.rejects == [] and len(d.messages) == 1, d
    obs = d.messages[0]
    assert isinstance(obs, Observation) and obs.bearing is not None
    return obs, obs.bearing


def reason(frame: bytes, cfg: CameraConfig | None = None) -> str:
    d = decode(frame, cfg)
    assert d.messages == [] and len(d.rejects) == 1, d
    assert "\n" not in d.rejects[0].detail
    return d.rejects[0].reason


# --- geometry 1: bearing, optional laser range -------------------------------------------------


def test_bearing_only_carries_site_and_config_sd() -> None:
    obs, b = one(event(bearing_deg=123.4, track_id=42))
    assert (b.origin_lon, b.origin_lat) == (29.1, 47.3)
    assert b.bearing_deg == 123.4 and b.bearing_sd_deg == 0.2
    assert b.range_m is None and b.range_sd_m is None and obs.position is None
    assert obs.sensor_id == CAM and obs.sensor_kind is SensorKind.CAMERA
    assert obs.time == T0 and obs.target_id == "cam-md-1:42" and obs.status is None
    assert obs.target_class is TargetClass.PERSON and obs.class_confidence == 0.87
    assert obs.raw == event(bearing_deg=123.4, track_id=42)


def test_laser_range_sd_is_one_percent_plus_5_m() -> None:
    _, b = one(event(bearing_deg=45.0, range_m=850.0))
    assert b.range_m == 850.0 and b.range_sd_m == pytest.approx(13.5)  # 8.5 + 5


def test_laser_range_is_kept_beyond_max_range() -> None:
    _, b = one(event(bearing_deg=45.0, range_m=7000.0))
    assert b.range_m == 7000.0 and b.range_sd_m == pytest.approx(75.0)


@pytest.mark.parametrize(("given_deg", "expected"), [(360.0, 0.0), (-10.0, 350.0), (-360.0, 0.0), (359.5, 359.5)])
def test_bearing_is_normalised(given_deg: float, expected: float) -> None:
    assert one(event(bearing_deg=given_deg))[1].bearing_deg == pytest.approx(expected, abs=1e-12)


def test_configured_bearing_sd_and_pixel_derived_default() -> None:
    assert one(event(bearing_deg=1.0), config(bearing_sd_deg=0.5))[1].bearing_sd_deg == 0.5
    # a wide thermal imager, 90 deg over 640 px: 90 / 640 * 3 = 0.421875 deg
    wide = config(hfov_deg=90.0, image_width_px=640, thermal=True)
    assert one(event(bearing_deg=1.0), wide)[1].bearing_sd_deg == pytest.approx(0.421875)


# --- geometry 2: bearing and depression ---------------------------------------------------------


def test_depression_flat_water_range_and_sd() -> None:
    _, b = one(event(bearing_deg=101.5, depression_deg=1.0))
    assert b.bearing_deg == 101.5
    assert b.range_m == pytest.approx(1145.8, abs=0.1)  # 20 / tan(1 deg) = 1145.80
    # angle: h / sin^2(1 deg) * 0.1 deg = 20 / 3.04586e-4 * 1.745329e-3 = 114.60 m
    # height: 0.5 m / tan(1 deg) = 28.64 m; in quadrature: 118.13 m
    assert b.range_sd_m == pytest.approx(118.13, abs=0.01)


def test_depression_with_earth_curvature() -> None:
    # a = (1 - 0.13) / (2 * 6371000) = 6.82781e-8; 4ah = 5.46225e-6; t^2 = 3.046793e-4
    # d = 2h / (t + sqrt(t^2 - 4ah)) = 40 / (0.01745506 + 0.01729789) = 1150.98 m
    _, b = one(event(bearing_deg=101.5, depression_deg=1.0), config(earth_curvature=True))
    assert b.range_m == pytest.approx(1150.98, abs=0.02)


def test_below_the_horizon_dip_gives_bearing_only() -> None:
    # dip = sqrt(4ah) = 2.33715e-3 rad = 0.1339 deg at 20 m: 0.12 deg never meets the water
    far = {"max_range_m": 50_000.0}
    assert one(event(bearing_deg=5.0, depression_deg=0.12), config(earth_curvature=True, **far))[1].range_m is None
    # on flat water it would: 20 / tan(0.12 deg) = 9549.3 m
    assert one(event(bearing_deg=5.0, depression_deg=0.12), config(**far))[1].range_m == pytest.approx(9549.3, abs=0.1)


def test_range_beyond_max_range_gives_bearing_only() -> None:
    _, b = one(event(bearing_deg=5.0, depression_deg=0.2))  # 20 / tan(0.2 deg) = 5729.6 m > 5000 m
    assert b.bearing_deg == 5.0 and b.range_m is None and b.range_sd_m is None
    _, b = one(event(bearing_deg=5.0, depression_deg=0.25))  # 20 / tan(0.25 deg) = 4583.6 m
    assert b.range_m == pytest.approx(4583.6, abs=0.1)


@pytest.mark.parametrize("dep", [0.0, -0.5, -90.0])
def test_depression_at_or_above_horizon_is_rejected(dep: float) -> None:
    assert reason(event(bearing_deg=5.0, depression_deg=dep)) == "no_depression"


def test_straight_down_is_range_zero() -> None:
    _, b = one(event(bearing_deg=5.0, depression_deg=90.0))
    assert b.range_m == pytest.approx(0.0, abs=1e-9) and b.range_sd_m is not None and b.range_sd_m > 0


# --- geometry 3: box, pan and tilt --------------------------------------------------------------

CENTRE_BOX = {"x": 940, "y": 500, "w": 40, "h": 40}  # bottom centre (960, 540) = image centre


def test_box_at_centre_bearing_is_heading_plus_pan() -> None:
    _, b = one(event(bbox=CENTRE_BOX, pan_deg=10.0, tilt_deg=-1.0))
    assert b.bearing_deg == 100.0  # 90 + 10 + atan(0)
    assert b.range_m == pytest.approx(1145.8, abs=0.1)  # depression = -tilt = 1 deg
    # bearing sd: hypot(1, 0.1 * 40) = 4.1231 px / fx = 0.14207 deg; hypot(0.2, 0.14207) = 0.24533
    assert b.bearing_sd_deg == pytest.approx(0.24533, abs=1e-5)
    # depression sd: 4.1231 px / fy = 0.13375 deg; hypot(0.1, 0.13375) = 0.16700 deg
    # range sd: hypot(65662.8 * 0.16700 deg in rad = 191.39, 28.64) = 193.52 m
    assert b.range_sd_m == pytest.approx(193.52, abs=0.01)


def test_box_bearing_wraps() -> None:
    _, b = one(event(bbox=CENTRE_BOX, pan_deg=1.0, tilt_deg=-1.0), config(heading_deg=359.5))
    assert b.bearing_deg == pytest.approx(0.5, abs=1e-12)  # 359.5 + 1 -> 0.5


def test_box_right_of_centre_uses_tangent_model() -> None:
    # bottom centre at x = 1440: u = 480 / 1662.7688 = 0.288675; tilt 0: atan(u) = 16.1021 deg
    # (the linear model would say 480 * 60 / 1920 = 15.0 deg); depression 0 -> no range
    box = {"x": 1420, "y": 500, "w": 40, "h": 40}
    assert reason(event(bbox=box, pan_deg=0.0, tilt_deg=0.0)) == "no_depression"
    # tilted 1 deg down: ahead = cos(1 deg) = 0.999848, up = -sin(1 deg) = -0.0174524
    #   bearing offset = atan2(0.288675, 0.999848) = 16.1044 deg
    #   depression = atan2(0.0174524, hypot(0.999848, 0.288675) = 1.040687) = 0.96077 deg
    #   range = 20 / tan(0.96077 deg) = 1192.60 m (the simple sum, 1.0 deg, would say 1145.8 m)
    _, b = one(event(bbox=box, pan_deg=0.0, tilt_deg=-1.0))
    assert b.bearing_deg == pytest.approx(90.0 + 16.1044, abs=1e-4)
    assert b.range_m == pytest.approx(1192.60, abs=0.01)


def test_box_below_centre_adds_depression() -> None:
    # tilt 0, bottom edge at y = 540 + fy * tan(1 deg) = 540 + 30.830 = 570.830: depression 1 deg
    box = {"x": 940, "y": 530.830, "w": 40, "h": 40}
    _, b = one(event(bbox=box, pan_deg=-30.0, tilt_deg=0.0))
    assert b.bearing_deg == 60.0 and b.range_m == pytest.approx(1145.8, abs=0.1)


def test_box_fields_of_view_from_event() -> None:
    # zoomed in to hfov 6 deg, vfov implied for square pixels: tan(vfov/2) = tan(3) * 1080 / 1920
    #   fy = 540 / (0.0524078 * 0.5625) = 18318.0 px; bottom 0.5 deg down: 540 + 18318.0 * 0.00872687
    #   = 699.86 px; tilt 0 -> depression 0.5 deg -> 20 / tan(0.5 deg) = 2291.8 m
    box = {"x": 950, "y": 679.86, "w": 20, "h": 20}
    _, b = one(event(bbox=box, pan_deg=0.0, tilt_deg=0.0, hfov_deg=6.0))
    assert b.range_m == pytest.approx(2291.8, abs=0.5)
    # square pixels: fx = fy = 18318.0 px; px term hypot(1, 0.1 * 20) = 2.236 px = 0.0070 deg:
    # hypot(0.2, 0.0070) = 0.20012 deg (at zoom 1 it would be 0.2 with 0.077 deg: 0.2143)
    assert b.bearing_sd_deg == pytest.approx(0.20012, abs=1e-5)


def test_box_beyond_image_is_bad_value() -> None:
    assert reason(event(bbox={"x": 1900, "y": 0, "w": 40, "h": 40}, pan_deg=0.0, tilt_deg=-1.0)) == "bad_value"
    small = {"bbox": {"x": 600, "y": 0, "w": 60, "h": 40}, "pan_deg": 0.0, "tilt_deg": -1.0, "image_width_px": 640}
    assert reason(event(**small)) == "bad_value"


# --- classes, ids, time --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "cls", "conf"),
    [
        ("person", TargetClass.PERSON, 0.87),
        ("Boat", TargetClass.VESSEL, 0.87),
        ("truck", TargetClass.VEHICLE, 0.87),
        ("drone", TargetClass.AIRCRAFT, 0.87),
        ("unknown", TargetClass.UNKNOWN, 0.0),
        ("kayak-ish", TargetClass.UNKNOWN, 0.0),
    ],
)
def test_class_mapping(label: str, cls: TargetClass, conf: float) -> None:
    obs, _ = one(event(bearing_deg=1.0, **{"class": label}))
    assert obs.target_class is cls and obs.class_confidence == conf


def test_no_track_id_no_target_id_and_string_track_id() -> None:
    assert one(event(bearing_deg=1.0))[0].target_id is None
    assert one(event(bearing_deg=1.0, track_id="t-17"))[0].target_id == "cam-md-1:t-17"


def test_time_with_offset_is_converted_to_utc() -> None:
    obs, _ = one(event(bearing_deg=1.0, time="2024-05-01T06:12:45.250+03:00"))
    assert obs.time == T0 + timedelta(milliseconds=250) and obs.time.utcoffset() == timedelta(0)


# --- rejects ---------------------------------------------------------------------------------------


def test_wrong_camera_and_naive_time() -> None:
    assert reason(event(bearing_deg=1.0, camera_id="cam-ua-7")) == "wrong_camera"
    assert reason(event(bearing_deg=1.0, time="2024-05-01T03:12:45")) == "naive_time"


@pytest.mark.parametrize("frame", [b"", b"{", b"not json", b'{"schema": "dwatch.camera.v1",}', b"\xff\xfe{}"])
def test_bad_json(frame: bytes) -> None:
    assert reason(frame) == "bad_json"


@pytest.mark.parametrize(
    "frame",
    [
        event(bearing_deg=1.0, colour="red"),  # extra field
        event(bearing_deg=1.0, schema="dwatch.camera.v2"),
        event(bearing_deg=1.0, confidence=1.2),
        event(bearing_deg=1.0, confidence="0.8"),  # strings are not numbers
        event(bearing_deg=1.0, time=1714533165),  # time is ISO 8601 text
        event(bearing_deg=1.0, range_m=-5.0),
        event(),  # no geometry
        event(bearing_deg=1.0, range_m=100.0, depression_deg=1.0),
        event(bearing_deg=1.0, bbox=CENTRE_BOX, pan_deg=0.0, tilt_deg=-1.0),
        event(bearing_deg=1.0, pan_deg=3.0),
        event(bbox=CENTRE_BOX, pan_deg=0.0),  # no tilt
        event(bbox={**CENTRE_BOX, "z": 1}, pan_deg=0.0, tilt_deg=-1.0),
        event(bearing_deg=1.0).replace(b'"bearing_deg": 1.0', b'"bearing_deg": NaN'),
        b"[]",
        b"42",
    ],
)
def test_schema_errors(frame: bytes) -> None:
    d = decode(frame)
    assert [r.reason for r in d.rejects] == ["schema_error"] and d.messages == []
    assert d.rejects[0].detail and "\n" not in d.rejects[0].detail


def test_schema_error_names_the_field() -> None:
    detail = decode(event(bearing_deg=1.0, colour="red")).rejects[0].detail
    assert detail.startswith("colour: Extra inputs are not permitted")


def test_too_large() -> None:
    frame = event(bearing_deg=1.0, track_id="x" * 70_000)
    d = decode(frame)
    assert [r.reason for r in d.rejects] == ["too_large"] and len(d.rejects[0].raw) == 80


def test_duplicate_event_is_dropped_once_accepted() -> None:
    dec = CameraDecoder(config())
    assert len(dec.decode(event(bearing_deg=1.0), T0).messages) == 1
    assert [r.reason for r in dec.decode(event(bearing_deg=2.0), T0).rejects] == ["duplicate"]
    assert len(dec.decode(event(bearing_deg=2.0, event_id="e-2"), T0).messages) == 1
    # a refused event is not remembered: its corrected resend passes
    assert dec.decode(event(bearing_deg=2.0, depression_deg=-1.0, event_id="e-3"), T0).rejects[0].reason == (
        "no_depression"
    )
    assert len(dec.decode(event(bearing_deg=2.0, depression_deg=1.0, event_id="e-3"), T0).messages) == 1


# --- config --------------------------------------------------------------------------------------


def test_config_requires_site_and_its_height() -> None:
    base = {"id": CAM, "agency": "MD", "heading_deg": 0.0}
    with pytest.raises(ValidationError, match="site"):
        CameraConfig.model_validate(base)
    with pytest.raises(ValidationError, match="height_m"):
        CameraConfig.model_validate(base | {"site": {"lon": 29.1, "lat": 47.3}})
    with pytest.raises(ValidationError, match="height_m"):
        CameraConfig.model_validate(base | {"site": {"lon": 29.1, "lat": 47.3, "height_m": 0}})
    with pytest.raises(ValidationError):
        CameraConfig.model_validate(base | {"site": {"lon": 29.1, "lat": 47.3, "height_m": 9}, "heading_deg": 360})
    assert config().type == "camera" and config().earth_curvature is False


# --- encoder --------------------------------------------------------------------------------------


def test_make_event_refuses_what_the_decoder_would() -> None:
    with pytest.raises(ValueError, match="timezone"):
        make_event(CAM, datetime(2024, 5, 1), "person", 0.5, bearing_deg=1.0)
    with pytest.raises(ValueError, match="range_m or depression_deg"):
        make_event(CAM, T0, "person", 0.5, bearing_deg=1.0, range_m=10.0, depression_deg=1.0)
    with pytest.raises(ValueError):
        make_event(CAM, T0, "person", 0.5, bearing_deg=math.nan)


def test_make_event_ids_are_deterministic_and_distinct() -> None:
    a = json.loads(make_event(CAM, T0, "person", 0.5, bearing_deg=1.0))
    b = json.loads(make_event(CAM, T0, "person", 0.5, bearing_deg=1.0))
    c = json.loads(make_event(CAM, T0, "person", 0.5, bearing_deg=2.0))
    assert a["event_id"] == b["event_id"] != c["event_id"]
    assert json.loads(make_event(CAM, T0, "person", 0.5, bearing_deg=1.0, event_id="mine"))["event_id"] == "mine"


def test_make_event_bbox_geometry_decodes() -> None:
    frame = make_event(CAM, T0, "vessel", 0.9, bbox=(940, 500, 40, 40), pan_deg=10.0, tilt_deg=-1.0, track_id=3)
    obs, b = one(frame)
    assert b.bearing_deg == 100.0 and b.range_m == pytest.approx(1145.8, abs=0.1) and obs.target_id == "cam-md-1:3"


offsets = st.integers(-12 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
times = st.datetimes(datetime(2020, 1, 1), datetime(2035, 1, 1), timezones=offsets)
labels = st.sampled_from(["person", "vessel", "vehicle", "boat", "debris"])
conf = st.floats(0.0, 1.0)


@settings(max_examples=150, deadline=None)
@given(
    t=times,
    label=labels,
    c=conf,
    bearing=st.floats(-360.0, 360.0),
    rng=st.none() | st.floats(1.0, 20_000.0),
    track=st.none() | st.integers(0, 10**6),
)
def test_round_trip_bearing_and_laser(
    t: datetime, label: str, c: float, bearing: float, rng: float | None, track: int | None
) -> None:
    obs, b = one(make_event(CAM, t, label, c, bearing_deg=bearing, range_m=rng, track_id=track))
    assert obs.time == t and obs.time.utcoffset() == timedelta(0)
    assert 0.0 <= b.bearing_deg < 360.0
    assert math.cos(math.radians(b.bearing_deg - bearing)) == pytest.approx(1.0, abs=1e-12)
    assert b.range_m == rng
    assert obs.class_confidence == c and obs.target_class is not TargetClass.UNKNOWN
    assert obs.target_id == (None if track is None else f"{CAM}:{track}")


@settings(max_examples=150, deadline=None)
@given(rng=st.floats(5.0, 4900.0), height=st.floats(2.0, 200.0), curved=st.booleans())
def test_round_trip_depression_inverts_range(rng: float, height: float, curved: bool) -> None:
    """Encode the depression a waterline at ``rng`` is seen under (tan dep = h/d + a d), decode the range."""
    cfg = config(site={"lon": 29.1, "lat": 47.3, "height_m": height}, earth_curvature=curved)
    dep = math.degrees(math.atan(height / rng + cfg.curvature_per_m * rng))
    _, b = one(make_event(CAM, T0, "vessel", 0.5, bearing_deg=10.0, depression_deg=dep), cfg)
    assert b.range_m == pytest.approx(rng, rel=1e-9)
    assert range_from_depression(height, dep, cfg.curvature_per_m) == pytest.approx(rng, rel=1e-9)


# --- the examples of docs/camera-events.md, and the fuzz ----------------------------------------


def doc_examples() -> list[bytes]:
    text = (REPO / "docs" / "camera-events.md").read_text(encoding="utf-8")
    return [block.encode() for block in re.findall(r"```json\n(.*?)```", text, flags=re.S)]


def test_doc_examples_decode() -> None:
    cfg = config(earth_curvature=True)
    bearings = [one(frame, cfg)[1] for frame in doc_examples()]
    assert [(b.bearing_deg, b.range_m is not None) for b in bearings] == [(123.4, True), (101.5, True), (100.0, True)]
    assert bearings[0].range_sd_m == pytest.approx(13.5)
    assert bearings[1].range_m == pytest.approx(1150.98, abs=0.02)


class Spy:
    """A decoder that records what the camera decoder returned, so rejects can be counted."""

    def __init__(self, inner: CameraDecoder) -> None:
        self.inner, self.kind, self.framing = inner, inner.kind, inner.framing
        self.rejects = 0

    def decode(self, frame: bytes, received_at: datetime) -> Decoded:
        d = self.inner.decode(frame, received_at)
        self.rejects += len(d.rejects)
        assert len(d.messages) + len(d.rejects) == 1
        return d


class FixedClock:
    def now(self) -> datetime:
        return T0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real example, changed at the byte level or one field replaced/removed/added."""
    frame = draw(st.sampled_from(doc_examples()))
    how = draw(st.sampled_from(["bytes", "field"]))
    if how == "bytes":
        data = bytearray(frame)
        for _ in range(draw(st.integers(1, 6))):
            i = draw(st.integers(0, len(data) - 1))
            op = draw(st.sampled_from(["flip", "delete", "insert"]))
            if op == "flip":
                data[i] ^= 1 << draw(st.integers(0, 7))
            elif op == "delete":
                del data[i]
            else:
                data.insert(i, draw(st.integers(0, 255)))
        return bytes(data)
    doc = json.loads(frame)
    key = draw(st.sampled_from([*doc, "bearing_deg", "depression_deg", "range_m", "tilt_deg", "hfov_deg", "x"]))
    if draw(st.booleans()) and key in doc:
        del doc[key]
    else:
        doc[key] = draw(json_values | st.floats(-1e6, 1e6))
    return json.dumps(doc).encode()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=st.lists(st.binary(max_size=300) | mutated(), min_size=1, max_size=8))
def test_fuzz_adapter_never_raises_and_counts_every_reject(frames: list[bytes]) -> None:
    spy = Spy(CameraDecoder(config(earth_curvature=True)))
    sunk: list[SensorMessage] = []
    adapter = SensorAdapter(CAM, spy, sunk.append, FixedClock(), agency="MD")
    returned = sum(len(adapter.ingest(frame)) for frame in frames)
    health = adapter.health()
    assert "decoder_error" not in health.rejected
    assert sum(health.rejected.values()) == spy.rejects
    assert health.accepted == returned == len(sunk) == len(frames) - spy.rejects
    for m in sunk:
        assert isinstance(m, Observation) and m.bearing is not None and 0 <= m.bearing.bearing_deg < 360
