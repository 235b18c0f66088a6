"""The order book with an injected clock: dispatch, deadline expiry, decline, crew progress, cancel,
the fleet following each order, the live feed messages, ETA by water on the real river."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from geo.river import RiverModel
from geo.routing import RouteGraph
from sar.api.dispatch import nearest_by_water, water_eta
from sar.dispatch.fleet import AssetStatus, Fleet, UnknownAsset, example_fleet_path, load_fleet_file
from sar.dispatch.orders import (
    AssetUnavailable,
    CrewStatus,
    IncidentNotOpen,
    OrderBook,
    OrderChange,
    OrderConflict,
    OrderState,
    ProposeNext,
    UnknownOrder,
)
from sar.incidents.book import IncidentBook
from sar.incidents.model import UnknownIncident

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
INCIDENT_AT = (28.3057, 48.1566)  # on the water at Soroca, north section km 106.92
SPEED_MPS, CURRENT_MPS = 12.0, 0.8  # MD-B3 / UA-B3 speed; the north section's default current


class Published:
    """The live feed's publish function, recording (type, data)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, Any]] = []

    def __call__(self, type_: str, data: Any) -> None:
        self.messages.append((type_, data))

    def of(self, type_: str) -> list[Any]:
        return [d for t, d in self.messages if t == type_]


def in_order(*ids: str) -> ProposeNext:
    """A plain proposer: the first asset of a fixed list that is not excluded."""

    def propose(_incident_id: str, exclude: frozenset[str]) -> dict[str, Any] | None:
        asset_id = next((a for a in ids if a not in exclude), None)
        return {"asset_id": asset_id} if asset_id else None

    return propose


@pytest.fixture()
def world(river: RiverModel, graph: RouteGraph) -> tuple[OrderBook, Fleet, IncidentBook, Published, str]:
    """The example fleet (MD-B4 out of service), one person in the water at Soroca."""
    assets = load_fleet_file(example_fleet_path()).assets
    assets = [a.model_copy(update={"out_of_service": True}) if a.id == "MD-B4" else a for a in assets]
    fleet = Fleet(assets, T0)
    incidents = IncidentBook(river, [])
    incident = incidents.report("person_in_water", *INCIDENT_AT, T0, "fisherman", "man overboard")
    feed = Published()
    orders = OrderBook(fleet, incidents, feed, 60.0, water_eta(graph), in_order("MD-B3", "UA-B3", "MD-B2"))
    return orders, fleet, incidents, feed, incident.id


def test_dispatch_assigns_the_asset_and_publishes(world: tuple[OrderBook, Fleet, IncidentBook, Published, str]) -> None:
    orders, fleet, _, feed, iid = world
    order = orders.dispatch(iid, "MD-B3", "operator md-1", T0, note="take the medic")
    assert (order.id, order.state, order.agency, order.incident_id) == ("O0001", OrderState.SENT, "MD", iid)
    assert order.deadline == T0 + timedelta(seconds=60) and order.is_open
    # readiness 10 min at base + 18.88 km downstream (Cosauti km 88.04 -> km 106.92) at 12 + 0.8 m/s
    assert order.eta_s == pytest.approx(600 + 18_880 / (SPEED_MPS + CURRENT_MPS), rel=0.01)
    asset = fleet.get("MD-B3")
    assert (asset.status, asset.order_id) == (AssetStatus.ASSIGNED, "O0001")
    assert feed.of("order")[-1]["state"] == "sent" and feed.of("order")[-1]["id"] == "O0001"
    assert feed.of("asset")[-1]["status"] == "assigned" and feed.of("asset")[-1]["order_id"] == "O0001"
    h = order.to_dict()["history"]
    assert h == [{"time": T0.isoformat(), "state": "sent", "by": "operator md-1",
                  "detail": f"Nistru 3 (MD-B3) sent to incident {iid}: take the medic"}]  # fmt: skip
    assert [o.id for o in orders.list(open_only=True)] == ["O0001"]


def test_busy_out_of_service_unknown_and_closed_are_refused(
    world: tuple[OrderBook, Fleet, IncidentBook, Published, str],
) -> None:
    orders, _, incidents, _, iid = world
    orders.dispatch(iid, "MD-B3", "op", T0)
    with pytest.raises(AssetUnavailable, match=rf"Nistru 3 \(MD-B3\) is busy: order O0001 \(sent\) for incident {iid}"):
        orders.dispatch(iid, "MD-B3", "op", T0)
    with pytest.raises(AssetUnavailable, match=r"Nistru 4 \(MD-B4\) is out of service"):
        orders.dispatch(iid, "MD-B4", "op", T0)
    with pytest.raises(UnknownAsset):
        orders.dispatch(iid, "XX-B9", "op", T0)
    with pytest.raises(UnknownIncident):
        orders.dispatch("I9999", "UA-B3", "op", T0)
    incidents.close(iid, "op", "false alarm", T0)
    with pytest.raises(IncidentNotOpen, match="closed"):
        orders.dispatch(iid, "UA-B3", "op", T0)
    with pytest.raises(UnknownOrder):
        orders.get("O0404")


