"""Vessel static data joined to the MMSI: AIS types 5, 19 and 24 parts A/B merged per vessel.

A field a report does not carry (None) means "not said here", never "cleared": type 24 part A
carries the name only, part B the call sign, type and size.
"""

from __future__ import annotations

import dataclasses
import threading

from sensors.model import VesselStatic

_MERGED = ("name", "callsign", "ship_type", "length_m", "beam_m", "imo", "destination")


class VesselRegistry:
    """The latest known static data of every vessel seen, by MMSI (thread-safe)."""

    def __init__(self) -> None:
        self._by_mmsi: dict[int, VesselStatic] = {}
        self._lock = threading.Lock()

    def update(self, report: VesselStatic) -> VesselStatic:
        """Merge one report into what is known of its vessel; return the merged record."""
        with self._lock:
            old = self._by_mmsi.get(report.mmsi)
            if old is None:
                merged = dataclasses.replace(report, raw=b"")
            else:
                known = {f: getattr(report, f) for f in _MERGED if getattr(report, f) is not None}
                merged = dataclasses.replace(old, time=max(old.time, report.time), sensor_id=report.sensor_id, **known)
            self._by_mmsi[report.mmsi] = merged
            return merged

    def get(self, mmsi: int) -> VesselStatic | None:
        with self._lock:
            return self._by_mmsi.get(mmsi)

    def all(self) -> list[VesselStatic]:
        with self._lock:
            return sorted(self._by_mmsi.values(), key=lambda v: v.mmsi)
