"""The in-process message bus (the default): topic strings, synchronous fan-out to subscribers.

Subjects follow the NATS layout used when the system runs as several processes:
``sensors.<agency>.<sensor_id>`` for sensor messages.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("sar.bus")

Handler = Callable[[str, Any], None]


class InProcessBus:
    """Publish/subscribe within one process; a failing subscriber never blocks the others."""

    def __init__(self) -> None:
        self._subs: list[tuple[str, Handler]] = []
        self.published = 0

    def subscribe(self, pattern: str, handler: Handler) -> None:
        """``pattern`` uses shell wildcards over the subject (``sensors.*``)."""
        self._subs.append((pattern, handler))

    def publish(self, subject: str, message: Any) -> None:
        self.published += 1
        for pattern, handler in self._subs:
            if fnmatch.fnmatchcase(subject, pattern):
                try:
                    handler(subject, message)
                except Exception:
                    log.exception("bus subscriber %s failed on %s", pattern, subject)
