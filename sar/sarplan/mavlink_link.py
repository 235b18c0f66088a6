"""A MAVLink 2 link to one vehicle over UDP, on asyncio; pymavlink packs and parses.

The link sends to a known vehicle address (``remote``) or, listening, to whoever sent the first
datagram. Every parsed message goes to each open :class:`Subscription`, so a caller subscribes
*before* sending a request and cannot miss a fast answer. Waits always have a timeout.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from sar.sarplan.errors import MissionError, MissionTimeout

log = logging.getLogger("sar.sarplan.mavlink")

Address = tuple[str, int]
QUEUE_LIMIT = 10_000


class Subscription:
    """Messages received while open, in order; :meth:`get` waits for a matching one."""

    def __init__(self, link: MavlinkLink) -> None:
        self._link = link
        self.queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_LIMIT)
        link._subscriptions.add(self)

    def close(self) -> None:
        self._link._subscriptions.discard(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def get(self, types: set[str], timeout_s: float, where: Callable[[Any], bool] | None = None) -> Any:
        """The next message of one of ``types`` that satisfies ``where``; MissionTimeout after
        ``timeout_s`` without one. Other messages are skipped."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise MissionTimeout(f"no {'/'.join(sorted(types))} within {timeout_s:g} s")
            try:
                msg = await asyncio.wait_for(self.queue.get(), left)
            except TimeoutError:
                raise MissionTimeout(f"no {'/'.join(sorted(types))} within {timeout_s:g} s") from None
            if msg.get_type() in types and (where is None or where(msg)):
                return msg


@dataclass(frozen=True)
class VehicleInfo:
    """Who answered: system/component ids and MAV_TYPE / MAV_AUTOPILOT from its HEARTBEAT."""

    system_id: int
    component_id: int
    vehicle_type: int
    autopilot: int


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, link: MavlinkLink) -> None:
        self.link = link

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.link._received(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("udp error: %s", exc)


class MavlinkLink:
    """One UDP socket speaking MAVLink 2 as a ground station (default system 255)."""

    def __init__(self, remote: Address | None, system_id: int, component_id: int) -> None:
        self.remote = remote
        self.mav = mavlink2.MAVLink(None, srcSystem=system_id, srcComponent=component_id)
        self.mav.robust_parsing = True
        self._subscriptions: set[Subscription] = set()
        self._transport: asyncio.DatagramTransport | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self.received = 0
        self.dropped = 0

    @classmethod
    async def open(
        cls,
        remote: Address | None = None,
        *,
        local: Address = ("0.0.0.0", 0),
        system_id: int = 255,
        component_id: int = mavlink2.MAV_COMP_ID_MISSIONPLANNER,
        heartbeat_period_s: float | None = 1.0,
    ) -> MavlinkLink:
        """Bind ``local``; send to ``remote`` (or, if None, to the first sender heard)."""
        loop = asyncio.get_running_loop()
        if remote is not None:  # numeric, so replies can be matched to it
            try:
                infos = await loop.getaddrinfo(remote[0], remote[1], family=socket.AF_INET, type=socket.SOCK_DGRAM)
            except OSError as exc:
                raise MissionError(f"cannot resolve vehicle address {remote[0]}: {exc}") from None
            remote = (str(infos[0][4][0]), int(infos[0][4][1]))
        link = cls(remote, system_id, component_id)
        try:
            transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(link), local_addr=local)
        except OSError as exc:
            raise MissionError(f"cannot open UDP {local[0]}:{local[1]}: {exc.strerror}") from None
        link._transport = transport
        if heartbeat_period_s:
            link._heartbeat = asyncio.create_task(link._beat(heartbeat_period_s))
        return link

    @property
    def local_address(self) -> Address:
        if self._transport is None:
            raise MissionError("link is closed")
        host, port = self._transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    async def __aenter__(self) -> MavlinkLink:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
            self._heartbeat = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def subscribe(self) -> Subscription:
        return Subscription(self)

    def send(self, msg: Any) -> None:
        """Pack and send one message to the vehicle."""
        if self._transport is None:
            raise MissionError("link is closed")
        if self.remote is None:
            raise MissionError("no vehicle heard yet: nowhere to send")
        buf = bytes(msg.pack(self.mav))
        self.mav.seq = (self.mav.seq + 1) % 256
        self._transport.sendto(buf, self.remote)

    async def wait_heartbeat(self, timeout_s: float = 5.0, system_id: int | None = None) -> VehicleInfo:
        """The first vehicle HEARTBEAT (not from a ground station) within ``timeout_s``."""

        def is_vehicle(m: Any) -> bool:
            return bool(
                m.type != mavlink2.MAV_TYPE_GCS
                and m.autopilot != mavlink2.MAV_AUTOPILOT_INVALID
                and (system_id is None or m.get_srcSystem() == system_id)
            )

        with self.subscribe() as sub:
            hb = await sub.get({"HEARTBEAT"}, timeout_s, is_vehicle)
        return VehicleInfo(hb.get_srcSystem(), hb.get_srcComponent(), hb.type, hb.autopilot)

    def _received(self, data: bytes, addr: Address) -> None:
        if self.remote is None:
            self.remote = addr
        elif addr != self.remote:
            return
        try:
            msgs = self.mav.parse_buffer(data) or []
        except Exception as exc:  # pymavlink is third-party: a parser bug must not kill the link
            log.warning("mavlink parse error: %s", exc)
            return
        for msg in msgs:
            if isinstance(msg, mavlink2.MAVLink_bad_data):
                continue
            self.received += 1
            for sub in list(self._subscriptions):
                try:
                    sub.queue.put_nowait(msg)
                except asyncio.QueueFull:
                    self.dropped += 1

    async def _beat(self, period_s: float) -> None:
        hb = self.mav.heartbeat_encode(
            mavlink2.MAV_TYPE_GCS, mavlink2.MAV_AUTOPILOT_INVALID, 0, 0, mavlink2.MAV_STATE_ACTIVE
        )
        while True:
            if self.remote is not None and self._transport is not None:
                self.send(hb)
            await asyncio.sleep(period_s)
