"""Configuration shared by all sensor kinds: identity, agency, site and transport.

Each decoder module defines its own config class deriving from :class:`SensorConfigBase` with a
``type: Literal[...]`` tag; :mod:`sensors.registry` joins them into one discriminated union.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Site(_Strict):
    """Where a sensor stands (WGS84) and how high above the water its antenna or lens is."""

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    height_m: float = Field(default=10.0, ge=0, le=2000)


class UdpTransport(_Strict):
    kind: Literal["udp"] = "udp"
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)


class TcpServerTransport(_Strict):
    """We listen; the sensor connects to us."""

    kind: Literal["tcp_server"] = "tcp_server"
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)


class TcpClientTransport(_Strict):
    """We connect to the sensor (and reconnect with back-off when it drops)."""

    kind: Literal["tcp_client"] = "tcp_client"
    host: str
    port: int = Field(ge=1, le=65535)
    reconnect_max_s: float = Field(default=30.0, gt=0)


class MqttTransport(_Strict):
    kind: Literal["mqtt"] = "mqtt"
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    topic: str


class HttpTransport(_Strict):
    """The sensor POSTs its messages to ``/api/sensors/{id}/ingest``."""

    kind: Literal["http"] = "http"


TransportConfig = Annotated[
    UdpTransport | TcpServerTransport | TcpClientTransport | MqttTransport | HttpTransport,
    Field(discriminator="kind"),
]


class SensorConfigBase(_Strict):
    """Fields every sensor has. Subclasses add ``type: Literal[...]`` and their own fields."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    agency: Literal["MD", "UA"]
    site: Site | None = None
    transport: TransportConfig = Field(default_factory=HttpTransport)
    expected_period_s: float = Field(default=10.0, gt=0, description="normal time between messages")
    stale_after_periods: float = Field(default=3.0, gt=0)
    token_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 (hex) of the token the sensor sends as Authorization: Bearer when it POSTs to ingest",
    )
