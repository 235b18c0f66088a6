"""The live feed: seq without gaps, resume from history, resync when too old, slow clients cut."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

import sar.live
from sar.live import ClientTooSlow, LiveFeed

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def feed() -> LiveFeed:
    return LiveFeed(lambda: T0, lambda: {"tracks": [], "incidents": [], "sensors": []})


def test_resume_gets_exactly_what_was_missed() -> None:
    async def main() -> None:
        f = feed()
        for i in range(10):
            f.publish("incident", {"n": i})
        _, backlog = f.subscribe(since=6)
        assert [json.loads(m.text)["seq"] for m in backlog] == [7, 8, 9, 10]
        assert json.loads(backlog[0].text) == {"type": "incident", "seq": 7, "ts": T0.isoformat(), "data": {"n": 6}}
        _, fresh = f.subscribe(since=None)
        assert [m.type for m in fresh] == ["resync"] and fresh[0].seq == 10

    asyncio.run(main())


def test_history_is_bounded_by_bytes_and_too_old_resyncs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sar.live, "HISTORY_BYTES", 2000)

    async def main() -> None:
        f = feed()
        for i in range(100):
            f.publish("tracks", {"pad": "x" * 100, "n": i})
        _, backlog = f.subscribe(since=1)
        assert [m.type for m in backlog] == ["resync"]
        _, recent = f.subscribe(since=95)
        assert [m.seq for m in recent] == [96, 97, 98, 99, 100]

    asyncio.run(main())


def test_slow_client_is_cut_not_fed_a_gapped_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sar.live, "CLIENT_QUEUE", 3)

    async def main() -> None:
        f = feed()
        sub, _ = f.subscribe(since=0)
        for i in range(5):
            f.publish("incident", {"n": i})
        got = [(await sub.next()).seq for _ in range(3)]
        assert got == [1, 2, 3]
        with pytest.raises(ClientTooSlow):
            await sub.next()

    asyncio.run(main())
