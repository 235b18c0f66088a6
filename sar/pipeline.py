"""The live pipeline of one process: sensor messages -> tracker -> incident rules -> live feed.

Sensor messages arrive on the bus (from the event loop: UDP, TCP, MQTT via the loop, HTTP);
a periodic tick advances the tracker to the clock (the tracker keeps a small lag to put
slightly late observations in order), evaluates the incident rules and publishes what changed
on the live feed. Sensor health goes out every few ticks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from geo.river import RiverModel
from sar.incidents.book import IncidentBook
from sar.live import LiveFeed
from sar.tracking.geojson import feature_collection, track_features
from sar.tracking.model import Track, TrackStatus
from sar.tracking.tracker import Tracker
from sensors.adapter import Clock
from sensors.hub import SensorHub
from sensors.model import Observation
from sensors.serialize import to_jsonable

log = logging.getLogger("sar.pipeline")

_SHOWN = frozenset({TrackStatus.CONFIRMED, TrackStatus.COASTING})


class PipelineSettings(BaseModel):
    """How often the pipeline works: the tick (tracker + urgent rules + incidents out), the
    map's track updates (changes gathered between two), sensor health."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tick_s: float = Field(default=0.05, gt=0, le=5)
    tracks_every_s: float = Field(
        default=0.5, gt=0, le=10, description="track changes are sent to the map this often (all gathered)"
    )
    sensors_every_s: float = Field(default=5.0, gt=0)


class Pipeline:
    """Owns the tick task; everything else is passed in."""

    def __init__(
        self,
        river: RiverModel,
        tracker: Tracker,
        book: IncidentBook,
        hub: SensorHub,
        feed: LiveFeed,
        clock: Clock,
        settings: PipelineSettings | None = None,
    ) -> None:
        self.river, self.tracker, self.book, self.hub, self.feed, self.clock = river, tracker, book, hub, feed, clock
        self.settings = settings or PipelineSettings()
        self._task: asyncio.Task[None] | None = None
        self._changed: dict[str, Track] = {}  # track changes not yet sent to the map
        self._deleted: set[str] = set()
        self._tracks_sent_at: datetime | None = None

    def on_bus(self, _subject: str, msg: object) -> None:
        if isinstance(msg, Observation):
            self.tracker.add(msg)

    def tick(self) -> None:
        """Advance the tracker, evaluate the rules and publish incidents at once; gather the
        track changes and send them every ``tracks_every_s`` (incidents first: they are urgent)."""
        now = self.clock.now()
        update = self.tracker.advance(now)
        for t in update.updated:
            if t.status in _SHOWN:
                self._changed[t.id] = t
                self._deleted.discard(t.id)
        for tid in update.deleted:
            self._changed.pop(tid, None)
            self._deleted.add(tid)
        for incident in self.book.evaluate(now, self.tracker.tracks()):
            self.feed.publish("incident", incident.to_dict())
        since = None if self._tracks_sent_at is None else (now - self._tracks_sent_at).total_seconds()
        due = since is None or since >= self.settings.tracks_every_s - self.settings.tick_s / 2
        if due and (self._changed or self._deleted):
            shown, deleted = list(self._changed.values()), sorted(self._deleted)
            self._changed, self._deleted, self._tracks_sent_at = {}, set(), now
            self.feed.publish("tracks", {"updated": track_features(shown, self.river, now), "deleted": deleted})

    def publish_sensors(self) -> None:
        self.feed.publish("sensors", to_jsonable(self.hub.health()))

    def snapshot(self) -> dict[str, Any]:
        """The whole picture, for a client that (re)connects too late to resume."""
        now = self.clock.now()
        return {
            "tracks": feature_collection(track_features(self.tracker.tracks(), self.river, now)),
            "incidents": [i.to_dict() for i in self.book.list()],
            "sensors": to_jsonable(self.hub.health()),
        }

    async def run(self) -> None:
        """Tick at a fixed rate (the tick's own work does not stretch the period; a late tick
        is followed at once by the next, never by a burst)."""
        loop = asyncio.get_running_loop()
        every = max(1, round(self.settings.sensors_every_s / self.settings.tick_s))
        n = 0
        due = loop.time()
        while True:
            try:
                self.tick()
                if n % every == 0:
                    self.publish_sensors()
            except Exception:  # one bad tick must not stop the picture
                log.exception("pipeline tick failed")
            n += 1
            due = max(due + self.settings.tick_s, loop.time())
            await asyncio.sleep(due - loop.time())

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="pipeline")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
