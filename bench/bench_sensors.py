"""Benchmark of the sensor decoders: messages decoded per second on one core, per wire format.

Run: ``.venv/bin/python bench/bench_sensors.py [--messages 20000] [--repeat 5]``.
Each format's frames are made once with the project's encoders (and, for MAVLink, taken from
the real ArduSub log), then fed through a fresh ``SensorAdapter`` per repeat, as live traffic
is. Prints the median rate over repeats and checks the target of >= 20,000 messages/s for NMEA
radar and AIS.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from sensors.adapter import SensorAdapter, SystemClock
from sensors.ais import AisConfig, encode_position
from sensors.asterix import AsterixConfig
from sensors.asterix_encode import Cat010Report, cat010_block
from sensors.camera import CameraConfig, make_event
from sensors.config import SensorConfigBase, Site
from sensors.drone import DroneConfig, read_tlog
from sensors.radar_nmea import RadarNmeaConfig, encode_ttm
from sensors.registry import make_decoder

TARGET = 20_000
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SITE = Site(lon=27.80, lat=48.43, height_m=20)
TLOG = Path(__file__).resolve().parent.parent / "tests" / "data" / "mavlink" / "ardusub-small.tlog"


def _nmea(n: int, rng: np.random.Generator) -> list[bytes]:
    return [
        encode_ttm(
            i % 99 + 1,
            float(rng.uniform(100, 8000)),
            float(rng.uniform(0, 359)),
            3.0,
            90.0,
            "T",
            T0 + timedelta(seconds=i),
        ).encode()
        for i in range(n)
    ]


def _ais(n: int, rng: np.random.Generator) -> list[bytes]:
    return [
        encode_position(
            211000000 + i % 500, 28.0 + float(rng.uniform(0, 0.5)), 48.0 + float(rng.uniform(0, 0.3)), 5.0, 90.0, 88
        )[0].encode()
        for i in range(n)
    ]


def _asterix(n: int, rng: np.random.Generator) -> list[bytes]:
    """One CAT010 block of 10 reports per frame (as a radar sends a scan)."""
    frames = []
    for b in range(n // 10):
        reports = [
            Cat010Report(
                sac=1,
                sic=2,
                time_of_day_s=43200.0 + b,
                track_number=(b * 10 + k) % 4000 + 1,
                range_m=float(rng.uniform(100, 8000)),
                azimuth_deg=float(rng.uniform(0, 359)),
                speed_mps=3.0,
                course_deg=90.0,
            )
            for k in range(10)
        ]
        frames.append(cat010_block(reports))
    return frames


def _camera(n: int, rng: np.random.Generator) -> list[bytes]:
    return [
        make_event(
            "cam",
            T0 + timedelta(seconds=i),
            "person",
            0.9,
            bearing_deg=float(rng.uniform(0, 359)),
            depression_deg=float(rng.uniform(0.5, 5)),
            event_id=f"e{i}",
        )
        for i in range(n)
    ]


def _mavlink(n: int, _rng: np.random.Generator) -> list[bytes]:
    frames = [raw for _t, raw in read_tlog(TLOG)]
    return (frames * (n // len(frames) + 1))[:n]


FORMATS: dict[str, tuple[SensorConfigBase, Callable[[int, np.random.Generator], list[bytes]], int]] = {
    "radar_nmea": (RadarNmeaConfig(id="r", agency="MD", site=SITE), _nmea, 1),
    "ais": (AisConfig(id="a", agency="MD"), _ais, 1),
    "asterix_cat010": (AsterixConfig(id="x", agency="UA", site=SITE), _asterix, 10),
    "camera_json": (
        CameraConfig(
            id="cam",
            agency="MD",
            site=SITE,
            heading_deg=0,
            hfov_deg=30,
            vfov_deg=17,
            image_width_px=1920,
            image_height_px=1080,
        ),
        _camera,
        1,
    ),
    "mavlink": (DroneConfig(id="d", agency="UA"), _mavlink, 1),
}


def bench(name: str, n: int, repeat: int) -> dict[str, float]:
    cfg, make, per_frame = FORMATS[name]
    frames = make(n, np.random.default_rng(1))
    rates, accepted = [], 0
    for _ in range(repeat):
        adapter = SensorAdapter(cfg.id, make_decoder(cfg), lambda _m: None, SystemClock())
        t = time.perf_counter()
        for f in frames:
            adapter.ingest(f, T0)
        elapsed = time.perf_counter() - t
        h = adapter.health()
        accepted = h.accepted
        rates.append(len(frames) * per_frame / elapsed)
    return {
        "frames": len(frames),
        "accepted_per_run": accepted,
        "rejected": sum(h.rejected.values()),
        "messages_per_s_median": round(statistics.median(rates)),
        "messages_per_s_min": round(min(rates)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    logging.getLogger("sensors").setLevel(logging.ERROR)  # the real log's 4 bad CRCs, once per repeat
    results = {name: bench(name, args.messages, args.repeat) for name in FORMATS}
    print(json.dumps(results, indent=2))
    for name in ("radar_nmea", "ais"):
        rate = results[name]["messages_per_s_median"]
        print(f"{name}: {rate:,.0f} messages/s median, {'meets' if rate >= TARGET else 'MISSES'} {TARGET:,}/s")


if __name__ == "__main__":
    main()
