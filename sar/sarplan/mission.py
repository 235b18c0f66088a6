"""A search pattern as a MAVLink mission: upload (mission protocol), arm, AUTO, RTL, progress.

Upload follows the MAVLink mission protocol: MISSION_COUNT, then each MISSION_REQUEST_INT (or
legacy MISSION_REQUEST) is answered with MISSION_ITEM_INT until the vehicle's MISSION_ACK. The
vehicle drives the transfer; the uploader only recovers from silence: with no answer within
``step_s`` it sends again what it sent last (MISSION_COUNT before the first request, else the
last item), at most ``retries`` times in a row. The ack's MAV_MISSION_RESULT is reported by name.

Commands (COMMAND_LONG) are resent with an increasing ``confirmation`` until COMMAND_ACK, whose
MAV_RESULT is reported by name. Progress (MISSION_CURRENT changes, MISSION_ITEM_REACHED) is an
async iterator opened *before* the mission starts, so no event is missed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from sar.sarplan.errors import MissionError, MissionTimeout
from sar.sarplan.mavlink_link import MavlinkLink, Subscription
from sar.sarplan.patterns import SearchPattern

VehicleKind = Literal["copter", "plane", "rover"]
MISSION = mavlink2.MAV_MISSION_TYPE_MISSION
_REQUESTS = {"MISSION_REQUEST_INT", "MISSION_REQUEST", "MISSION_ACK"}


def enum_name(enum: str, value: int) -> str:
    entry = mavlink2.enums.get(enum, {}).get(value)
    return str(entry.name) if entry is not None else f"{enum}_{value}"


@dataclass(frozen=True)
class MissionItem:
    """One mission item (MISSION_ITEM_INT fields); lat/lon in degrees, altitude above home."""

    command: int
    lat: float = 0.0
    lon: float = 0.0
    alt_m: float = 0.0
    params: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    frame: int = mavlink2.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT
    autocontinue: bool = True


def mission_items(
    pattern: SearchPattern,
    *,
    vehicle: VehicleKind = "copter",
    altitude_m: float = 30.0,
    speed_mps: float | None = None,
    home_first: bool = True,
    rtl_at_end: bool = False,
) -> list[MissionItem]:
    """The pattern's waypoints as mission items. ``home_first``: ArduPilot keeps item 0 for home
    (overwritten by the vehicle), so a placeholder at the first waypoint goes there. A copter or
    plane gets a NAV_TAKEOFF to ``altitude_m`` first; a rover (boat) sails at altitude 0."""
    if not pattern.waypoints:
        raise MissionError("the pattern has no waypoints")
    alt = 0.0 if vehicle == "rover" else altitude_m
    first = pattern.waypoints[0]
    items: list[MissionItem] = []
    if home_first:
        items.append(MissionItem(mavlink2.MAV_CMD_NAV_WAYPOINT, first.lat, first.lon, 0.0))
    if vehicle != "rover":
        items.append(MissionItem(mavlink2.MAV_CMD_NAV_TAKEOFF, first.lat, first.lon, alt))
    if speed_mps is not None:  # param1: 0 airspeed, 1 ground speed
        kind = 0.0 if vehicle == "plane" else 1.0
        items.append(MissionItem(mavlink2.MAV_CMD_DO_CHANGE_SPEED, params=(kind, speed_mps, -1.0, 0.0)))
    items += [MissionItem(mavlink2.MAV_CMD_NAV_WAYPOINT, w.lat, w.lon, alt) for w in pattern.waypoints]
    if rtl_at_end:
        items.append(MissionItem(mavlink2.MAV_CMD_NAV_RETURN_TO_LAUNCH))
    return items


@dataclass(frozen=True)
class UploadResult:
    """How an upload ended: the MAV_MISSION_RESULT name and what it took."""

    accepted: bool
    result: str
    items: int
    count_sends: int
    item_sends: int
    duration_s: float


@dataclass(frozen=True)
class CommandResult:
    command: str
    result: str

    @property
    def accepted(self) -> bool:
        return self.result == "MAV_RESULT_ACCEPTED"


@dataclass(frozen=True)
class ProgressEvent:
    """``current``: the vehicle now heads for item ``seq``; ``reached``: it reached item ``seq``."""

    kind: Literal["current", "reached"]
    seq: int


@dataclass(frozen=True)
class MissionTimeouts:
    step_s: float = 1.5
    retries: int = 5
    command_s: float = 1.5
    command_retries: int = 3


@dataclass
class _Upload:
    items: list[MissionItem]
    last_sent: Any = None
    count_sends: int = 0
    item_sends: int = 0
    requested: set[int] = field(default_factory=set)


class MissionClient:
    """Mission protocol and commands towards one vehicle (``target_system``/``target_component``)."""

    def __init__(
        self,
        link: MavlinkLink,
        target_system: int,
        target_component: int = mavlink2.MAV_COMP_ID_AUTOPILOT1,
        timeouts: MissionTimeouts | None = None,
    ) -> None:
        self.link = link
        self.target_system = target_system
        self.target_component = target_component
        self.timeouts = timeouts or MissionTimeouts()

    def _for_us(self, msg: Any) -> bool:
        if msg.get_srcSystem() != self.target_system:
            return False
        to = getattr(msg, "target_system", 0)
        return to in (0, self.link.mav.srcSystem) and getattr(msg, "mission_type", MISSION) == MISSION

    async def upload(self, items: list[MissionItem]) -> UploadResult:
        """Upload ``items``; returns the vehicle's verdict or raises MissionTimeout after retries."""
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        up = _Upload(items)
        with self.link.subscribe() as sub:
            self._send_count(up)
            misses = 0
            while True:
                try:
                    msg = await sub.get(_REQUESTS, self.timeouts.step_s, self._for_us)
                except MissionTimeout:
                    misses += 1
                    if misses > self.timeouts.retries:
                        waiting = "first MISSION_REQUEST" if not up.requested else "next MISSION_REQUEST or MISSION_ACK"
                        raise MissionTimeout(
                            f"vehicle {self.target_system} silent: no {waiting} after {misses} tries"
                        ) from None
                    self._resend(up)
                    continue
                misses = 0
                if msg.get_type() == "MISSION_ACK":
                    result = enum_name("MAV_MISSION_RESULT", msg.type)
                    accepted = msg.type == mavlink2.MAV_MISSION_ACCEPTED
                    return UploadResult(accepted, result, len(items), up.count_sends, up.item_sends, loop.time() - t0)
                self._send_item(up, int(msg.seq))

    def _send_count(self, up: _Upload) -> None:
        up.last_sent = self.link.mav.mission_count_encode(
            self.target_system, self.target_component, len(up.items), MISSION
        )
        up.count_sends += 1
        self.link.send(up.last_sent)

    def _send_item(self, up: _Upload, seq: int) -> None:
        if not 0 <= seq < len(up.items):
            raise MissionError(f"vehicle requested item {seq} of a {len(up.items)}-item mission")
        it = up.items[seq]
        up.last_sent = self.link.mav.mission_item_int_encode(
            self.target_system,
            self.target_component,
            seq,
            it.frame,
            it.command,
            0,
            int(it.autocontinue),
            *it.params,
            round(it.lat * 1e7),
            round(it.lon * 1e7),
            it.alt_m,
            MISSION,
        )
        up.requested.add(seq)
        up.item_sends += 1
        self.link.send(up.last_sent)

    def _resend(self, up: _Upload) -> None:
        if up.last_sent is None or up.last_sent.get_type() == "MISSION_COUNT":
            self._send_count(up)
        else:
            up.item_sends += 1
            self.link.send(up.last_sent)

    async def command(self, command: int, *params: float) -> CommandResult:
        """COMMAND_LONG with up to 7 params, resent until its COMMAND_ACK (IN_PROGRESS waits on)."""
        p = [*params, *([0.0] * (7 - len(params)))]
        name = enum_name("MAV_CMD", command)

        def ack_for_us(m: Any) -> bool:
            return bool(m.get_srcSystem() == self.target_system and m.command == command)

        with self.link.subscribe() as sub:
            for attempt in range(self.timeouts.command_retries + 1):
                self.link.send(
                    self.link.mav.command_long_encode(
                        self.target_system, self.target_component, command, min(attempt, 255), *p
                    )
                )
                try:
                    ack = await self._final_ack(sub, ack_for_us)
                except MissionTimeout:
                    continue
                return CommandResult(name, enum_name("MAV_RESULT", ack.result))
        raise MissionTimeout(f"no COMMAND_ACK for {name} after {self.timeouts.command_retries + 1} tries")

    async def _final_ack(self, sub: Subscription, where: Any) -> Any:
        while True:
            ack = await sub.get({"COMMAND_ACK"}, self.timeouts.command_s, where)
            if ack.result != mavlink2.MAV_RESULT_IN_PROGRESS:
                return ack

    async def arm(self) -> CommandResult:
        return await self.command(mavlink2.MAV_CMD_COMPONENT_ARM_DISARM, 1.0)

    async def set_mode(self, mode: str, vehicle_type: int) -> CommandResult:
        """ArduPilot mode by name (``AUTO``, ``RTL``, ``GUIDED``...) for the vehicle's MAV_TYPE."""
        modes = mavutil.mode_mapping_byname(vehicle_type) or {}
        if mode not in modes:
            raise MissionError(f"mode {mode} unknown for {enum_name('MAV_TYPE', vehicle_type)}")
        flag = float(mavlink2.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED)
        return await self.command(mavlink2.MAV_CMD_DO_SET_MODE, flag, float(modes[mode]))

    async def takeoff(self, altitude_m: float) -> CommandResult:
        return await self.command(mavlink2.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, altitude_m)

    async def start_mission(self) -> CommandResult:
        return await self.command(mavlink2.MAV_CMD_MISSION_START)

    async def rtl(self) -> CommandResult:
        return await self.command(mavlink2.MAV_CMD_NAV_RETURN_TO_LAUNCH)

    def follow(self, last_seq: int, idle_timeout_s: float = 30.0) -> ProgressStream:
        """Progress until item ``last_seq`` is reached; subscribes now (open it before starting)."""
        return ProgressStream(self, last_seq, idle_timeout_s)


