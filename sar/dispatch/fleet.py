"""The fleet: boats and drones of both agencies, from configuration, with their live state.

An asset's configuration (:class:`AssetConfig`) is fixed: id, agency, call sign, base (launch
point on the water), speed through water, capabilities, crew, readiness at base. Its state
(:class:`AssetState`) changes: status, position (from the crew client, AIS or MAVLink) and when
each last changed. :class:`Fleet` holds both and is the one place that changes the state.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import tomllib
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sensors.model import Observation, SensorKind, VehicleState


class Agency(StrEnum):
    MD = "MD"
    UA = "UA"


class AssetKind(StrEnum):
    BOAT = "boat"
    DRONE = "drone"


class Capability(StrEnum):
    SAR = "sar"
    INTERDICTION = "interdiction"
    NIGHT = "night"
    MEDICAL = "medical"


class AssetStatus(StrEnum):
    AVAILABLE = "available"
    ASSIGNED = "assigned"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RETURNING = "returning"
    OUT_OF_SERVICE = "out_of_service"


class FleetError(Exception):
    """A fleet file or an asset change is invalid; the message is one readable line."""


class UnknownAsset(FleetError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown asset"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Base(_Strict):
    """Where the asset launches: a point on (or beside) the water."""

    name: str = Field(min_length=1)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)


class AssetConfig(_Strict):
    """One boat or drone. ``token_sha256`` is the SHA-256 (hex) of the crew's token; the token
    itself is never stored."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    agency: Agency
    kind: AssetKind = AssetKind.BOAT
    call_sign: str = Field(min_length=1, max_length=40)
    base: Base
    speed_mps: float = Field(gt=0, le=60, description="speed through water (boats) or airspeed (drones), m/s")
    capabilities: frozenset[Capability] = frozenset({Capability.SAR})
    crew: int = Field(default=2, ge=0, le=50)
    readiness_min: float = Field(default=10.0, ge=0, le=24 * 60, description="minutes to launch from base")
    endurance_min: float | None = Field(default=None, gt=0, description="drones: flight time")
    token_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    mmsi: int | None = Field(default=None, ge=100_000_000, le=999_999_999, description="the boat's own AIS")
    telemetry: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.-]+:[0-9]{1,3}$",
        description="drones: SENSOR_ID:SYSTEM_ID of the drone sensor link that reports its position",
    )
    mavlink: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9.-]+:[0-9]{1,5}$",
        description="drones: HOST:PORT where the vehicle (or its telemetry radio) listens for MAVLink over UDP",
    )
    out_of_service: bool = False


class FleetSettings(_Strict):
    """The fleet in the settings: a fleet file (TOML with ``[[assets]]``) and/or inline assets."""

    file: Path | None = Field(default=None, description="TOML file with [[assets]] tables")
    assets: list[AssetConfig] = Field(default_factory=list)


class FleetFile(_Strict):
    example: bool = False
    note: str = ""
    assets: list[AssetConfig]

    @model_validator(mode="after")
    def _unique(self) -> Self:
        _check_unique(self.assets)
        return self


