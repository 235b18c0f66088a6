"""File replay: recordings (NMEA radar, AIS, ASTERIX, MAVLink tlog) fed through the same adapters
as live traffic, merged in time order, at original timing times a speed factor.

Timing comes from the data itself: tlog record stamps, AIS tag-block times, radar sentence
times, ASTERIX time of day. Frames that carry no time are stamped with the replay clock.
"""

from __future__ import annotations

import heapq
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from sensors.adapter import Framing, SensorAdapter, SensorHealth
from sensors.config import SensorConfigBase
from sensors.framing import StreamFramer
from sensors.model import SensorMessage
from sensors.registry import make_decoder

READ_CHUNK = 1 << 16


class ReplayError(Exception):
    """A recording cannot be replayed (missing, unreadable, unknown format)."""


def detect_format(path: Path) -> str:
    """Tell a recording's format from its extension or first bytes."""
    if path.suffix.lower() == ".tlog":
        return "drone_mavlink"
    try:
        with path.open("rb") as f:
            head = f.read(1 << 16)
    except OSError as exc:
        raise ReplayError(f"cannot read {path}: {exc.strerror}") from None
    if not head:
        raise ReplayError(f"{path} is empty")
    text = b"\n".join(line for line in head.splitlines() if not line.startswith(b"#")).lstrip()
    if text[:1] in (b"!", b"\\", b"$"):
        ais = head.count(b"VDM,") + head.count(b"VDO,")
        radar = head.count(b"TTM,") + head.count(b"TLL,")
        if ais or radar:
            return "ais" if ais >= radar else "radar_nmea"
    if head[0] in (10, 62) and len(head) >= 3 and int.from_bytes(head[1:3], "big") >= 3:
        return "radar_asterix"
    raise ReplayError(f"cannot tell the format of {path}: not AIVDM, radar NMEA (TTM/TLL), ASTERIX or a .tlog")


class ReplayClock:
    """The replay's notion of now: the latest message time seen (or the start time)."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, t: datetime) -> None:
        if t > self.current:
            self.current = t


@dataclass
class ReplaySummary:
    messages: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    first: datetime | None = None
    last: datetime | None = None
    sensors: list[SensorHealth] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "by_type": dict(self.by_type),
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "sensors": [
                {"sensor_id": h.sensor_id, "kind": h.kind.value, "accepted": h.accepted, "rejected": h.rejected}
                for h in self.sensors
            ],
        }


def _frames(path: Path, framing: Framing, fmt: str) -> Iterator[tuple[bytes, datetime | None, int]]:
    """(frame, stamp or None, bytes consumed) for one recording."""
    if fmt == "drone_mavlink":
        from sensors.drone import read_tlog

        for stamp, raw in read_tlog(path):
            yield raw, stamp, len(raw) + 8
        return
    framer = StreamFramer(framing)
    with path.open("rb") as f:
        yield from _framed(f, framer)
        tail, _ = framer.feed(b"\n" if framing is Framing.LINES else b"")
        for frame in tail:
            yield frame, None, 0


def _framed(f: IO[bytes], framer: StreamFramer) -> Iterator[tuple[bytes, datetime | None, int]]:
    """Frames of a file; in text recordings, lines starting with '#' are comments, not input."""
    while chunk := f.read(READ_CHUNK):
        frames, _rejects = framer.feed(chunk)
        share = len(chunk) // max(len(frames), 1)
        for frame in frames:
            if framer.framing is Framing.LINES and frame.startswith(b"#"):
                continue
            yield frame, None, share


def _stream(
    adapter: SensorAdapter, frames: Iterator[tuple[bytes, datetime | None, int]], clock: ReplayClock, bar: tqdm[Any]
) -> Iterator[tuple[datetime, int, SensorMessage]]:
    seq = 0
    for frame, stamp, size in frames:
        bar.update(size)
        for msg in adapter.ingest(frame, stamp or clock.now()):
            seq += 1
            yield msg.time, seq, msg


def replay(
    recordings: Sequence[tuple[Path, SensorConfigBase]],
    sink: Callable[[SensorMessage], None],
    speed: float = 1.0,
    progress: bool = True,
    start: datetime | None = None,
) -> ReplaySummary:
    """Replay recordings into ``sink``; ``speed`` 0 means as fast as possible."""
    clock = ReplayClock(start or datetime.now(UTC))
    total = sum(p.stat().st_size for p, _ in recordings)
    summary = ReplaySummary()
    adapters = []
    with tqdm(total=total, unit="B", unit_scale=True, disable=not progress, desc="replay") as bar:
        streams = []
        for path, cfg in recordings:
            adapter = SensorAdapter(cfg.id, make_decoder(cfg), lambda _m: None, clock, agency=cfg.agency)
            adapters.append(adapter)
            fmt = str(getattr(cfg, "type", ""))
            streams.append(_stream(adapter, _frames(path, adapter.decoder.framing, fmt), clock, bar))
        wall0, data0 = time.monotonic(), None
        for t, _seq, msg in heapq.merge(*streams, key=lambda item: (item[0], item[1])):
            data0 = data0 or t
            if speed > 0:
                delay = (t - data0).total_seconds() / speed - (time.monotonic() - wall0)
                if delay > 0:
                    time.sleep(delay)
            clock.advance(t)
            sink(msg)
            summary.messages += 1
            summary.by_type[type(msg).__name__] += 1
            summary.first = min(summary.first or t, t)
            summary.last = max(summary.last or t, t)
    summary.sensors = [a.health() for a in adapters]
    return summary


def recording_config(path: Path, fmt: str, agency: str, site: tuple[float, float] | None) -> SensorConfigBase:
    """A sensor configuration for a recording replayed without a configured sensor."""
    from sensors.registry import config_class

    sensor_id = re.sub(r"[^A-Za-z0-9_.:-]", "_", path.stem)[:64] or "recording"
    data: dict[str, Any] = {"type": fmt, "id": sensor_id, "agency": agency}
    if fmt.startswith("radar"):
        if site is None:
            raise ReplayError(f"{path}: a radar recording needs the radar site (--site LON,LAT)")
        data["site"] = {"lon": site[0], "lat": site[1]}
    return config_class(fmt).model_validate(data)
