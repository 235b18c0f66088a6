"""Sensor messages as JSON-ready dicts (for recordings, the API and the bus)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import Any

from sensors.model import SensorMessage


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums, datetimes, bytes, sets and containers as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        try:
            text = value.decode("ascii")
        except UnicodeDecodeError:
            return {"hex": value.hex()}
        return text if text.isprintable() else {"hex": value.hex()}
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(to_jsonable(v) for v in value)
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def message_to_dict(msg: SensorMessage) -> dict[str, Any]:
    """The message's fields (nested values as dicts) plus ``message`` = its type name."""
    return {"message": type(msg).__name__, **to_jsonable(msg)}