def _check_unique(assets: list[AssetConfig]) -> None:
    seen: set[str] = set()
    for a in assets:
        if a.id in seen:
            raise ValueError(f"asset id {a.id!r} appears twice")
        seen.add(a.id)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def load_fleet_file(path: Path) -> FleetFile:
    """Read and validate a fleet file; raise FleetError with the file, key and reason."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FleetError(f"cannot read fleet file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise FleetError(f"fleet file {path} is not valid TOML: {exc}") from None
    try:
        return FleetFile(**data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise FleetError(f"fleet file {path} is invalid: {problems}") from None


def example_fleet_path() -> Path:
    """The example fleet shipped with the package (bases at real riverside towns; example data)."""
    import dwatch_data

    return Path(dwatch_data.__file__).parent / "fleet-example.toml"


@dataclass(frozen=True)
class Position:
    lon: float
    lat: float
    time: datetime
    source: str  # "crew", "ais", "mavlink", "base"


@dataclass(frozen=True)
class AssetState:
    config: AssetConfig
    status: AssetStatus
    status_since: datetime
    position: Position
    order_id: str | None = None

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def at_base(self) -> bool:
        return self.position.source == "base"

    def to_dict(self) -> dict[str, Any]:
        c = self.config
        return {
            "id": c.id,
            "agency": c.agency.value,
            "kind": c.kind.value,
            "call_sign": c.call_sign,
            "base": c.base.model_dump(),
            "speed_mps": c.speed_mps,
            "capabilities": sorted(x.value for x in c.capabilities),
            "crew": c.crew,
            "readiness_min": c.readiness_min,
            "status": self.status.value,
            "status_since": self.status_since.isoformat(),
            "position": {
                "lon": self.position.lon,
                "lat": self.position.lat,
                "time": self.position.time.isoformat(),
                "source": self.position.source,
            },
            "at_base": self.at_base,
            "order_id": self.order_id,
        }


class Fleet:
    """Every asset's configuration and live state. Thread-safe; states are replaced, never mutated."""

    def __init__(self, assets: list[AssetConfig], now: datetime) -> None:
        try:
            _check_unique(assets)
        except ValueError as exc:
            raise FleetError(str(exc)) from None
        self._lock = threading.Lock()
        self._states: dict[str, AssetState] = {}
        for a in assets:
            status = AssetStatus.OUT_OF_SERVICE if a.out_of_service else AssetStatus.AVAILABLE
            self._states[a.id] = AssetState(a, status, now, Position(a.base.lon, a.base.lat, now, "base"))

    @classmethod
    def from_settings(cls, settings: FleetSettings, now: datetime) -> Fleet:
        assets = list(settings.assets)
        if settings.file is not None:
            assets = [*load_fleet_file(settings.file).assets, *assets]
        return cls(assets, now)

    def __len__(self) -> int:
        return len(self._states)

    def get(self, asset_id: str) -> AssetState:
        try:
            return self._states[asset_id]
        except KeyError:
            raise UnknownAsset(f"no asset with id {asset_id!r}") from None

    def all(self) -> list[AssetState]:
        return list(self._states.values())

    def authenticate(self, token: str) -> AssetState | None:
        """The asset whose crew holds this token, or None."""
        digest = hash_token(token)
        for s in self._states.values():
            if s.config.token_sha256 and hmac.compare_digest(s.config.token_sha256, digest):
                return s
        return None

    def set_status(self, asset_id: str, status: AssetStatus, time: datetime, order_id: str | None = None) -> AssetState:
        with self._lock:
            new = self.preview_status(asset_id, status, time, order_id)
            self._states[asset_id] = new
            return new

    def preview_status(
        self, asset_id: str, status: AssetStatus, time: datetime, order_id: str | None = None
    ) -> AssetState:
        """The state ``set_status`` would make, without making it (to store it first)."""
        s = self.get(asset_id)
        keep_order = order_id if order_id is not None else (None if status == AssetStatus.AVAILABLE else s.order_id)
        new = replace(s, status=status, status_since=time, order_id=keep_order)
        if status == AssetStatus.AVAILABLE and s.position.source != "base" and _returned(s):
            new = replace(new, position=Position(s.config.base.lon, s.config.base.lat, time, "base"))
        return new

    def restore(
        self, asset_id: str, status: AssetStatus, status_since: datetime, position: Position, order_id: str | None
    ) -> AssetState:
        """Put back a state kept before a restart; the configuration is today's (an asset now
        configured out of service stays so)."""
        with self._lock:
            s = self.get(asset_id)
            if s.config.out_of_service:
                status, order_id = AssetStatus.OUT_OF_SERVICE, None
            new = replace(s, status=status, status_since=status_since, position=position, order_id=order_id)
            self._states[asset_id] = new
            return new

    def set_position(self, asset_id: str, lon: float, lat: float, time: datetime, source: str) -> AssetState:
        """A position report; older reports than the one held are ignored."""
        with self._lock:
            s = self.get(asset_id)
            if s.position.source != "base" and time < s.position.time:
                return s
            new = replace(s, position=Position(lon, lat, time, source))
            self._states[asset_id] = new
            return new

    def return_to_base(self, asset_id: str, time: datetime) -> AssetState:
        """The asset is back at its base (ready again after its readiness time)."""
        with self._lock:
            s = self.get(asset_id)
            new = replace(
                s,
                status=AssetStatus.AVAILABLE,
                status_since=time,
                order_id=None,
                position=Position(s.config.base.lon, s.config.base.lat, time, "base"),
            )
            self._states[asset_id] = new
            return new


class PositionFeed:
    """Keeps the fleet's positions from the sensors: a boat's own AIS (``mmsi``) and a drone's
    MAVLink telemetry (``telemetry`` = sensor id : system id). Subscribe ``on_message`` to the bus."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self._by_mmsi = {s.config.mmsi: s.id for s in fleet.all() if s.config.mmsi is not None}
        self._by_link = {s.config.telemetry: s.id for s in fleet.all() if s.config.telemetry is not None}

    def on_message(self, _subject: str, msg: object) -> None:
        if isinstance(msg, Observation) and msg.sensor_kind is SensorKind.AIS and msg.position is not None:
            asset = self._by_mmsi.get(int(msg.target_id)) if msg.target_id and msg.target_id.isdigit() else None
            if asset is not None:
                self.fleet.set_position(asset, msg.position.lon, msg.position.lat, msg.time, "ais")
        elif isinstance(msg, VehicleState) and msg.position is not None:
            asset = self._by_link.get(f"{msg.sensor_id}:{msg.system_id}")
            if asset is not None:
                self.fleet.set_position(asset, msg.position.lon, msg.position.lat, msg.time, "mavlink")


def _returned(s: AssetState) -> bool:
    """A crew reporting 'available' after 'returning' is back at base."""
    return s.status == AssetStatus.RETURNING
