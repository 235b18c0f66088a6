"""Exceptions raised by the river model; each carries a one-line, operator-readable message."""


class GeoError(Exception):
    """Base class of every error raised by ``geo``."""


class InvalidCoordinate(GeoError):
    """A longitude/latitude that is not a finite WGS84 coordinate."""


class OutOfArea(GeoError):
    """A valid coordinate outside the area the river model covers."""


class NotOnRiver(GeoError):
    """A point too far from the river-border water to be snapped to the route graph."""


class NoRoute(GeoError):
    """No route by water between two points (a dam, separate sections, or too slow upstream)."""


class GraphError(GeoError):
    """The route graph failed validation when it was built."""
