"""``GET /api/health``: is the process up, and what river model is it serving."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel

from sar import __version__
from sar.api.deps import River, Routes

router = APIRouter(tags=["health"])


class SectionInfo(BaseModel):
    name: str
    length_km: float
    right_bank: str
    left_bank: str


class Health(BaseModel):
    status: str
    version: str
    time: datetime
    sections: list[SectionInfo]
    route_graph_nodes: int
    tracker: dict[str, int]
    live_subscribers: int


@router.get("/api/health", response_model=Health)
def health(request: Request, river: River, routes: Routes) -> Health:
    """``time`` is the system's clock (scenario time in the demo), for clients to align with."""
    return Health(
        status="ok",
        version=__version__,
        time=request.app.state.clock.now(),
        sections=[
            SectionInfo(
                name=s.name, length_km=round(s.length_m / 1000, 3), right_bank=s.right_bank, left_bank=s.left_bank
            )
            for s in river.sections
        ],
        route_graph_nodes=routes.graph.number_of_nodes(),
        tracker=dict(request.app.state.pipeline.tracker.counters),
        live_subscribers=request.app.state.feed.subscribers,
    )
