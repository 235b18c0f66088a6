"""The sensor adapter machinery: framing, reject counting, health, bus fan-out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sar.bus import InProcessBus
from sensors.adapter import Framing, HealthStatus, SensorAdapter
from sensors.framing import StreamFramer, split_datagram
from sensors.model import SensorMessage
from tests.sensor_fixtures import T0, LineDecoder, ManualClock


def test_line_framer_keeps_partial_lines_across_chunks() -> None:
    f = StreamFramer(Framing.LINES)
    assert f.feed(b"!AIVDM,1\r\n!AIV") == ([b"!AIVDM,1"], [])
    assert f.feed(b"DM,2\n\n") == ([b"!AIVDM,2"], [])
    frames, rejects = f.feed(b"x" * 5000 + b"\nok\n")
    assert frames == [b"ok"] and [r.reason for r in rejects] == ["line_too_long"]


def test_asterix_framer_cuts_blocks_by_length() -> None:
    f = StreamFramer(Framing.ASTERIX)
    block = bytes([10, 0, 5, 0xAA, 0xBB])
    frames, _ = f.feed(block + block[:2])
    assert frames == [block]
    frames, _ = f.feed(block[2:])
    assert frames == [block]
    frames, rejects = f.feed(bytes([10, 0, 1, 9, 9]))
    assert frames == [] and [r.reason for r in rejects] == ["bad_block_length"]


def test_datagram_with_several_lines() -> None:
    assert split_datagram(Framing.LINES, b"a\r\nb") == ([b"a", b"b"], [])
    assert split_datagram(Framing.ASTERIX, b"\x0a\x00\x03") == ([b"\x0a\x00\x03"], [])


def test_adapter_counts_rejects_and_survives_a_decoder_bug(caplog: pytest.LogCaptureFixture) -> None:
    got: list[SensorMessage] = []
    clock = ManualClock(T0)
    a = SensorAdapter("s1", LineDecoder(), got.append, clock, agency="MD", expected_period_s=2.0)
    for frame in (b"28.3,48.1", b"nonsense", b"boom", b"28.4,48.2", b"1,2,3"):
        a.ingest(frame)
    assert len(got) == 2
    h = a.health()
    assert (h.accepted, h.rejected) == (2, {"bad_line": 2, "decoder_error": 1})
    assert h.status is HealthStatus.OK
    assert "sensor s1 rejected input (bad_line, #1)" in caplog.text
    assert "sensor s1 rejected input (decoder_error, #1): RuntimeError: decoder bug" in caplog.text


def test_health_goes_stale_and_reports_rate() -> None:
    clock = ManualClock(T0)
    a = SensorAdapter("s1", LineDecoder(), lambda _m: None, clock, expected_period_s=1.0, stale_after_periods=3)
    assert a.health().status is HealthStatus.NO_DATA
    for i in range(120):  # 2 messages/s for 60 s
        clock.t = T0 + timedelta(seconds=i / 2)
        a.ingest(b"28.3,48.1")
    h = a.health()
    assert h.status is HealthStatus.OK
    assert h.rate_per_s == pytest.approx(2.0, abs=0.05)
    assert h.last_message_at == T0 + timedelta(seconds=59.5)
    clock.t = T0 + timedelta(seconds=63)
    assert a.health().status is HealthStatus.STALE
    clock.t = T0 + timedelta(seconds=200)
    assert a.health().rate_per_s == 0.0


def test_sink_failure_does_not_lose_the_count() -> None:
    def bad_sink(_m: SensorMessage) -> None:
        raise ValueError("downstream broke")

    a = SensorAdapter("s1", LineDecoder(), bad_sink, ManualClock(T0))
    assert len(a.ingest(b"28.3,48.1")) == 1
    assert a.health().accepted == 1


def test_bus_fans_out_by_pattern_and_isolates_failures() -> None:
    bus = InProcessBus()
    seen: list[str] = []
    bus.subscribe("sensors.MD.*", lambda s, _m: seen.append("md:" + s))
    bus.subscribe("sensors.*", lambda s, _m: (_ for _ in ()).throw(RuntimeError("bad subscriber")))
    bus.subscribe("sensors.*", lambda s, _m: seen.append("all:" + s))
    bus.publish("sensors.MD.r1", object())
    bus.publish("sensors.UA.r2", object())
    assert seen == ["md:sensors.MD.r1", "all:sensors.MD.r1", "all:sensors.UA.r2"]
