"""What is kept periodically rather than written through: it changes often and losing its last
second in a crash costs little.

Every ``period_s`` (1 s): sensor status changes (ok / stale / no_data), asset positions that moved
(AIS, MAVLink and crew reports), order ETAs refreshed by those positions. Every
``storage.track_every_s``: one point per confirmed track (downsampled history). At start and then
every ``cleanup_every_s``: track points older than ``storage.track_retention_days`` are deleted.
Track points are written in a worker thread (hundreds of rows); the rest on the event loop. A
failed write is logged and tried again on the next round, never stops the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sar.dispatch.fleet import Fleet
from sar.dispatch.orders import OrderBook
from sar.store.store import Store
from sar.tracking.model import Track, TrackStatus
from sensors.adapter import Clock, SensorHealth

log = logging.getLogger("sar.store")


class Keeper:
    def __init__(
        self,
        store: Store,
        tracks: Callable[[], Sequence[Track]],
        health: Callable[[], Sequence[SensorHealth]],
        fleet: Fleet,
        orders: OrderBook,
        clock: Clock,
        period_s: float = 1.0,
        cleanup_every_s: float = 3600.0,
    ) -> None:
        self.store, self.tracks, self.health, self.fleet, self.orders = store, tracks, health, fleet, orders
        self.clock, self.period_s, self.cleanup_every_s = clock, period_s, cleanup_every_s
        self.track_every = timedelta(seconds=store.settings.track_every_s)
        self._tracks_at: datetime | None = None
        self._cleaned_at: datetime | None = None
        self._last_point: dict[str, datetime] = {}
        self._task: asyncio.Task[None] | None = None

    def step(self, now: datetime) -> None:
        """The quick part (event loop): sensors, positions, ETAs."""
        self.store.sensor_health(self.health(), now)
        self.store.asset_positions(self.fleet.all())
        self.store.order_etas(self.orders.list(open_only=True))

    def track_rows(self, now: datetime) -> list[dict[str, Any]]:
        """One row per confirmed track updated since its last kept point, when a round is due."""
        if self._tracks_at is not None and now - self._tracks_at < self.track_every:
            return []
        self._tracks_at = now
        rows, tracks = [], self.tracks()
        for t in tracks:
            if t.status is not TrackStatus.CONFIRMED or self._last_point.get(t.id) == t.time:
                continue
            self._last_point[t.id] = t.time
            rows.append(
                {
                    "track_id": t.id,
                    "time": t.time,
                    "lon": t.lon,
                    "lat": t.lat,
                    "speed_mps": round(t.speed_mps, 3),
                    "target_class": t.target_class.value,
                    "cooperative": t.cooperative(now),
                    "mmsi": t.mmsi,
                }
            )
        alive = {t.id for t in tracks}
        self._last_point = {k: v for k, v in self._last_point.items() if k in alive}
        return rows

    async def round(self) -> None:
        now = self.clock.now()
        try:
            self.step(now)
            rows = self.track_rows(now)
            if rows:
                await asyncio.to_thread(self.store.add_track_points, rows)
            if self._cleaned_at is None or (now - self._cleaned_at).total_seconds() >= self.cleanup_every_s:
                self._cleaned_at = now
                cutoff = now - timedelta(days=self.store.settings.track_retention_days)
                await asyncio.to_thread(self.store.delete_track_points, cutoff)
        except Exception:  # a failed round (database down, a bug) must not stop the next ones
            log.exception("periodic storage round failed")

    async def run(self) -> None:
        while True:
            await self.round()
            await asyncio.sleep(self.period_s)

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="store-keeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
