"""``GET /api/vessels``: static data of every AIS vessel seen (name, call sign, size), by MMSI."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel

from sar.api.security import READERS, allow
from sensors.vessels import VesselRegistry

router = APIRouter(prefix="/api/vessels", tags=["sensors"], dependencies=[allow(READERS)])


class VesselOut(BaseModel):
    mmsi: int
    name: str | None
    callsign: str | None
    ship_type: int | None
    length_m: float | None
    beam_m: float | None
    imo: int | None
    destination: str | None
    updated_at: datetime
    sensor_id: str


@router.get("", response_model=list[VesselOut])
def vessels(request: Request) -> list[VesselOut]:
    registry: VesselRegistry = request.app.state.vessels
    return [
        VesselOut(
            mmsi=v.mmsi,
            name=v.name,
            callsign=v.callsign,
            ship_type=v.ship_type,
            length_m=v.length_m,
            beam_m=v.beam_m,
            imo=v.imo,
            destination=v.destination,
            updated_at=v.time,
            sensor_id=v.sensor_id,
        )  # fmt: skip
        for v in registry.all()
    ]
