"""The explicit registry of sensor kinds: one line per module (config class -> decoder class).

Adding a sensor kind = one module with a ``<X>Config`` (a ``type`` Literal tag) and a decoder,
plus one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field

from sensors.adapter import Decoder
from sensors.ais import AisConfig, AisDecoder
from sensors.asterix import AsterixConfig, AsterixDecoder
from sensors.camera import CameraConfig, CameraDecoder
from sensors.config import SensorConfigBase
from sensors.drone import DroneConfig, DroneDecoder
from sensors.radar_nmea import RadarNmeaConfig, RadarNmeaDecoder

REGISTRY: dict[type[SensorConfigBase], Callable[[Any], Decoder]] = {
    AisConfig: AisDecoder,
    RadarNmeaConfig: RadarNmeaDecoder,
    AsterixConfig: AsterixDecoder,
    CameraConfig: CameraDecoder,
    DroneConfig: DroneDecoder,
}

SensorConfig = Annotated[
    AisConfig | RadarNmeaConfig | AsterixConfig | CameraConfig | DroneConfig,
    Field(discriminator="type"),
]


def make_decoder(cfg: SensorConfigBase) -> Decoder:
    """A fresh decoder for a sensor's configuration."""
    try:
        factory = REGISTRY[type(cfg)]
    except KeyError:
        raise TypeError(f"no decoder registered for {type(cfg).__name__}") from None
    return factory(cfg)


def config_class(type_tag: str) -> type[SensorConfigBase]:
    """The config class whose ``type`` tag is ``type_tag``."""
    for cls in REGISTRY:
        if cls.model_fields["type"].default == type_tag:
            return cls
    raise KeyError(f"unknown sensor type {type_tag!r}")