def test_crew_progress_moves_order_and_fleet_forward_only(
    world: tuple[OrderBook, Fleet, IncidentBook, Published, str],
) -> None:
    orders, fleet, _, feed, iid = world
    o = orders.dispatch(iid, "MD-B3", "op", T0)
    with pytest.raises(OrderConflict, match="accept the order first"):
        orders.crew_status("MD-B3", CrewStatus.EN_ROUTE, "crew:MD-B3", T0)
    t = T0 + timedelta(seconds=20)
    accepted, applied = orders.accept(o.id, "crew:MD-B3", t, asset_id="MD-B3")
    assert applied and accepted.state is OrderState.ACCEPTED and fleet.get("MD-B3").status is AssetStatus.ASSIGNED
    assert orders.accept(o.id, "crew:MD-B3", t)[1] is False  # a second device: harmless, not applied again
    for status, state in [(CrewStatus.EN_ROUTE, "en_route"), (CrewStatus.ON_SCENE, "on_scene")]:
        order, asset = orders.crew_status("MD-B3", status, "crew:MD-B3", t)
        assert order is not None and order.state.value == state and asset.status.value == state
    with pytest.raises(OrderConflict, match="order is on_scene; status en_route would go back"):
        orders.crew_status("MD-B3", CrewStatus.EN_ROUTE, "crew:MD-B3", t)
    orders.crew_status("MD-B3", CrewStatus.RETURNING, "crew:MD-B3", t)
    done, asset = orders.crew_status("MD-B3", CrewStatus.AVAILABLE, "crew:MD-B3", t + timedelta(minutes=30))
    assert done is not None and done.state is OrderState.DONE and not done.is_open
    assert (asset.status, asset.order_id, asset.at_base) == (AssetStatus.AVAILABLE, None, True)
    assert [h.state.value for h in done.history] == ["sent", "accepted", "en_route", "on_scene", "returning", "done"]
    assert [d["state"] for d in feed.of("order")] == ["sent", "accepted", "en_route", "on_scene", "returning", "done"]
    assert orders.open_order("MD-B3") is None and orders.list(open_only=True) == []
    assert orders.dispatch(iid, "MD-B3", "op", t + timedelta(minutes=31)).id == "O0002"  # free again


def test_unanswered_order_expires_at_its_deadline_and_the_next_asset_is_proposed(
    world: tuple[OrderBook, Fleet, IncidentBook, Published, str],
) -> None:
    orders, fleet, _, feed, iid = world
    heard: list[OrderChange] = []
    orders.add_listener(heard.append)
    o = orders.dispatch(iid, "MD-B3", "op", T0)
    assert orders.tick(o.deadline - timedelta(microseconds=1)) == []
    (expired,) = orders.tick(o.deadline)
    assert expired.state is OrderState.EXPIRED and expired.history[-1].by == "system"
    assert expired.history[-1].detail == "not acknowledged within 60 s"
    alert = feed.of("order")[-1]
    assert alert["state"] == "expired" and alert["proposal"] == {"asset_id": "UA-B3"}
    assert alert["alert"] == "order O0001 to Nistru 3 (MD-B3) expired: not acknowledged within 60 s"
    assert fleet.get("MD-B3").status is AssetStatus.AVAILABLE
    assert [(c.previous, c.order.state) for c in heard] == [(None, OrderState.SENT), (OrderState.SENT, expired.state)]
    assert heard[-1].proposal == {"asset_id": "UA-B3"}
    with pytest.raises(OrderConflict, match="^order expired$"):
        orders.accept(o.id, "crew:MD-B3", o.deadline + timedelta(seconds=1))
    assert orders.tick(o.deadline + timedelta(hours=1)) == []  # expired once only


def test_accept_after_the_deadline_is_refused_even_before_the_tick(
    world: tuple[OrderBook, Fleet, IncidentBook, Published, str],
) -> None:
    orders, _, _, feed, iid = world
    o = orders.dispatch(iid, "MD-B3", "op", T0)
    with pytest.raises(OrderConflict, match="order expired"):
        orders.accept(o.id, "crew:MD-B3", o.deadline)
    assert orders.get(o.id).state is OrderState.EXPIRED and feed.of("order")[-1]["alert"]


