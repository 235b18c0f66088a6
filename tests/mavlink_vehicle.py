"""A simulated MAVLink vehicle (pymavlink, real UDP socket on 127.0.0.1) for mission tests.

It speaks the receiving side of the mission protocol: on MISSION_COUNT it requests the items one
by one (MISSION_REQUEST_INT, or legacy MISSION_REQUEST), re-requests the expected item after
``rerequest_s`` of silence (None: never, leaving recovery to the uploader), and ends with a
MISSION_ACK. Faults on demand: drop one outgoing request or one incoming item once, refuse a
mission longer than ``max_items`` (MAV_MISSION_NO_SPACE) or answer a given MAV_MISSION_RESULT.
It answers arm / mode / takeoff / mission start / RTL with COMMAND_ACK, sends HEARTBEATs, and
"flies" an accepted mission once armed in AUTO, emitting MISSION_CURRENT and
MISSION_ITEM_REACHED for each item after the home item.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mavlink2

M = mavlink2


class SimVehicle:
    """Run with ``with SimVehicle(...) as v:``; send to ``v.address``."""

    def __init__(
        self,
        *,
        system_id: int = 1,
        vehicle_type: int = M.MAV_TYPE_QUADROTOR,
        max_items: int | None = None,
        reject_with: int | None = None,
        drop_request_once: int | None = None,
        drop_item_once: int | None = None,
        rerequest_s: float | None = 0.3,
        legacy_requests: bool = False,
        heartbeat_s: float = 0.2,
        item_period_s: float = 0.02,
    ) -> None:
        self.system_id = system_id
        self.vehicle_type = vehicle_type
        self.max_items = max_items
        self.reject_with = reject_with
        self.drop_request_once = drop_request_once
        self.drop_item_once = drop_item_once
        self.rerequest_s = rerequest_s
        self.legacy_requests = legacy_requests
        self.heartbeat_s = heartbeat_s
        self.item_period_s = item_period_s
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.01)
        self.mav = M.MAVLink(None, srcSystem=system_id, srcComponent=M.MAV_COMP_ID_AUTOPILOT1)
        self.mav.robust_parsing = True
        self.modes = mavutil.mode_mapping_byname(vehicle_type) or {}
        self.gcs: tuple[str, int] | None = None
        # mission transfer state
        self.count = 0
        self.expect: int | None = None
        self.incoming: list[Any] = []
        self.last_request_t = 0.0
        self.requests_sent: list[int] = []
        self.items_received: list[int] = []
        self.counts_received = 0
        self.dropped: list[str] = []
        self.mission: list[Any] = []
        # flight state
        self.armed = False
        self.custom_mode = 0
        self.flying = False
        self.current = 0
        self.commands: list[tuple[int, float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-vehicle", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()
        return str(host), int(port)

    @property
    def mode(self) -> str | None:
        return next((k for k, v in self.modes.items() if v == self.custom_mode), None)

    def __enter__(self) -> SimVehicle:
        self._thread.start()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()

    # -- loop ---------------------------------------------------------------------------------

    def _run(self) -> None:
        next_beat = next_item = 0.0
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except TimeoutError:
                data = b""
            except OSError:
                return
            if data:
                self.gcs = addr
                for msg in self.mav.parse_buffer(data) or []:
                    self._handle(msg)
            now = time.monotonic()
            if now >= next_beat and self.gcs:
                self._heartbeat()
                next_beat = now + self.heartbeat_s
            if (
                self.expect is not None
                and self.rerequest_s is not None
                and now - self.last_request_t > self.rerequest_s
            ):
                self._request(self.expect)
            if self.flying and now >= next_item:
                self._fly_one()
                next_item = now + self.item_period_s

    def _send(self, msg: Any) -> None:
        if self.gcs is None:
            return
        buf = bytes(msg.pack(self.mav))
        self.mav.seq = (self.mav.seq + 1) % 256
        self.sock.sendto(buf, self.gcs)

    def _heartbeat(self) -> None:
        base = M.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | (M.MAV_MODE_FLAG_SAFETY_ARMED if self.armed else 0)
        state = M.MAV_STATE_ACTIVE if self.armed else M.MAV_STATE_STANDBY
        self._send(
            self.mav.heartbeat_encode(self.vehicle_type, M.MAV_AUTOPILOT_ARDUPILOTMEGA, base, self.custom_mode, state)
        )

    def _handle(self, msg: Any) -> None:
        kind = msg.get_type()
        if getattr(msg, "target_system", self.system_id) not in (0, self.system_id):
            return
        if kind == "MISSION_COUNT":
            self._on_count(msg)
        elif kind == "MISSION_ITEM_INT":
            self._on_item(msg)
        elif kind == "COMMAND_LONG":
            self._on_command(msg)

    # -- mission protocol (receiver side) -----------------------------------------------------

    def _ack(self, result: int) -> None:
        self._send(self.mav.mission_ack_encode(255, 0, result, M.MAV_MISSION_TYPE_MISSION))

    def _on_count(self, msg: Any) -> None:
        self.counts_received += 1
        if self.max_items is not None and msg.count > self.max_items:
            self.expect = None
            self._ack(M.MAV_MISSION_NO_SPACE)
            return
        self.count, self.incoming = msg.count, []
        if msg.count == 0:
            self.expect = None
            self.mission = []
            self._ack(M.MAV_MISSION_ACCEPTED)
            return
        self.expect = 0
        self._request(0)

    def _request(self, seq: int) -> None:
        self.last_request_t = time.monotonic()
        if self.drop_request_once == seq:
            self.drop_request_once = None
            self.dropped.append(f"request {seq}")
            return
        self.requests_sent.append(seq)
        encode = self.mav.mission_request_encode if self.legacy_requests else self.mav.mission_request_int_encode
        self._send(encode(255, 0, seq, M.MAV_MISSION_TYPE_MISSION))

    def _on_item(self, msg: Any) -> None:
        if self.expect is not None and msg.seq == self.expect - 1:
            self._request(self.expect)  # the previous item again: the uploader missed our request
            return
        if self.expect is None or msg.seq != self.expect:
            return  # out of order: the expected item is re-requested on time
        if self.drop_item_once == msg.seq:
            self.drop_item_once = None
            self.dropped.append(f"item {msg.seq}")
            return
        self.items_received.append(msg.seq)
        self.incoming.append(msg)
        self.expect += 1
        if self.expect < self.count:
            self._request(self.expect)
            return
        self.expect = None
        if self.reject_with is not None:
            self._ack(self.reject_with)
            return
        self.mission = list(self.incoming)
        self._ack(M.MAV_MISSION_ACCEPTED)

    # -- commands and flight ------------------------------------------------------------------

    def _on_command(self, msg: Any) -> None:
        cmd = msg.command
        self.commands.append((cmd, msg.param1, msg.param2))
        result = M.MAV_RESULT_ACCEPTED
        if cmd == M.MAV_CMD_COMPONENT_ARM_DISARM:
            self.armed = msg.param1 == 1
        elif cmd == M.MAV_CMD_DO_SET_MODE:
            if int(msg.param2) in self.modes.values():
                self.custom_mode = int(msg.param2)
                self.flying = self.flying and self.mode == "AUTO"
            else:
                result = M.MAV_RESULT_FAILED
        elif cmd == M.MAV_CMD_MISSION_START:
            if self.armed and self.mode == "AUTO" and len(self.mission) > 1:
                self.flying, self.current = True, 1
            else:
                result = M.MAV_RESULT_DENIED
        elif cmd == M.MAV_CMD_NAV_TAKEOFF:
            result = M.MAV_RESULT_ACCEPTED if self.armed else M.MAV_RESULT_DENIED
        elif cmd == M.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            self.custom_mode = int(self.modes.get("RTL", self.custom_mode))
            self.flying = False
        else:
            result = M.MAV_RESULT_UNSUPPORTED
        self._send(self.mav.command_ack_encode(cmd, result, 0, 0, 255, 0))

    def _fly_one(self) -> None:
        total = len(self.mission)
        self._send(self.mav.mission_current_encode(self.current, total))
        self._send(self.mav.mission_item_reached_encode(self.current))
        self.current += 1
        if self.current >= total:
            self.flying = False
