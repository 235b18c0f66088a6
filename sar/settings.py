"""The one settings object: validated once from a TOML file and DWATCH_* environment variables.

Environment variables override the file (nested keys with ``__``, for example
``DWATCH_GEO__WATER_HALF_WIDTH_M=120``). Unknown keys are errors.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from geo.config import GeoSettings, RoutingSettings
from sar.auth.config import AuthSettings
from sar.dispatch.config import DispatchSettings
from sar.incidents.config import IncidentSettings
from sar.pipeline import PipelineSettings
from sar.sarplan.config import DriftSettings
from sar.store.config import StorageSettings
from sar.tracking.config import TrackerSettings
from sensors.registry import SensorConfig


class SettingsError(Exception):
    """The configuration file or environment is invalid; the message says which key and why."""


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)


class UISettings(BaseModel):
    """What the browser map needs; a tile URL only for networks that run their own tile server."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tile_url: str | None = Field(default=None, description="e.g. http://tiles.local/{z}/{x}/{y}.png")
    tile_attribution: str = ""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DWATCH_", env_nested_delimiter="__", extra="forbid", frozen=True)

    geo: GeoSettings = Field(default_factory=GeoSettings)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    ui: UISettings = Field(default_factory=UISettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    sensors: list[SensorConfig] = Field(default_factory=list)
    tracker: TrackerSettings = Field(default_factory=TrackerSettings)
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)
    dispatch: DispatchSettings = Field(default_factory=DispatchSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    sarplan: DriftSettings = Field(
        default_factory=DriftSettings, description="river drift; the current per section comes from routing"
    )
    storage: StorageSettings = Field(default_factory=StorageSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)


def load_settings(path: Path | None = None) -> Settings:
    """Read the TOML file (if any), apply the environment, validate; raise SettingsError."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SettingsError(f"cannot read config {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config {path} is not valid TOML: {exc}") from None
    try:
        return Settings(**data)
    except ValidationError as exc:
        where = f"config {path}" if path else "settings"
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise SettingsError(f"{where} is invalid: {problems}") from None