def test_decline_escalates_at_once_excluding_every_asset_tried(
    world: tuple[OrderBook, Fleet, IncidentBook, Published, str],
) -> None:
    orders, fleet, _, feed, iid = world
    first = orders.dispatch(iid, "MD-B3", "op", T0)
    declined = orders.decline(first.id, "crew:MD-B3", T0 + timedelta(seconds=5), "engine failure")
    assert declined.state is OrderState.DECLINED and fleet.get("MD-B3").status is AssetStatus.AVAILABLE
    assert feed.of("order")[-1]["proposal"] == {"asset_id": "UA-B3"}
    assert feed.of("order")[-1]["alert"] == "order O0001 to Nistru 3 (MD-B3) declined: declined: engine failure"
    second = orders.dispatch(iid, "UA-B3", "op", T0 + timedelta(seconds=10))
    orders.decline(second.id, "crew:UA-B3", T0 + timedelta(seconds=15), "no crew")
    assert feed.of("order")[-1]["proposal"] == {"asset_id": "MD-B2"}
    with pytest.raises(OrderConflict, match="order expired"):
        orders.decline(orders.dispatch(iid, "MD-B2", "op", T0).id, "crew:MD-B2", T0 + timedelta(minutes=2), "late")


def test_cancel_frees_the_asset_and_cannot_repeat(world: tuple[OrderBook, Fleet, IncidentBook, Published, str]) -> None:
    orders, fleet, _, _, iid = world
    o = orders.dispatch(iid, "UA-B3", "op", T0)
    orders.accept(o.id, "crew:UA-B3", T0)
    orders.crew_status("UA-B3", CrewStatus.EN_ROUTE, "crew:UA-B3", T0)
    cancelled = orders.cancel(o.id, "operator ua-2", T0 + timedelta(minutes=3), "found by a fisherman")
    assert cancelled.state is OrderState.CANCELLED and cancelled.history[-1].detail == "found by a fisherman"
    assert fleet.get("UA-B3").status is AssetStatus.AVAILABLE and fleet.get("UA-B3").order_id is None
    with pytest.raises(OrderConflict, match="order O0001 is already cancelled"):
        orders.cancel(o.id, "operator ua-2", T0)
    with pytest.raises(OrderConflict, match="order cancelled"):
        orders.accept(o.id, "crew:UA-B3", T0)
    with pytest.raises(OrderConflict, match="no open order: status on_scene needs one"):
        orders.crew_status("UA-B3", CrewStatus.ON_SCENE, "crew:UA-B3", T0)
    _, asset = orders.crew_status("UA-B3", CrewStatus.RETURNING, "crew:UA-B3", T0)  # heading home after the cancel
    assert asset.status is AssetStatus.RETURNING and orders.dispatch(iid, "UA-B3", "op", T0).state is OrderState.SENT


def test_a_position_report_refreshes_the_eta_by_water(
    world: tuple[OrderBook, Fleet, IncidentBook, Published, str], river: RiverModel
) -> None:
    orders, fleet, _, feed, iid = world
    o = orders.dispatch(iid, "MD-B3", "op", T0)
    orders.accept(o.id, "crew:MD-B3", T0)
    orders.crew_status("MD-B3", CrewStatus.EN_ROUTE, "crew:MD-B3", T0)
    lon, lat = river.axis_point("north", 100.0)
    state = orders.position("MD-B3", lon, lat, T0 + timedelta(minutes=12))
    assert (state.position.lon, state.position.lat, state.position.source) == (lon, lat, "crew")
    eta = orders.get(o.id).eta_s
    assert eta == pytest.approx(
        (106.918 - 100.0) * 1000 / (SPEED_MPS + CURRENT_MPS), rel=0.02
    )  # launched: no readiness
    assert feed.of("order")[-1]["eta_s"] == eta and feed.of("asset")[-1]["position"]["source"] == "crew"
    assert fleet.get("MD-B3").at_base is False


def test_nearest_by_water_proposes_the_boat_across_the_river(
    world: tuple[OrderBook, Fleet, IncidentBook, Published, str], graph: RouteGraph
) -> None:
    _, fleet, incidents, _, iid = world
    propose = nearest_by_water(fleet, incidents, graph)
    # Cosauti (MD, km 88.04) and Yampil (UA, km 88.33) face each other 18.6-18.9 km upstream with
    # 10 min readiness; every other boat of the north section is farther or slower.
    assert propose(iid, frozenset())["asset_id"] == "UA-B3"  # type: ignore[index]
    best = propose(iid, frozenset({"UA-B3"}))
    assert best is not None and best["asset_id"] == "MD-B3" and best["agency"] == "MD"
    assert best["eta_s"] == pytest.approx(600 + 18_880 / (SPEED_MPS + CURRENT_MPS), rel=0.01)
    assert propose(iid, frozenset({a.id for a in fleet.all()})) is None
