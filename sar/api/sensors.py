"""``/api/sensors``: health of every sensor, and the HTTP way in for sensor messages."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel

from sar.api.security import OPERATIONAL, READERS, Bearer, allow, app_auth, forbidden, unauthorized
from sar.auth.sessions import token_sha256
from sensors.hub import SensorHub, UnknownSensor

router = APIRouter(prefix="/api/sensors", tags=["sensors"])

MAX_BODY = 1 << 20


def _hub(request: Request) -> SensorHub:
    hub: SensorHub = request.app.state.hub
    return hub


Hub = Annotated[SensorHub, Depends(_hub)]


class SiteOut(BaseModel):
    lon: float
    lat: float
    height_m: float


class SensorHealthOut(BaseModel):
    sensor_id: str
    kind: str
    agency: str
    transport: str
    site: SiteOut | None
    status: str
    last_message_at: datetime | None
    rate_per_s: float
    accepted: int
    rejected: dict[str, int]
    expected_period_s: float


class IngestResult(BaseModel):
    messages: int
    rejected: dict[str, int]


@router.get("", response_model=list[SensorHealthOut], dependencies=[allow(READERS)])
def sensors(hub: Hub) -> list[SensorHealthOut]:
    """Each sensor: status (ok, stale, no_data), last message, rate over 60 s, counts."""
    return [
        SensorHealthOut(
            sensor_id=h.sensor_id,
            kind=h.kind.value,
            agency=h.agency,
            transport=hub.configs[h.sensor_id].transport.kind,
            status=h.status.value,
            site=_site(hub, h.sensor_id),
            last_message_at=h.last_message_at,
            rate_per_s=h.rate_per_s,
            accepted=h.accepted,
            rejected=h.rejected,
            expected_period_s=h.expected_period_s,
        )
        for h in hub.health()
    ]


def _site(hub: SensorHub, sensor_id: str) -> SiteOut | None:
    site = hub.configs[sensor_id].site
    return SiteOut(lon=site.lon, lat=site.lat, height_m=site.height_m) if site else None


async def _ingest_access(
    sensor_id: str, request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Bearer]
) -> None:
    """The sensor's own token (``token_sha256`` in its config), or an operator's or admin's."""
    if credentials is None:
        raise unauthorized("missing token: send the sensor's token (or an operator's) as Authorization: Bearer")
    config = _hub(request).configs.get(sensor_id)
    if config is not None and config.token_sha256:
        if hmac.compare_digest(config.token_sha256, token_sha256(credentials.credentials)):
            return
    found = app_auth(request).identify(credentials.credentials)
    if found is None:
        raise unauthorized("invalid or expired token (neither this sensor's nor a user's)")
    if found.user.role not in OPERATIONAL:
        raise forbidden(request, found.user, OPERATIONAL)


@router.post(
    "/{sensor_id}/ingest", response_model=IngestResult, status_code=202, dependencies=[Depends(_ingest_access)]
)
async def ingest(sensor_id: str, request: Request, hub: Hub) -> IngestResult:
    """One message body (a camera's JSON event, NMEA lines, ...) for a configured sensor.
    422 when nothing in it could be used, with the reasons."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(413, f"body of {len(body)} bytes exceeds {MAX_BODY}")
    try:
        made, rejected = hub.post(sensor_id, body)
    except UnknownSensor:
        raise HTTPException(404, f"no sensor {sensor_id!r} is configured") from None
    if made == 0 and set(rejected) - {"duplicate"}:  # a resent duplicate is harmless, not an error
        raise HTTPException(422, "rejected: " + ", ".join(f"{k} x{n}" for k, n in sorted(rejected.items())))
    return IngestResult(messages=made, rejected=rejected)
