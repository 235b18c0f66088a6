"""A task that calls a function every few seconds on the event loop, for the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable


class Periodic:
    """Calls ``fn`` every ``period_s``; an exception is logged with ``what`` and never stops it."""

    def __init__(self, name: str, period_s: float, fn: Callable[[], object], log: logging.Logger, what: str) -> None:
        self.name, self.period_s, self.fn, self.log, self.what = name, period_s, fn, log, what
        self._task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        while True:
            try:
                self.fn()
            except Exception:  # one failed call must not stop the next ones
                self.log.exception("%s failed", self.what)
            await asyncio.sleep(self.period_s)

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
