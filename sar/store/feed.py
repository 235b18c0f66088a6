"""The ``alerted`` stage: when an incident first went out on ``/ws/live`` to a connected operator.

:class:`StageFeed` is the live feed with one addition: an incident counts as alerted when an
``incident`` message about it is queued to at least one connected ``/ws/live`` socket (any
reader: operator, admin or analyst; the feed does not know roles), or when a socket connects and
its first messages carry it (a ``resync`` carries every open incident; a resumed backlog the
incident messages it holds). Queued, not read: a socket whose page is frozen counts as shown.
A failure to record the stage is logged, never stops the feed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sar.live import LiveFeed, LiveMessage, Subscription
from sar.store.engine import StoreError
from sar.store.schema import Stage
from sar.store.store import Store

log = logging.getLogger("sar.store")


class StageFeed(LiveFeed):
    def __init__(
        self,
        clock: Callable[[], datetime],
        snapshot: Callable[[], dict[str, Any]],
        store: Store,
        open_incidents: Callable[[], Iterable[str]],
    ) -> None:
        super().__init__(clock, snapshot)
        self.store, self.open_incidents, self._now = store, open_incidents, clock

    def publish(self, type_: str, data: Any) -> LiveMessage:
        msg = super().publish(type_, data)
        if type_ == "incident" and self.subscribers and isinstance(data, dict):
            self._shown([str(data["id"])], msg.ts)
        return msg

    def subscribe(self, since: int | None) -> tuple[Subscription[LiveMessage], list[LiveMessage]]:
        sub, backlog = super().subscribe(since)
        if backlog and backlog[0].type == "resync":
            ids = list(self.open_incidents())
        else:
            ids = [str(json.loads(m.text)["data"]["id"]) for m in backlog if m.type == "incident"]
        if ids:
            self._shown(ids, self._now())
        return sub, backlog

    def _shown(self, incident_ids: list[str], time: datetime) -> None:
        for iid in dict.fromkeys(incident_ids):
            if self.store.has_stage(iid, Stage.ALERTED) or self.store.has_stage(iid, Stage.RESOLVED):
                continue
            try:
                self.store.record_stage(iid, Stage.ALERTED, time)
            except StoreError:
                log.exception("alerted stage of incident %s not recorded", iid)
