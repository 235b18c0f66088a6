"""The FastAPI application, built from its collaborators (no module globals)."""

from __future__ import annotations

from importlib import resources

import xstatic.pkg.leaflet
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from geo.layers import build_layers
from geo.river import RiverModel
from geo.routing import RouteGraph
from sar import __version__
from sar.api import geo, health, routes
from sar.api.errors import install_error_handlers
from sar.settings import Settings


def create_app(settings: Settings, river: RiverModel | None = None, route_graph: RouteGraph | None = None) -> FastAPI:
    """Build the app; the river model and route graph are built from settings unless given."""
    river = river or RiverModel(settings.geo)
    route_graph = route_graph or RouteGraph(river, settings.routing)
    app = FastAPI(
        title="Dniester Watch",
        version=__version__,
        description="River-border surveillance and SAR dispatch for the Dniester (MD-UA).",
    )
    app.state.settings = settings
    app.state.river = river
    app.state.routes = route_graph
    app.state.layers = build_layers(river)
    install_error_handlers(app)
    for module in (health, geo, routes):
        app.include_router(module.router)
    _mount_web(app)
    return app


def _mount_web(app: FastAPI) -> None:
    web = resources.files("sar.web")
    app.mount("/static/vendor/leaflet", StaticFiles(directory=xstatic.pkg.leaflet.BASE_DIR), name="leaflet")
    app.mount("/static", StaticFiles(directory=str(web)), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(str(web.joinpath("index.html")), media_type="text/html")
