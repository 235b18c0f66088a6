"""Socket emitters of the simulator: each sends one sensor's payloads the way a real sensor would.

An emitter never raises: a failed send is logged (once per outage) and reported as False, so one
unreachable server port does not stop the other sensors.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from typing import Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

log = logging.getLogger("sensors.sim")

TCP_MAX_AGE_S = 5.0  # sim seconds a TCP payload may wait for a connection before it is dropped
TCP_RETRY_S = 1.0  # wall seconds between connection attempts
CONNECT_TIMEOUT_S = 2.0
HTTP_TIMEOUT_S = 5.0
MQTT_DRAIN_S = 5.0


class Emitter(Protocol):
    def send(self, payload: bytes, t_s: float) -> bool: ...

    def close(self) -> None: ...


class _Outage:
    """Logs the first failure of an outage and the recovery, not every failed send."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.down = False

    def failed(self, why: object) -> bool:
        if not self.down:
            log.warning("%s: %s (further failures not logged until it recovers)", self.what, why)
        self.down = True
        return False

    def ok(self) -> bool:
        if self.down:
            log.info("%s: recovered", self.what)
        self.down = False
        return True


class NullEmitter:
    """Drops everything (a sensor whose way to the server is not configured)."""

    def send(self, payload: bytes, t_s: float) -> bool:
        return False

    def close(self) -> None:
        return None


class UdpEmitter:
    """One datagram per payload."""

    def __init__(self, host: str, port: int, sensor_id: str) -> None:
        self.addr = (host, port)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._outage = _Outage(f"sensor {sensor_id}: UDP to {host}:{port}")

    def send(self, payload: bytes, t_s: float) -> bool:
        try:
            self._sock.sendto(payload, self.addr)
        except OSError as exc:
            return self._outage.failed(exc)
        return self._outage.ok()

    def close(self) -> None:
        self._sock.close()


class TcpClientEmitter:
    """Connects to the server's TCP port like a sensor dialling in; reconnects when refused or
    dropped, keeping only payloads younger than ``TCP_MAX_AGE_S`` of sim time meanwhile."""

    def __init__(self, host: str, port: int, sensor_id: str) -> None:
        self.addr = (host, port)
        self._sock: socket.socket | None = None
        self._queue: deque[tuple[float, bytes]] = deque()
        self._retry_at = 0.0
        self._outage = _Outage(f"sensor {sensor_id}: TCP to {host}:{port}")

    def send(self, payload: bytes, t_s: float) -> bool:
        self._queue.append((t_s, payload))
        while self._queue and t_s - self._queue[0][0] > TCP_MAX_AGE_S:
            self._queue.popleft()
        return self._flush()

    def _flush(self) -> bool:
        if self._sock is None:
            if time.monotonic() < self._retry_at:
                return False
            try:
                self._sock = socket.create_connection(self.addr, timeout=CONNECT_TIMEOUT_S)
            except OSError as exc:
                self._retry_at = time.monotonic() + TCP_RETRY_S
                return self._outage.failed(exc)
        while self._queue:
            try:
                self._sock.sendall(self._queue[0][1])
            except OSError as exc:
                self.close()
                return self._outage.failed(exc)
            self._queue.popleft()
        return self._outage.ok()

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None


class TcpListenEmitter:
    """For a server that connects to the sensor: listens, and writes to every connected peer."""

    def __init__(self, host: str, port: int, sensor_id: str) -> None:
        self._server = socket.create_server((host, port))
        self._server.setblocking(False)
        self._peers: list[socket.socket] = []
        self.sensor_id = sensor_id

    def send(self, payload: bytes, t_s: float) -> bool:
        with contextlib.suppress(BlockingIOError):
            while True:
                peer, _ = self._server.accept()
                peer.settimeout(CONNECT_TIMEOUT_S)
                self._peers.append(peer)
        alive = []
        for peer in self._peers:
            try:
                peer.sendall(payload)
                alive.append(peer)
            except OSError:
                peer.close()
        self._peers = alive
        return bool(alive)

    def close(self) -> None:
        for peer in self._peers:
            peer.close()
        self._server.close()


class MqttEmitter:
    """Publishes each payload (QoS 1) on the sensor's topic. Raises OSError at construction when
    the broker cannot be reached, so the caller can fall back."""

    def __init__(self, host: str, port: int, topic: str, client_id: str) -> None:
        self.topic = topic
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        connected = threading.Event()
        self._client.on_connect = lambda _c, _u, _f, reason, _p: None if reason.is_failure else connected.set()
        self._client.connect(host, port, keepalive=30)
        self._client.loop_start()
        if not connected.wait(CONNECT_TIMEOUT_S):
            self._client.loop_stop()
            raise OSError(f"MQTT broker {host}:{port} did not accept the connection")
        self._last: mqtt.MQTTMessageInfo | None = None
        self._outage = _Outage(f"MQTT {host}:{port} topic {topic}")

    def send(self, payload: bytes, t_s: float) -> bool:
        info = self._client.publish(self.topic, payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return self._outage.failed(mqtt.error_string(info.rc))
        self._last = info
        return self._outage.ok()

    def close(self) -> None:
        if self._last is not None:
            with contextlib.suppress(RuntimeError, ValueError):
                self._last.wait_for_publish(timeout=MQTT_DRAIN_S)
        self._client.disconnect()
        self._client.loop_stop()


class HttpEmitter:
    """POSTs each payload to the server's ingest URL for the sensor (with the sensor's token)."""

    def __init__(self, url: str, sensor_id: str, token: str | None = None) -> None:
        self.url = url
        self._outage = _Outage(f"sensor {sensor_id}: HTTP POST {url}")
        self._headers = {"Content-Type": "application/octet-stream"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    def send(self, payload: bytes, t_s: float) -> bool:
        req = urllib.request.Request(self.url, data=payload, method="POST", headers=self._headers)
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:  # the server answered: it refused this body
            log.warning("%s: HTTP %d %s", self._outage.what, exc.code, exc.read()[:200].decode(errors="replace"))
            return False
        except OSError as exc:
            return self._outage.failed(exc)
        return self._outage.ok()

    def close(self) -> None:
        return None
