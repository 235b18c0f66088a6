"""Transports that carry sensor bytes to an adapter: UDP, TCP (server and client), MQTT, HTTP.

Each source owns its framing state (one :class:`StreamFramer` per TCP connection), reports
framing rejects to the adapter and never lets a bad peer stop the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from sensors.adapter import SensorAdapter
from sensors.config import MqttTransport, TcpClientTransport, TcpServerTransport, UdpTransport
from sensors.framing import StreamFramer, split_datagram

log = logging.getLogger("sensors.transports")

READ_CHUNK = 65536
UDP_RCVBUF = 4 << 20


class Source(Protocol):
    """A running transport feeding one adapter."""

    adapter: SensorAdapter

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def ingest_datagram(adapter: SensorAdapter, data: bytes) -> int:
    """One datagram/message/body: cut it into frames and ingest each; return messages made."""
    frames, rejects = split_datagram(adapter.decoder.framing, data)
    for r in rejects:
        adapter.reject(r)
    return sum(len(adapter.ingest(f)) for f in frames)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, adapter: SensorAdapter) -> None:
        self.adapter = adapter

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        ingest_datagram(self.adapter, data)

    def error_received(self, exc: Exception) -> None:
        log.warning("sensor %s: UDP error %s", self.adapter.sensor_id, exc)


class UdpSource:
    def __init__(self, adapter: SensorAdapter, cfg: UdpTransport) -> None:
        self.adapter = adapter
        self.cfg = cfg
        self._transport: asyncio.DatagramTransport | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self.adapter), local_addr=(self.cfg.host, self.cfg.port)
        )
        sock = self._transport.get_extra_info("socket")
        with contextlib.suppress(OSError):  # a burst while the loop is busy must not overflow
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RCVBUF)
        log.info("sensor %s: listening on udp %s:%d", self.adapter.sensor_id, self.cfg.host, self.cfg.port)

    async def stop(self) -> None:
        if self._transport:
            self._transport.close()


async def _pump(adapter: SensorAdapter, reader: asyncio.StreamReader) -> None:
    """Read a stream until EOF, framing it for the adapter."""
    framer = StreamFramer(adapter.decoder.framing)
    while chunk := await reader.read(READ_CHUNK):
        frames, rejects = framer.feed(chunk)
        for r in rejects:
            adapter.reject(r)
        for f in frames:
            adapter.ingest(f)


class TcpServerSource:
    """Listens; each connecting sensor gets its own framing state."""

    def __init__(self, adapter: SensorAdapter, cfg: TcpServerTransport) -> None:
        self.adapter = adapter
        self.cfg = cfg
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.cfg.host, self.cfg.port)
        log.info("sensor %s: listening on tcp %s:%d", self.adapter.sensor_id, self.cfg.host, self.cfg.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        log.info("sensor %s: connection from %s", self.adapter.sensor_id, peer)
        try:
            await _pump(self.adapter, reader)
        except (ConnectionError, OSError) as exc:
            log.warning("sensor %s: connection from %s lost: %s", self.adapter.sensor_id, peer, exc)
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._server:
            self._server.close()
            await self._server.wait_closed()


class TcpClientSource:
    """Connects to the sensor and reconnects with exponential back-off when it drops."""

    def __init__(self, adapter: SensorAdapter, cfg: TcpClientTransport) -> None:
        self.adapter = adapter
        self.cfg = cfg
        self._task: asyncio.Task[None] | None = None
        self.connections = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"tcp-client-{self.adapter.sensor_id}")

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                reader, writer = await asyncio.open_connection(self.cfg.host, self.cfg.port)
            except OSError as exc:
                log.warning(
                    "sensor %s: cannot connect to %s:%d (%s), retry in %.1f s",
                    self.adapter.sensor_id,
                    self.cfg.host,
                    self.cfg.port,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.cfg.reconnect_max_s)
                continue
            self.connections += 1
            delay = 0.5
            try:
                await _pump(self.adapter, reader)
            except (ConnectionError, OSError) as exc:
                log.warning("sensor %s: connection lost: %s", self.adapter.sensor_id, exc)
            finally:
                writer.close()
            await asyncio.sleep(delay)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class MqttSource:
    """Subscribes to a topic on an MQTT broker (paho's network thread); each message is a frame
    batch handed to the event loop, so adapters are only ever touched from the loop."""

    def __init__(self, adapter: SensorAdapter, cfg: MqttTransport) -> None:
        self.adapter = adapter
        self.cfg = cfg
        self.connected = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"dwatch-{adapter.sensor_id}-{os.getpid()}")
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._client.connect_async(self.cfg.host, self.cfg.port, keepalive=30)
        self._client.loop_start()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("sensor %s: MQTT connect refused: %s", self.adapter.sensor_id, reason)
            return
        client.subscribe(self.cfg.topic, qos=1)
        self.connected.set()
        log.info(
            "sensor %s: subscribed to mqtt %s on %s:%d",
            self.adapter.sensor_id,
            self.cfg.topic,
            self.cfg.host,
            self.cfg.port,
        )

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        log.warning("sensor %s: MQTT disconnected (%s)", self.adapter.sensor_id, reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(ingest_datagram, self.adapter, bytes(msg.payload))

    async def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


class HttpSource:
    """A sensor that only POSTs to ``/api/sensors/{id}/ingest`` (the hub takes the bodies):
    nothing to listen on."""

    def __init__(self, adapter: SensorAdapter) -> None:
        self.adapter = adapter

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