class ProgressStream:
    """Async iterator of :class:`ProgressEvent`; ends after ``last_seq`` is reached and raises
    MissionTimeout after ``idle_timeout_s`` without an event. Use as ``async with``."""

    def __init__(self, client: MissionClient, last_seq: int, idle_timeout_s: float) -> None:
        self._client = client
        self._sub = client.link.subscribe()
        self._last = last_seq
        self._idle = idle_timeout_s
        self._current: int | None = None
        self._done = False

    def __aiter__(self) -> ProgressStream:
        return self

    async def __anext__(self) -> ProgressEvent:
        while not self._done:
            msg = await self._sub.get(
                {"MISSION_CURRENT", "MISSION_ITEM_REACHED"},
                self._idle,
                lambda m: bool(m.get_srcSystem() == self._client.target_system),
            )
            seq = int(msg.seq)
            if msg.get_type() == "MISSION_ITEM_REACHED":
                self._done = seq >= self._last
                return ProgressEvent("reached", seq)
            if seq != self._current:
                self._current = seq
                return ProgressEvent("current", seq)
        self.close()
        raise StopAsyncIteration

    def close(self) -> None:
        self._sub.close()

    async def __aenter__(self) -> ProgressStream:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@dataclass(frozen=True)
class LaunchReport:
    """Each step of :func:`launch`; a step is None if an earlier one failed."""

    upload: UploadResult
    arm: CommandResult | None = None
    mode: CommandResult | None = None
    start: CommandResult | None = None

    @property
    def ok(self) -> bool:
        return bool(self.upload.accepted and self.arm and self.mode and self.start and self.start.accepted)


async def launch(client: MissionClient, items: list[MissionItem], vehicle_type: int) -> LaunchReport:
    """Upload, arm, AUTO and MISSION_START (a copter's takeoff is the mission's NAV_TAKEOFF item);
    stops at the first refusal and reports it."""
    up = await client.upload(items)
    if not up.accepted:
        return LaunchReport(up)
    arm = await client.arm()
    if not arm.accepted:
        return LaunchReport(up, arm)
    mode = await client.set_mode("AUTO", vehicle_type)
    if not mode.accepted:
        return LaunchReport(up, arm, mode)
    return LaunchReport(up, arm, mode, await client.start_mission())
