"""The HTTP API in process (FastAPI TestClient): answers, GeoJSON, and 4xx on bad input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from geo.river import RiverModel
from geo.routing import RouteGraph
from sar.api.app import create_app
from sar.settings import Settings
from tests.conftest import api_client


@pytest.fixture(scope="module")
def client(river: RiverModel, graph: RouteGraph) -> Iterator[TestClient]:
    with api_client(create_app(Settings(), river, graph)) as c:
        yield c


def test_health(client: TestClient) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert [(s["name"], round(s["length_km"], 1)) for s in body["sections"]] == [("north", 143.9), ("south", 63.8)]
    assert body["route_graph_nodes"] == 1338


def test_layers_are_geojson(client: TestClient) -> None:
    body = client.get("/api/geo/layers").json()
    counts = {
        k: len(body[k]["features"]) for k in ("river_axis", "water_area", "border", "countries", "places", "centerline")
    }
    assert counts == {"river_axis": 2, "water_area": 2, "border": 5, "countries": 2, "places": 69, "centerline": 1}
    assert body["water_area"]["features"][0]["geometry"]["type"] == "Polygon"
    assert body["water_area"]["features"][0]["properties"]["half_width_m"] == 100.0
    lon, lat = body["river_axis"]["features"][0]["geometry"]["coordinates"][0]
    assert (lon, lat) == pytest.approx((27.52117, 48.46297), abs=1e-5)
    assert "OpenStreetMap" in body["attribution"]
    assert body["tile_url"] is None


def test_locate(client: TestClient) -> None:
    body = client.get("/api/geo/locate", params={"lon": 27.8, "lat": 48.437}).json()
    assert body["section"] == "north" and body["side"] == "MD" and body["on_water"] is True
    assert body["river_km"] == pytest.approx(28.352, abs=0.01)


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("lon=27.8&lat=95", "lat: Input should be less than or equal to 90"),
        ("lon=27.8&lat=nan", "lat: Input should be a finite number"),
        ("lon=abc&lat=48", "lon: Input should be a valid number"),
        ("lon=27.8", "lat: Field required"),
        ("lon=10&lat=48", "outside the covered area"),
    ],
)
def test_locate_bad_input_is_422_with_a_message(client: TestClient, query: str, fragment: str) -> None:
    r = client.get("/api/geo/locate?" + query)
    assert r.status_code == 422
    assert fragment in r.json()["detail"]


def test_route_eta(client: TestClient, river: RiverModel) -> None:
    (alon, alat), (blon, blat) = river.axis_point("north", 30.0), river.axis_point("north", 80.0)
    q = {"from_lon": alon, "from_lat": alat, "to_lon": blon, "to_lat": blat, "speed_kn": 20}
    body = client.get("/api/routes/eta", params=q).json()
    v = 20 * 1852 / 3600
    assert body["distance_m"] == pytest.approx(50_000, abs=1)
    assert body["eta_s"] == pytest.approx(50_000 / (v + 0.8), abs=1)
    assert body["path"]["type"] == "LineString" and len(body["path"]["coordinates"]) > 250
    assert body["path"]["coordinates"][0] == pytest.approx([alon, alat], abs=1e-6)


@pytest.mark.parametrize(
    ("query", "status", "fragment"),
    [
        ("from_lon=28.83&from_lat=47.02&to_lon=27.8&to_lat=48.437", 422, "routes need a point within"),
        ("from_lon=28.5&from_lat=48.12&to_lon=30.0&to_lat=46.44", 409, "separated by dams"),
        ("from_lon=27.8&from_lat=48.437&to_lon=27.9&to_lat=48.4&speed_kn=0", 422, "speed_kn"),
        ("from_lon=27.8&from_lat=48.437&to_lon=27.9", 422, "to_lat: Field required"),
    ],
)
def test_route_bad_input(client: TestClient, query: str, status: int, fragment: str) -> None:
    r = client.get("/api/routes/eta?" + query)
    assert r.status_code == status
    assert fragment in r.json()["detail"]


def test_openapi_lists_the_contract(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/health", "/api/geo/layers", "/api/geo/locate", "/api/routes/eta"} <= set(paths)


def test_page_and_local_leaflet_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "/static/vendor/leaflet/leaflet.js" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from outside
    assert client.get("/static/vendor/leaflet/leaflet.js").status_code == 200
    assert client.get("/static/app.js").status_code == 200


def test_vessels_join_static_reports_published_on_the_bus(client: TestClient) -> None:
    from datetime import UTC, datetime

    from sensors.model import VesselStatic

    t = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    bus = client.app.state.bus  # type: ignore[attr-defined]
    bus.publish("sensors.MD.ais", VesselStatic("ais", t, 255806123, name="NISTRU"))
    bus.publish("sensors.MD.ais", VesselStatic("ais", t, 255806123, callsign="ER2034", length_m=24.0))
    body = client.get("/api/vessels").json()
    assert [(v["mmsi"], v["name"], v["callsign"], v["length_m"]) for v in body] == [
        (255806123, "NISTRU", "ER2034", 24.0)
    ]
