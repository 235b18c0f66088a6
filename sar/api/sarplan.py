"""``/api/incidents/{id}/sar-plan``: where a person in the water is now and will be, where to
search, and who searches what.

The last known position is the incident's person track when it is still held (its latest fix),
else the incident's position and time. Searchers are the asked fleet assets, else the assets
with an open order for the incident, else the best two available boats and drones by ETA. The
plan is kept per incident, published on the live feed (``sar_plan``) for the map, and each
assigned crew with an open order for the incident gets its waypoints on ``/ws/crew``
(``order_update`` with ``sar_pattern``).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from geo.errors import GeoError
from sar.api.security import OPERATIONAL, READERS, allow
from sar.dispatch.crew import CrewChannel, MessageType
from sar.dispatch.fleet import AssetKind, AssetState, AssetStatus, Fleet, UnknownAsset
from sar.dispatch.orders import OrderBook
from sar.dispatch.recommend import Recommender
from sar.incidents.book import IncidentBook
from sar.incidents.model import Incident, IncidentStatus, UnknownIncident
from sar.live import LiveFeed
from sar.sarplan.errors import MissionError, SarPlanError
from sar.sarplan.mavlink_link import MavlinkLink
from sar.sarplan.mission import LaunchReport, MissionClient, MissionTimeouts, ProgressStream, launch, mission_items
from sar.sarplan.patterns import Searcher
from sar.sarplan.plan import SarPlanRequest, make_plan

router = APIRouter(prefix="/api/incidents", tags=["sar"], dependencies=[allow(READERS, OPERATIONAL)])

_DEFAULT_SEARCHERS = 2  # of each kind, when none is asked and none is dispatched


def _state(request: Request) -> Any:
    return request.app.state


State = Annotated[Any, Depends(_state)]


@router.post("/{incident_id}/sar-plan", status_code=201)
async def create_plan(incident_id: str, state: State, body: Annotated[SarPlanRequest, Body()]) -> dict[str, Any]:
    book: IncidentBook = state.book
    try:
        incident = book.get(incident_id)
    except UnknownIncident as exc:
        raise HTTPException(404, str(exc).strip("'\"")) from None
    if incident.status is IncidentStatus.CLOSED:
        raise HTTPException(409, f"incident {incident.id} is closed")
    searchers = _searchers(state, incident, body.asset_ids)
    lon, lat, time = _last_known(state, incident)
    try:
        plan = await asyncio.to_thread(make_plan, state.river, state.drift_settings, (lon, lat, time), body, searchers)
    except (GeoError, SarPlanError) as exc:  # one readable line each
        raise HTTPException(422, str(exc)) from None
    out = {
        "incident_id": incident.id,
        "created_at": state.clock.now().isoformat(),
        "last_known": {"lon": lon, "lat": lat, "time": time.isoformat()},
        "searchers": [{"id": s.id, "kind": s.kind, "speed_mps": s.speed_mps} for s in searchers],
        **plan.to_dict(),
    }
    state.sar_plans[incident.id] = out
    state.sar_plan_objects[incident.id] = plan
    state.feed.publish("sar_plan", out)
    _send_to_crews(state.orders, state.crew, incident.id, out)
    return out


@router.get("/{incident_id}/sar-plan")
async def get_plan(incident_id: str, state: State) -> dict[str, Any]:
    plan: dict[str, Any] | None = state.sar_plans.get(incident_id)
    if plan is None:
        raise HTTPException(404, f"no SAR plan for incident {incident_id}")
    return plan


def _last_known(state: Any, incident: Incident) -> tuple[float, float, Any]:
    held = {t.id: t for t in state.pipeline.tracker.tracks()}
    track = next((held[i] for i in incident.track_ids if i in held), None)
    if track is not None:
        return track.lon, track.lat, track.time
    return incident.lon, incident.lat, incident.updated_at


def _searchers(state: Any, incident: Incident, asked: list[str]) -> list[Searcher]:
    fleet: Fleet = state.fleet
    if asked:
        try:
            assets = [fleet.get(a) for a in dict.fromkeys(asked)]
        except UnknownAsset as exc:
            raise HTTPException(404, str(exc)) from None
        out_of_service = [a.id for a in assets if a.status is AssetStatus.OUT_OF_SERVICE]
        if out_of_service:
            raise HTTPException(409, f"out of service: {', '.join(out_of_service)}")
    else:
        orders: OrderBook = state.orders
        ids = [o.asset_id for o in orders.list(open_only=True) if o.incident_id == incident.id]
        assets = [fleet.get(i) for i in ids]
        if not assets:
            recommender: Recommender = state.recommender
            ranked = [r for r in recommender.rank(incident, fleet.all(), state.clock.now(), routes=0) if r.eligible]
            for kind in ("boat", "drone"):
                assets += [fleet.get(r.asset_id) for r in ranked if r.kind == kind][:_DEFAULT_SEARCHERS]
    if not assets:
        raise HTTPException(409, "no searcher: no asset asked, dispatched or available for this incident")
    return [Searcher(a.id, "drone" if a.config.kind is AssetKind.DRONE else "boat", a.config.speed_mps) for a in assets]


def _send_to_crews(orders: OrderBook, crew: CrewChannel, incident_id: str, plan: dict[str, Any]) -> None:
    for assignment in plan["assignments"]:
        order = orders.open_order(assignment["searcher_id"])
        if order is None or order.incident_id != incident_id:
            continue
        data = {"order_id": order.id, "incident_id": incident_id, "sar_pattern": assignment}
        crew.send(order.asset_id, MessageType.ORDER_UPDATE, data, order_id=order.id)


class MissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    altitude_m: float = Field(default=30.0, gt=5, le=120, allow_inf_nan=False, description="above home")
    heartbeat_timeout_s: float = Field(default=5.0, gt=0, le=60)


@router.post("/{incident_id}/sar-plan/missions/{asset_id}")
async def launch_mission(
    incident_id: str, asset_id: str, state: State, body: Annotated[MissionIn | None, Body()] = None
) -> dict[str, Any]:
    """Upload the drone's assigned pattern as a MAVLink mission, arm, AUTO, start; the outcome
    (and a rejection, with the vehicle's MAV_MISSION_RESULT) goes to the operators as a
    ``mission`` message on the live feed; progress follows as ``mission`` messages."""
    body = body or MissionIn()
    drone, address = _drone(state.fleet, asset_id)
    plan = state.sar_plan_objects.get(incident_id)
    pattern = (
        next((a.pattern for a in plan.assignments.assignments if a.searcher_id == asset_id), None) if plan else None
    )
    if pattern is None:
        raise HTTPException(409, f"no search pattern assigned to {asset_id} for incident {incident_id}")
    items = mission_items(pattern, altitude_m=body.altitude_m, speed_mps=drone.config.speed_mps)
    feed: LiveFeed = state.feed
    base = {"incident_id": incident_id, "asset_id": asset_id, "items": len(items)}
    try:
        link = await MavlinkLink.open(address)
    except OSError as exc:
        raise HTTPException(502, f"cannot open the MAVLink link to {address[0]}:{address[1]}: {exc}") from None
    try:
        info = await link.wait_heartbeat(body.heartbeat_timeout_s)
        client = MissionClient(link, info.system_id, info.component_id, MissionTimeouts())
        progress = client.follow(last_seq=len(items) - 1)
        report = await launch(client, items, info.vehicle_type)
    except MissionError as exc:
        await link.close()
        feed.publish("mission", {**base, "state": "failed", "alert": True, "detail": str(exc)})
        raise HTTPException(504, f"drone {asset_id} did not answer: {exc}") from None
    out = {**base, **_report(report)}
    if not report.ok:
        progress.close()
        await link.close()
        feed.publish("mission", {**out, "state": "rejected", "alert": True})
        raise HTTPException(409, f"drone {asset_id} refused the mission: {out['refused']}")
    feed.publish("mission", {**out, "state": "started", "alert": False})
    task = asyncio.create_task(_follow(link, progress, feed, base), name=f"mission-{asset_id}")
    state.mission_tasks.add(task)
    task.add_done_callback(state.mission_tasks.discard)
    return {**out, "state": "started"}


@router.post("/{incident_id}/sar-plan/missions/{asset_id}/rtl")
async def return_to_launch(incident_id: str, asset_id: str, state: State) -> dict[str, Any]:
    """Recall a drone (MAV_CMD_NAV_RETURN_TO_LAUNCH); the answer and a ``mission`` message say
    whether the vehicle accepted."""
    _, address = _drone(state.fleet, asset_id)
    feed: LiveFeed = state.feed
    base = {"incident_id": incident_id, "asset_id": asset_id}
    link = await MavlinkLink.open(address)
    try:
        info = await link.wait_heartbeat(5.0)
        result = await MissionClient(link, info.system_id, info.component_id, MissionTimeouts()).rtl()
    except MissionError as exc:
        feed.publish("mission", {**base, "state": "rtl_failed", "alert": True, "detail": str(exc)})
        raise HTTPException(504, f"drone {asset_id} did not answer: {exc}") from None
    finally:
        await link.close()
    out = {**base, "state": "rtl" if result.accepted else "rtl_refused", "result": result.result}
    feed.publish("mission", {**out, "alert": not result.accepted})
    if not result.accepted:
        raise HTTPException(409, f"drone {asset_id} refused RTL: {result.result}")
    return out


def _drone(fleet: Fleet, asset_id: str) -> tuple[AssetState, tuple[str, int]]:
    """The drone and its MAVLink address, or 404 (unknown) / 409 (not a drone with a link)."""
    try:
        drone = fleet.get(asset_id)
    except UnknownAsset as exc:
        raise HTTPException(404, str(exc)) from None
    if drone.config.kind is not AssetKind.DRONE or drone.config.mavlink is None:
        raise HTTPException(409, f"{asset_id} is not a drone with a MAVLink link (fleet key 'mavlink')")
    host, port = drone.config.mavlink.rsplit(":", 1)
    return drone, (host, int(port))


def _report(r: LaunchReport) -> dict[str, Any]:
    steps = {"upload": r.upload.result, "arm": None, "mode": None, "start": None}
    for name, step in (("arm", r.arm), ("mode", r.mode), ("start", r.start)):
        steps[name] = step.result if step is not None else None
    refused = next((v for v in steps.values() if v is not None and not v.endswith("ACCEPTED")), None)
    return {"ok": r.ok, "steps": steps, "refused": refused, "upload_sends": r.upload.item_sends}


async def _follow(link: MavlinkLink, progress: ProgressStream, feed: LiveFeed, base: dict[str, Any]) -> None:
    """Publish the vehicle's progress until the last item is reached or it goes quiet."""
    try:
        async for event in progress:
            feed.publish("mission", {**base, "state": "progress", "event": event.kind, "seq": event.seq})
        feed.publish("mission", {**base, "state": "completed"})
    except MissionError as exc:
        feed.publish("mission", {**base, "state": "silent", "alert": True, "detail": str(exc)})
    finally:
        progress.close()
        await link.close()
