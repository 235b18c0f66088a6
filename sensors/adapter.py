"""The adapter around a decoder: counts, logs (with the sensor id) and skips bad input, keeps
health, and hands every accepted message to a sink. Nothing a sensor sends can raise out of it.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from sensors.model import Decoded, Reject, SensorKind, SensorMessage

log = logging.getLogger("sensors")

RATE_WINDOW_S = 60
_LOG_FIRST = 5
_LOG_EVERY = 1000


class Framing(StrEnum):
    """How a byte stream is cut into the frames a decoder takes."""

    LINES = "lines"  # NMEA 0183 / AIVDM: one sentence per line
    ASTERIX = "asterix"  # data blocks: CAT (1 byte), LEN (2 bytes, big-endian) including header
    DATAGRAM = "datagram"  # one document per datagram / message / POST body (camera JSON)
    STREAM = "stream"  # arbitrary chunks, the decoder keeps its own parser (MAVLink)


class Decoder(Protocol):
    """Turns one frame into messages and rejects. May keep state across frames (AIS fragments,
    MAVLink parser); must not raise on bad input (the adapter still guards against it)."""

    kind: SensorKind
    framing: Framing

    def decode(self, frame: bytes, received_at: datetime) -> Decoded: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class HealthStatus(StrEnum):
    NO_DATA = "no_data"
    OK = "ok"
    STALE = "stale"


@dataclass(frozen=True)
class SensorHealth:
    """A snapshot of one sensor's health."""

    sensor_id: str
    kind: SensorKind
    agency: str
    status: HealthStatus
    last_message_at: datetime | None
    rate_per_s: float
    accepted: int
    rejected: dict[str, int]
    expected_period_s: float


@dataclass
class _Counters:
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    last_at: datetime | None = None
    buckets: deque[list[int]] = field(default_factory=deque)  # [unix second, count]


class SensorAdapter:
    """One configured sensor: its decoder, its health, and where its messages go."""

    def __init__(
        self,
        sensor_id: str,
        decoder: Decoder,
        sink: Callable[[SensorMessage], None],
        clock: Clock,
        agency: str = "",
        expected_period_s: float = 10.0,
        stale_after_periods: float = 3.0,
    ) -> None:
        self.sensor_id = sensor_id
        self.decoder = decoder
        self.sink = sink
        self.clock = clock
        self.agency = agency
        self.expected_period_s = expected_period_s
        self.stale_after_s = stale_after_periods * expected_period_s
        self._c = _Counters()

    @property
    def kind(self) -> SensorKind:
        return self.decoder.kind

    def ingest(self, frame: bytes, received_at: datetime | None = None) -> list[SensorMessage]:
        """Decode one frame; count and log rejects; pass accepted messages to the sink."""
        at = received_at or self.clock.now()
        try:
            decoded = self.decoder.decode(frame, at)
        except Exception as exc:  # a decoder bug must not take the sensor down
            log.exception("sensor %s: decoder failed on %r", self.sensor_id, frame[:80])
            decoded = Decoded(rejects=[Reject("decoder_error", f"{type(exc).__name__}: {exc}", frame)])
        for r in decoded.rejects:
            self.reject(r)
        for m in decoded.messages:
            self._accept(at)
            try:
                self.sink(m)
            except Exception:
                log.exception("sensor %s: sink failed on a message", self.sensor_id)
        return decoded.messages

    def reject(self, r: Reject) -> None:
        """Count a reject by reason and log it (the first few of each reason, then one in 1000)."""
        n = self._c.rejected.get(r.reason, 0) + 1
        self._c.rejected[r.reason] = n
        if n <= _LOG_FIRST or n % _LOG_EVERY == 0:
            log.warning("sensor %s rejected input (%s, #%d): %s", self.sensor_id, r.reason, n, r.detail)

    def _accept(self, at: datetime) -> None:
        c = self._c
        c.accepted += 1
        c.last_at = at if c.last_at is None or at > c.last_at else c.last_at
        sec = int(at.timestamp())
        if c.buckets and c.buckets[-1][0] == sec:
            c.buckets[-1][1] += 1
        else:
            c.buckets.append([sec, 1])
            while c.buckets and c.buckets[0][0] <= sec - RATE_WINDOW_S:
                c.buckets.popleft()

    def rejected(self) -> dict[str, int]:
        """Rejects so far, by reason."""
        return dict(self._c.rejected)

    def health(self) -> SensorHealth:
        c = self._c
        now = self.clock.now()
        since = int(now.timestamp()) - RATE_WINDOW_S
        recent = sum(n for s, n in c.buckets if s > since)
        if c.last_at is None:
            status = HealthStatus.NO_DATA
        elif (now - c.last_at).total_seconds() > self.stale_after_s:
            status = HealthStatus.STALE
        else:
            status = HealthStatus.OK
        return SensorHealth(
            sensor_id=self.sensor_id,
            kind=self.kind,
            agency=self.agency,
            status=status,
            last_message_at=c.last_at,
            rate_per_s=round(recent / RATE_WINDOW_S, 3),
            accepted=c.accepted,
            rejected=dict(c.rejected),
            expected_period_s=self.expected_period_s,
        )
