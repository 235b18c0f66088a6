"""Transports over real sockets on this machine: UDP, TCP server, TCP client, MQTT (Mosquitto)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sensors.adapter import SensorAdapter, SystemClock
from sensors.config import MqttTransport, TcpClientTransport, TcpServerTransport, UdpTransport
from sensors.model import Observation, SensorMessage
from sensors.transports import MqttSource, TcpClientSource, TcpServerSource, UdpSource
from tests.conftest import free_port
from tests.sensor_fixtures import LineDecoder

MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883


def adapter(got: list[SensorMessage]) -> SensorAdapter:
    return SensorAdapter("s1", LineDecoder(), got.append, SystemClock())


async def wait_for(cond: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def run(coro: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(coro())  # type: ignore[arg-type]


def test_udp_datagrams_with_several_lines() -> None:
    got: list[SensorMessage] = []

    async def main() -> None:
        port = free_port()
        src = UdpSource(a := adapter(got), UdpTransport(port=port))
        await src.start()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"28.1,48.1\r\n28.2,48.2\r\n", ("127.0.0.1", port))
            s.sendto(b"garbage", ("127.0.0.1", port))
        await wait_for(lambda: len(got) == 2 and a.health().rejected == {"bad_line": 1})
        await src.stop()

    run(main)
    assert [m.position.lon for m in got if isinstance(m, Observation) and m.position] == [28.1, 28.2]


def test_tcp_server_frames_each_connection() -> None:
    got: list[SensorMessage] = []

    async def main() -> None:
        port = free_port()
        src = TcpServerSource(adapter(got), TcpServerTransport(port=port))
        await src.start()
        r1, w1 = await asyncio.open_connection("127.0.0.1", port)
        r2, w2 = await asyncio.open_connection("127.0.0.1", port)
        w1.write(b"28.1,4")  # a line split across writes, interleaved with another peer
        await w1.drain()
        w2.write(b"29.0,47.0\n")
        await w2.drain()
        await asyncio.sleep(0.05)
        w1.write(b"8.1\n")
        await w1.drain()
        await wait_for(lambda: len(got) == 2)
        for w in (w1, w2):
            w.close()
        await src.stop()

    run(main)
    lats = sorted(m.position.lat for m in got if isinstance(m, Observation) and m.position)
    assert lats == [47.0, 48.1]


def test_tcp_client_reconnects_after_the_sensor_drops() -> None:
    got: list[SensorMessage] = []

    async def main() -> None:
        port = free_port()
        sent = 0

        async def sensor(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            nonlocal sent
            sent += 1
            w.write(f"28.{sent},48.0\n".encode())
            await w.drain()
            w.close()  # the sensor hangs up after each line

        server = await asyncio.start_server(sensor, "127.0.0.1", port)
        src = TcpClientSource(adapter(got), TcpClientTransport(host="127.0.0.1", port=port, reconnect_max_s=0.5))
        await src.start()
        await wait_for(lambda: len(got) >= 3)
        await src.stop()
        server.close()
        await server.wait_closed()
        assert src.connections >= 3

    run(main)


def test_tcp_client_waits_for_a_sensor_that_is_not_up_yet() -> None:
    got: list[SensorMessage] = []

    async def main() -> None:
        port = free_port()
        src = TcpClientSource(adapter(got), TcpClientTransport(host="127.0.0.1", port=port, reconnect_max_s=0.3))
        await src.start()
        await asyncio.sleep(0.8)  # refused a few times

        async def sensor(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            w.write(b"28.5,48.5\n")
            await w.drain()

        server = await asyncio.start_server(sensor, "127.0.0.1", port)
        await wait_for(lambda: len(got) == 1)
        await src.stop()
        server.close()

    run(main)


def _broker_up() -> bool:
    try:
        socket.create_connection((MQTT_HOST, MQTT_PORT), timeout=1).close()
        return True
    except OSError:
        return False


def test_mqtt_against_the_real_broker() -> None:
    assert _broker_up(), "Mosquitto must run on 127.0.0.1:1883 (dev.sh test starts it)"
    got: list[SensorMessage] = []
    topic = f"dwatch/test/{time.time_ns()}/events"

    async def main() -> None:
        src = MqttSource(a := adapter(got), MqttTransport(host=MQTT_HOST, port=MQTT_PORT, topic=topic))
        await src.start()
        await asyncio.get_running_loop().run_in_executor(None, src.connected.wait, 5.0)
        assert src.connected.is_set()
        pub = mqtt.Client(CallbackAPIVersion.VERSION2)
        pub.connect(MQTT_HOST, MQTT_PORT)
        pub.loop_start()
        for payload in (b"28.1,48.1", b"not a position", b"28.2,48.2"):
            pub.publish(topic, payload, qos=1).wait_for_publish(5)
        await wait_for(lambda: len(got) == 2 and a.health().rejected == {"bad_line": 1})
        pub.loop_stop()
        pub.disconnect()
        await src.stop()

    run(main)


def test_udp_port_in_use_raises_oserror() -> None:
    async def main() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
            taken.bind(("127.0.0.1", 0))
            port = taken.getsockname()[1]
            with pytest.raises(OSError):
                await UdpSource(adapter([]), UdpTransport(port=port)).start()

    run(main)
