"""FastAPI dependencies: the collaborators the app was built with, read from ``app.state``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request

from geo.river import RiverModel
from geo.routing import RouteGraph
from sar.settings import Settings


def _river(request: Request) -> RiverModel:
    river: RiverModel = request.app.state.river
    return river


def _routes(request: Request) -> RouteGraph:
    routes: RouteGraph = request.app.state.routes
    return routes


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _layers(request: Request) -> dict[str, Any]:
    layers: dict[str, Any] = request.app.state.layers
    return layers


River = Annotated[RiverModel, Depends(_river)]
Routes = Annotated[RouteGraph, Depends(_routes)]
AppSettings = Annotated[Settings, Depends(_settings)]
Layers = Annotated[dict[str, Any], Depends(_layers)]

Lon = Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False, description="WGS84 longitude, degrees")]
Lat = Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="WGS84 latitude, degrees")]
