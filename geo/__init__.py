"""The river model: geodata, the metric CRS, locating points on the river border, route graph.

Knows nothing of sensors or incidents.
"""

from geo.config import Dam, GeoSettings, RoadTransfer, RoutingSettings
from geo.errors import GeoError, GraphError, InvalidCoordinate, NoRoute, NotOnRiver, OutOfArea
from geo.river import Crossing, Location, Locations, RiverModel, Section

__all__ = [
    "Crossing",
    "Dam",
    "GeoError",
    "GeoSettings",
    "GraphError",
    "InvalidCoordinate",
    "Location",
    "Locations",
    "NoRoute",
    "NotOnRiver",
    "OutOfArea",
    "RiverModel",
    "RoadTransfer",
    "RoutingSettings",
    "Section",
]
