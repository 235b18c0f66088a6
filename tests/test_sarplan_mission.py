"""MAVLink mission upload and flight control against a simulated vehicle over real UDP sockets."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from pymavlink.dialects.v20 import ardupilotmega as M

from geo.river import RiverModel
from sar.sarplan import SearchArea, Searcher, creeping_line
from sar.sarplan.mavlink_link import MavlinkLink
from sar.sarplan.mission import (
    MissionClient,
    MissionItem,
    MissionTimeout,
    MissionTimeouts,
    ProgressEvent,
    launch,
    mission_items,
)
from tests.mavlink_vehicle import SimVehicle

FAST = MissionTimeouts(step_s=0.5, retries=4, command_s=0.5, command_retries=2)
T = TypeVar("T")


def run(make: Callable[[], Awaitable[T]], limit_s: float = 20.0) -> T:
    """Run one coroutine with a hard limit, so a broken exchange fails instead of hanging."""

    async def main() -> T:
        return await asyncio.wait_for(make(), limit_s)

    return asyncio.run(main())


@pytest.fixture(scope="module")
def items(river: RiverModel) -> list[MissionItem]:
    lon, lat = river.axis_point("north", 60.5)
    area = SearchArea("north", 60.0, 61.0, lon, lat, 200.0, 0.9)
    pattern = creeping_line(river, area, Searcher("d", "drone", 12.0), 100.0)
    return mission_items(pattern, vehicle="copter", altitude_m=40.0, speed_mps=12.0)


async def connect(v: SimVehicle) -> tuple[MavlinkLink, MissionClient, Any]:
    link = await MavlinkLink.open(v.address, heartbeat_period_s=0.1)
    info = await link.wait_heartbeat(3.0)
    return link, MissionClient(link, info.system_id, info.component_id, FAST), info


def upload(v: SimVehicle, its: list[MissionItem]) -> Any:
    async def go() -> Any:
        link, client, _ = await connect(v)
        async with link:
            return await client.upload(its)

    return run(go)


def test_mission_items_follow_the_pattern(river: RiverModel, items: list[MissionItem]) -> None:
    cmds = [i.command for i in items]
    assert cmds[:3] == [M.MAV_CMD_NAV_WAYPOINT, M.MAV_CMD_NAV_TAKEOFF, M.MAV_CMD_DO_CHANGE_SPEED]
    assert set(cmds[3:]) == {M.MAV_CMD_NAV_WAYPOINT}
    assert items[1].alt_m == 40.0 and items[2].params[:2] == (1.0, 12.0)
    rover = mission_items(
        creeping_line(
            river,
            SearchArea("north", 60.0, 60.3, *river.axis_point("north", 60.1), 100.0, 0.9),
            Searcher("b", "boat", 5.0),
            100.0,
        ),
        vehicle="rover",
        rtl_at_end=True,
    )
    assert M.MAV_CMD_NAV_TAKEOFF not in [i.command for i in rover]
    assert rover[-1].command == M.MAV_CMD_NAV_RETURN_TO_LAUNCH and rover[1].alt_m == 0.0


def test_upload_succeeds_and_the_vehicle_holds_exactly_the_items(items: list[MissionItem]) -> None:
    with SimVehicle() as v:
        r = upload(v, items)
    assert r.accepted and r.result == "MAV_MISSION_ACCEPTED"
    assert r.items == len(items) and r.count_sends == 1 and r.item_sends == len(items)
    assert [m.seq for m in v.mission] == list(range(len(items)))
    assert [(m.x, m.y, m.command) for m in v.mission] == [
        (round(i.lat * 1e7), round(i.lon * 1e7), i.command) for i in items
    ]
    assert v.mission[1].z == pytest.approx(40.0)


def test_legacy_mission_request_is_answered(items: list[MissionItem]) -> None:
    with SimVehicle(legacy_requests=True) as v:
        r = upload(v, items)
    assert r.accepted and len(v.mission) == len(items)


def test_a_lost_item_is_requested_again_by_the_vehicle(items: list[MissionItem]) -> None:
    with SimVehicle(drop_item_once=3, rerequest_s=0.1) as v:
        r = upload(v, items)
    assert r.accepted and v.dropped == ["item 3"]
    assert v.requests_sent.count(3) >= 2 and v.items_received == list(range(len(items)))
    assert r.item_sends == len(items) + 1


def test_a_lost_item_is_resent_by_the_uploader_when_the_vehicle_stays_silent(items: list[MissionItem]) -> None:
    with SimVehicle(drop_item_once=5, rerequest_s=None) as v:
        r = upload(v, items)
    assert r.accepted and v.dropped == ["item 5"]
    assert v.requests_sent.count(5) == 1  # the vehicle never asked again: the uploader's timeout did it
    assert r.item_sends == len(items) + 1


def test_a_lost_first_request_makes_the_uploader_resend_the_count(items: list[MissionItem]) -> None:
    with SimVehicle(drop_request_once=0, rerequest_s=None) as v:
        r = upload(v, items)
    assert r.accepted and v.dropped == ["request 0"]
    assert r.count_sends == 2 and v.counts_received == 2


def test_a_lost_later_request_is_recovered(items: list[MissionItem]) -> None:
    with SimVehicle(drop_request_once=4, rerequest_s=None) as v:
        r = upload(v, items)
    # item 3 is resent after the timeout; the vehicle, already past it, asks for 4 again
    assert r.accepted and v.dropped == ["request 4"] and r.item_sends == len(items) + 1


@pytest.mark.parametrize(
    ("vehicle", "name"),
    [
        ({"max_items": 5}, "MAV_MISSION_NO_SPACE"),
        ({"reject_with": M.MAV_MISSION_INVALID_PARAM5_X}, "MAV_MISSION_INVALID_PARAM5_X"),
        ({"reject_with": M.MAV_MISSION_DENIED}, "MAV_MISSION_DENIED"),
    ],
)
def test_a_rejected_mission_is_reported_by_its_result_name(
    items: list[MissionItem], vehicle: dict[str, Any], name: str
) -> None:
    with SimVehicle(**vehicle) as v:
        r = upload(v, items)
    assert not r.accepted and r.result == name
    assert v.mission == []


def test_a_silent_vehicle_times_out_after_the_retries(items: list[MissionItem]) -> None:
    mute = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    mute.bind(("127.0.0.1", 0))

    async def go() -> None:
        async with await MavlinkLink.open(mute.getsockname(), heartbeat_period_s=None) as link:
            client = MissionClient(link, 1, timeouts=MissionTimeouts(0.1, 3, 0.1, 3))
            with pytest.raises(MissionTimeout, match="no first MISSION_REQUEST after 4 tries"):
                await client.upload(items)
            with pytest.raises(MissionTimeout, match="COMMAND_ACK"):
                await client.arm()

    try:
        run(go)
        received = 0
        mute.settimeout(0.1)
        while True:
            try:
                mute.recvfrom(4096)
                received += 1
            except TimeoutError:
                break
        assert received == 4 + 4  # 1 + 3 MISSION_COUNTs, 1 + 3 COMMAND_LONGs
    finally:
        mute.close()


def test_launch_fly_and_return(items: list[MissionItem]) -> None:
    async def go() -> tuple[Any, list[ProgressEvent], Any]:
        link, client, info = await connect(v)
        async with link:
            async with client.follow(last_seq=len(items) - 1, idle_timeout_s=3.0) as progress:
                report = await launch(client, items, info.vehicle_type)
                events = [e async for e in progress]
            return report, events, await client.rtl()

    with SimVehicle(item_period_s=0.01) as v:
        report, events, rtl = run(go)
        assert v.armed and v.mode == "RTL"
    assert report.ok
    assert [c.result for c in (report.arm, report.mode, report.start)] == ["MAV_RESULT_ACCEPTED"] * 3
    # item 0 is home: the vehicle heads for and reaches 1, 2, ... the last
    expected = [ProgressEvent(k, s) for s in range(1, len(items)) for k in ("current", "reached")]
    assert events == expected
    assert rtl.accepted and rtl.command == "MAV_CMD_NAV_RETURN_TO_LAUNCH"
    sent = [c[0] for c in v.commands]
    assert sent == [
        M.MAV_CMD_COMPONENT_ARM_DISARM,
        M.MAV_CMD_DO_SET_MODE,
        M.MAV_CMD_MISSION_START,
        M.MAV_CMD_NAV_RETURN_TO_LAUNCH,
    ]
    assert v.commands[1][2] == 3.0  # ArduCopter AUTO


def test_refusals_stop_the_launch_and_name_the_result(items: list[MissionItem]) -> None:
    async def go() -> tuple[Any, Any, Any]:
        link, client, info = await connect(v)
        async with link:
            denied = await client.start_mission()  # not armed, no mission
            unsupported = await client.command(M.MAV_CMD_DO_SET_ROI_LOCATION, 0, 0, 0, 0, 47.0, 29.0, 0)
            report = await launch(client, items, info.vehicle_type)
            return denied, unsupported, report

    with SimVehicle(max_items=3) as v:
        denied, unsupported, report = run(go)
        assert not v.armed
    assert denied.result == "MAV_RESULT_DENIED" and not denied.accepted
    assert unsupported.result == "MAV_RESULT_UNSUPPORTED"
    assert not report.ok and report.upload.result == "MAV_MISSION_NO_SPACE" and report.arm is None
