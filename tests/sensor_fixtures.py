"""Test fixtures for the sensor machinery: a manual clock and a tiny line decoder."""

from __future__ import annotations

from datetime import UTC, datetime

from sensors.adapter import Framing
from sensors.model import Decoded, Observation, Position, Reject, SensorKind

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class ManualClock:
    def __init__(self, t: datetime) -> None:
        self.t = t

    def now(self) -> datetime:
        return self.t


class LineDecoder:
    """A fixture decoder: 'lon,lat' lines become observations, anything else a reject;
    the line 'boom' raises, as a buggy decoder would."""

    kind = SensorKind.RADAR
    framing = Framing.LINES

    def decode(self, frame: bytes, received_at: datetime) -> Decoded:
        if frame == b"boom":
            raise RuntimeError("decoder bug")
        try:
            lon, lat = (float(v) for v in frame.split(b","))
            pos = Position(lon, lat, 10.0)
        except ValueError as exc:
            return Decoded(rejects=[Reject("bad_line", str(exc), frame)])
        return Decoded(messages=[Observation("s1", SensorKind.RADAR, received_at, position=pos)])
