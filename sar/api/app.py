"""The FastAPI application, built from its collaborators (no module globals)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import resources
from typing import Any

import xstatic.pkg.leaflet
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from geo.layers import build_layers
from geo.river import RiverModel
from geo.routing import RouteGraph
from sar import __version__
from sar.api import auth as auth_routes
from sar.api import (
    crew,
    dispatch,
    geo,
    health,
    incidents,
    live,
    recommendations,
    reports,
    routes,
    sarplan,
    sensors,
    tracks,
    users,
    vessels,
)
from sar.api.errors import install_error_handlers
from sar.auth.service import Auth
from sar.bus import InProcessBus
from sar.dispatch.coverage import CoverageAnalyzer
from sar.dispatch.fleet import Fleet, PositionFeed
from sar.dispatch.recommend import Recommender
from sar.dispatch.travel import TravelTimes
from sar.incidents.book import IncidentBook
from sar.incidents.model import IncidentStatus
from sar.live import LiveFeed
from sar.pipeline import Pipeline
from sar.settings import Settings
from sar.store.feed import StageFeed
from sar.store.keeper import Keeper
from sar.store.store import Store
from sar.store.users import make_auth
from sar.store.wiring import attach_store
from sar.tracking.tracker import Tracker
from sensors.adapter import Clock, SystemClock
from sensors.hub import SensorHub
from sensors.model import SensorMessage, VesselStatic
from sensors.vessels import VesselRegistry

ROUTERS = (
    health,
    auth_routes,
    users,
    geo,
    routes,
    sensors,
    vessels,
    tracks,
    incidents,
    live,
    dispatch,
    crew,
    recommendations,
    sarplan,
    reports,
)


def create_app(
    settings: Settings,
    river: RiverModel | None = None,
    route_graph: RouteGraph | None = None,
    clock: Clock | None = None,
    bus: InProcessBus | None = None,
    companion: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    auth: Auth | None = None,
    store: Store | None = None,
) -> FastAPI:
    """Build the app; collaborators not given are built from settings. The configured sensors
    start listening when the app starts and stop when it stops; ``companion`` (the demo's
    simulator) runs while the sensors listen. ``auth`` (users and login tokens) runs on the wall
    clock, not ``clock``: a demo's fast scenario time must not expire tokens early. With a
    ``store`` (``dwatch serve``), what the last run kept is restored and every change is
    committed to it before it is published (``sar.store.wiring``)."""
    river = river or RiverModel(settings.geo)
    route_graph = route_graph or RouteGraph(river, settings.routing)
    bus = bus or InProcessBus()
    clock = clock or SystemClock()
    hub = SensorHub(settings.sensors, _publisher(bus, settings), clock)
    registry = VesselRegistry()
    bus.subscribe("sensors.*", _join_static(registry))
    tracker = Tracker(settings.tracker, river.projector, registry)
    book = IncidentBook.with_default_rules(river, settings.incidents)

    def snapshot() -> dict[str, Any]:
        return {**pipeline.snapshot(), **_dispatch_snapshot(app)}

    def open_ids() -> list[str]:
        return [i.id for i in book.list(IncidentStatus.OPEN)]

    feed = LiveFeed(clock.now, snapshot) if store is None else StageFeed(clock.now, snapshot, store, open_ids)
    pipeline = Pipeline(river, tracker, book, hub, feed, clock, settings.pipeline)
    bus.subscribe("sensors.*", pipeline.on_bus)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        gc.freeze()  # geodata, graph, settings: long-lived; keep them out of every full collection
        await pipeline.start()
        await deadlines.start()
        await coverage_watch.start()
        if keeper is not None:
            await keeper.start()
        try:
            if companion is None:
                yield
            else:
                async with companion(_app):
                    yield
        finally:
            if keeper is not None:
                await keeper.stop()
            await coverage_watch.stop()
            for task in list(app.state.mission_tasks):
                task.cancel()
            await deadlines.stop()
            await pipeline.stop()
            await hub.stop()
            if store is not None:
                store.close()

    app = FastAPI(
        title="Dniester Watch",
        version=__version__,
        description="River-border surveillance and SAR dispatch for the Dniester (MD-UA).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.auth = auth or make_auth(settings.auth, store)
    app.state.river = river
    app.state.routes = route_graph
    app.state.layers = build_layers(river)
    app.state.bus = bus
    app.state.hub = hub
    app.state.clock = clock
    app.state.vessels = registry
    app.state.pipeline = pipeline
    app.state.book = book
    app.state.feed = pipeline.feed
    app.state.fleet = Fleet.from_settings(settings.dispatch.fleet, clock.now())
    bus.subscribe("sensors.*", PositionFeed(app.state.fleet).on_message)  # own boats' AIS, drones' MAVLink
    travel = TravelTimes(route_graph)  # one cache of per-speed matrices and snapped positions
    app.state.recommender = Recommender(route_graph, settings.dispatch, travel)
    app.state.coverage = CoverageAnalyzer(route_graph, settings.dispatch, travel)
    coverage_watch = recommendations.CoverageWatch(app.state.coverage, app.state.fleet, feed, clock)
    app.state.coverage_watch = coverage_watch
    app.state.drift_settings = settings.sarplan.with_current_of(settings.routing)
    app.state.sar_plans = {}
    app.state.sar_plan_objects = {}
    app.state.mission_tasks = set()  # drones' missions being followed
    propose = recommendations.next_best(app.state.recommender, app.state.fleet, book, pipeline, river, clock)
    app.state.orders, app.state.crew = dispatch.build(
        app.state.fleet, book, feed, route_graph, clock, settings.dispatch.ack_deadline_s, propose
    )
    deadlines = dispatch.DeadlineTicker(app.state.orders, clock)  # expires unanswered orders
    keeper: Keeper | None = None if store is None else attach_store(app, store)  # restore, then write-through
    install_error_handlers(app)
    for module in ROUTERS:
        app.include_router(module.router)
    _mount_web(app)
    return app


def _dispatch_snapshot(app: FastAPI) -> dict[str, Any]:
    """What a (re)connecting operator page needs besides tracks and incidents."""
    st = app.state
    return {
        "assets": [a.to_dict() for a in sorted(st.fleet.all(), key=lambda a: a.id)],
        "orders": [o.to_dict() for o in st.orders.list(open_only=True)],
        "sar_plans": list(st.sar_plans.values()),
        "coverage_gaps": st.coverage_watch.gaps,
    }


def _publisher(bus: InProcessBus, settings: Settings) -> Callable[[SensorMessage], None]:
    """Sensor messages go on the bus under ``sensors.<agency>.<sensor_id>``."""
    agency = {c.id: c.agency for c in settings.sensors}

    def publish(msg: SensorMessage) -> None:
        bus.publish(f"sensors.{agency.get(msg.sensor_id, 'xx')}.{msg.sensor_id}", msg)

    return publish


def _join_static(registry: VesselRegistry) -> Callable[[str, object], None]:
    def on_message(_subject: str, msg: object) -> None:
        if isinstance(msg, VesselStatic):
            registry.update(msg)

    return on_message


def _mount_web(app: FastAPI) -> None:
    web = resources.files("sar.web")
    app.mount("/static/vendor/leaflet", StaticFiles(directory=xstatic.pkg.leaflet.BASE_DIR), name="leaflet")
    app.mount("/static", StaticFiles(directory=str(web)), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(str(web.joinpath("index.html")), media_type="text/html")

    @app.get("/crew", include_in_schema=False)
    def crew_page() -> FileResponse:
        return FileResponse(str(web.joinpath("crew.html")), media_type="text/html")
