"""All configured sensors of a process: adapters, their transports, start/stop and health."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sensors.adapter import Clock, SensorAdapter, SensorHealth
from sensors.config import (
    HttpTransport,
    MqttTransport,
    SensorConfigBase,
    TcpClientTransport,
    TcpServerTransport,
    UdpTransport,
)
from sensors.model import SensorMessage
from sensors.registry import make_decoder
from sensors.transports import (
    HttpSource,
    MqttSource,
    Source,
    TcpClientSource,
    TcpServerSource,
    UdpSource,
    ingest_datagram,
)

log = logging.getLogger("sensors.hub")


class UnknownSensor(KeyError):
    """No sensor with that id is configured."""


def make_source(adapter: SensorAdapter, cfg: SensorConfigBase) -> Source:
    t = cfg.transport
    if isinstance(t, UdpTransport):
        return UdpSource(adapter, t)
    if isinstance(t, TcpServerTransport):
        return TcpServerSource(adapter, t)
    if isinstance(t, TcpClientTransport):
        return TcpClientSource(adapter, t)
    if isinstance(t, MqttTransport):
        return MqttSource(adapter, t)
    assert isinstance(t, HttpTransport)
    return HttpSource(adapter)


class SensorHub:
    """Builds one adapter and one source per configured sensor; messages go to ``sink``."""

    def __init__(
        self, configs: Sequence[SensorConfigBase], sink: Callable[[SensorMessage], None], clock: Clock
    ) -> None:
        self.configs = {c.id: c for c in configs}
        if len(self.configs) != len(configs):
            raise ValueError("sensor ids must be unique")
        self.adapters: dict[str, SensorAdapter] = {}
        self.sources: dict[str, Source] = {}
        for cfg in configs:
            adapter = SensorAdapter(
                cfg.id,
                make_decoder(cfg),
                sink,
                clock,
                agency=cfg.agency,
                expected_period_s=cfg.expected_period_s,
                stale_after_periods=cfg.stale_after_periods,
            )
            self.adapters[cfg.id] = adapter
            self.sources[cfg.id] = make_source(adapter, cfg)

    async def start(self) -> None:
        for sid, src in self.sources.items():
            try:
                await src.start()
            except OSError as exc:  # one sensor's port in use must not stop the others
                log.error("sensor %s: transport failed to start: %s", sid, exc)

    async def stop(self) -> None:
        for src in self.sources.values():
            await src.stop()

    def health(self) -> list[SensorHealth]:
        return [a.health() for a in self.adapters.values()]

    def post(self, sensor_id: str, body: bytes) -> tuple[int, dict[str, int]]:
        """Ingest a body POSTed over HTTP for a sensor (any sensor may also be fed this way:
        the fallback when its broker is down); return the messages made and the new rejects."""
        adapter = self.adapters.get(sensor_id)
        if adapter is None:
            raise UnknownSensor(sensor_id)
        before = adapter.rejected()
        made = ingest_datagram(adapter, body)
        after = adapter.rejected()
        return made, {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)}
