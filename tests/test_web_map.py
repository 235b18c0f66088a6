"""The command-centre map page in a real headless Chromium (Playwright) against a real ``dwatch demo``."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.conftest import Server, token_init_script

OTACI_WATER = (27.8, 48.437)  # north section, river km ~28.35, on the water
MD_INLAND = (27.8, 48.42)  # ~1.3 km into Moldova from the border axis
OTACI_DOWNSTREAM = (27.81565, 48.42668)  # north axis, river km ~30.0, clear of the Otaci bridge BCP marker
SOROCA_WATER = (28.32075, 48.16728)  # north axis above Soroca, river km ~105.2, clear of the ferry BCP
SOUTH_WATER = (30.00822, 46.45352)  # south section axis point, river km ~37.56


def api(server: Server, path: str, **query: float) -> tuple[int, dict[str, Any]]:
    url = f"{server.url}{path}?{urllib.parse.urlencode(query)}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=server.headers), timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@dataclass
class MapPage:
    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def loaded(browser: Browser, demo_server: Server) -> Iterator[MapPage]:
    """The page, loaded until connected with both sections listed; console errors and requests recorded."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    mp = MapPage(page)
    page.on("console", lambda m: mp.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: mp.errors.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: mp.errors.append(f"failed: {r.url} {r.failure}"))
    page.on("request", lambda r: mp.requests.append(r.url))
    page.on("response", lambda r: mp.errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    page.add_init_script(token_init_script(demo_server.token))  # as the page's login form leaves it
    page.goto(demo_server.url + "/")
    page.wait_for_function("document.getElementById('status').textContent.includes('connected')", timeout=10_000)
    page.wait_for_function("document.querySelectorAll('#sections li').length === 2", timeout=10_000)
    # record the exact lat/lon Leaflet computed for each map click
    page.evaluate(
        "() => { window.__clicks = []; map.on('click', e => window.__clicks.push([e.latlng.lng, e.latlng.lat])); }"
    )
    yield mp
    page.close()


def click(page: Page, lon: float, lat: float, zoom: float | None = None) -> tuple[float, float]:
    """Click the map where (lon, lat) is drawn (after centring on it at ``zoom``); return the clicked lon/lat."""
    if zoom is not None:
        page.evaluate("([lon, lat, z]) => { map.setView([lat, lon], z, {animate: false}); }", [lon, lat, zoom])
    x, y = page.evaluate(
        """([lon, lat]) => { const p = map.latLngToContainerPoint(L.latLng(lat, lon));
        return [p.x, p.y]; }""",
        [lon, lat],
    )
    box = page.locator("#map").bounding_box()
    assert box is not None and 0 < x < box["width"] and 0 < y < box["height"], (x, y, box)
    n = page.evaluate("window.__clicks.length")
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_function(f"window.__clicks.length > {n}", timeout=5_000)
    lonlat = page.evaluate("window.__clicks[window.__clicks.length - 1]")
    return float(lonlat[0]), float(lonlat[1])


def rows(page: Page, selector: str) -> dict[str, str]:
    return dict(
        page.evaluate(f"""[...document.querySelectorAll('{selector} dt')]
        .map(dt => [dt.textContent, dt.nextElementSibling.textContent])""")
    )


def locate_click(page: Page, lon: float, lat: float) -> tuple[tuple[float, float], dict[str, str]]:
    page.evaluate("document.getElementById('locate').innerHTML = ''")
    clicked = click(page, lon, lat, zoom=14)
    page.wait_for_function("document.querySelectorAll('#locate dd').length === 8")
    return clicked, rows(page, "#locate")


def test_page_loads_locally_without_errors(loaded: MapPage, demo_server: Server) -> None:
    page = loaded.page
    assert page.text_content("#status") == "connected · 2 sections"
    sections = page.locator("#sections li").all_text_contents()
    assert len(sections) == 2
    assert any(s.startswith("north: 143.9 km") for s in sections), sections
    assert any(s.startswith("south: 63.83 km") for s in sections), sections
    assert loaded.errors == []
    assert all(u.startswith(demo_server.url + "/") for u in loaded.requests), loaded.requests
    assert {
        demo_server.url + p
        for p in ("/", "/static/app.js", "/static/vendor/leaflet/leaflet.js", "/api/geo/layers", "/api/health")
    } <= set(loaded.requests)


def test_leaflet_drew_the_layers(loaded: MapPage, demo_server: Server) -> None:
    drawn: dict[str, Any] = loaded.page.evaluate("""() => {
        const out = {n: 0, points: {}, iso2: [], borders: 0, water: 0, circles: 0};
        map.eachLayer(l => {
            out.n += 1;
            if (l instanceof L.CircleMarker && l.feature) out.circles += 1;
            const f = l.feature;
            if (!f || !(l instanceof L.Path)) return;
            const p = f.properties;
            if (f.geometry.type === 'Point') out.points[p.kind] = (out.points[p.kind] || 0) + 1;
            else if (p.iso2) out.iso2.push(p.iso2);
            else if ('follows_river' in p) out.borders += 1;
            else if (f.geometry.type === 'Polygon' && !('probability' in p)) out.water += 1;  // not SAR drift cells
        });
        return out;
    }""")
    assert drawn["points"] == {"town": 58, "bcp": 8, "dam": 3}
    assert drawn["circles"] == 69
    assert sorted(drawn["iso2"]) == ["MD", "UA"]
    assert drawn["borders"] == 5 and drawn["water"] == 2
    assert drawn["n"] > 60
    _, layers = api(demo_server, "/api/geo/layers")
    assert len(layers["places"]["features"]) == 69 and len(layers["border"]["features"]) == 5


def test_click_locates_on_water_and_inland(loaded: MapPage, demo_server: Server) -> None:
    page = loaded.page
    clicked, shown = locate_click(page, *OTACI_WATER)
    _, expected = api(demo_server, "/api/geo/locate", lon=OTACI_WATER[0], lat=OTACI_WATER[1])
    _, at_click = api(demo_server, "/api/geo/locate", lon=clicked[0], lat=clicked[1])
    assert shown["Position"] == f"{clicked[1]:.5f}, {clicked[0]:.5f}"
    assert shown["Section"] == "north" and shown["On water"] == "yes" and shown["Side"] == "MD"
    assert abs(float(shown["River km"]) - expected["river_km"]) <= 0.3
    assert abs(float(shown["River km"]) - at_click["river_km"]) <= 0.006

    clicked, shown = locate_click(page, *MD_INLAND)
    _, at_click = api(demo_server, "/api/geo/locate", lon=clicked[0], lat=clicked[1])
    assert shown["On water"] == "no" and shown["Side"] == "MD" and shown["Section"] == "north"
    assert shown["Offset"] == f"{at_click['offset_m'] / 1000:.2f} km right bank"
    assert 1.0 < at_click["border_distance_m"] / 1000 < 1.6
    assert loaded.errors == []


def test_route_by_water_matches_api(loaded: MapPage, demo_server: Server) -> None:
    page = loaded.page
    (lon1, lat1), (lon2, lat2) = OTACI_DOWNSTREAM, SOROCA_WATER
    page.evaluate("(b) => { map.fitBounds(b, {padding: [40, 40], animate: false}); }", [[lat1, lon1], [lat2, lon2]])
    page.click("#route-btn")
    start = click(page, lon1, lat1)
    page.wait_for_function("document.getElementById('route').textContent.includes('Start set')")
    end = click(page, lon2, lat2)
    page.wait_for_function("document.querySelector('#route dl, #route .error') !== null", timeout=15_000)
    shown = rows(page, "#route")
    status, r = api(
        demo_server, "/api/routes/eta", from_lon=start[0], from_lat=start[1], to_lon=end[0], to_lat=end[1], speed_kn=20
    )
    assert status == 200, r
    km = re.fullmatch(r"(\d+\.\d\d) km", shown["Distance"])
    assert km, shown
    assert float(km.group(1)) * 1000 == pytest.approx(r["distance_m"], rel=0.01)
    assert 70 < float(km.group(1)) < 90
    eta = re.fullmatch(r"(?:(\d+) h )?(\d+) min.*", shown["ETA"])
    assert eta, shown
    assert abs(int(eta.group(1) or 0) * 3600 + int(eta.group(2)) * 60 - r["eta_s"]) < 60
    assert shown["Speed"] == "20 kn"
    assert (shown["From km"], shown["To km"]) == (f"{r['from']['river_km']:.2f}", f"{r['to']['river_km']:.2f}")
    drawn = page.evaluate(
        "() => { let n = 0; map.eachLayer(l => { if (l instanceof L.Polyline &&"
        " l.options.color === '#ff6f00') n += l.getLatLngs().length; }); return n; }"
    )
    assert drawn == len(r["path"]["coordinates"])
    assert not page.locator("#route-btn.active").count()
    assert loaded.errors == []


def test_no_route_between_sections_is_shown_plainly(loaded: MapPage, demo_server: Server) -> None:
    page = loaded.page
    page.click("#route-btn")
    start = click(page, *OTACI_DOWNSTREAM, zoom=13)
    page.wait_for_function("document.getElementById('route').textContent.includes('Start set')")
    end = click(page, *SOUTH_WATER, zoom=13)
    page.wait_for_selector("#route .error", timeout=15_000)
    status, r = api(
        demo_server, "/api/routes/eta", from_lon=start[0], from_lat=start[1], to_lon=end[0], to_lat=end[1], speed_kn=20
    )
    assert status == 409
    text = page.text_content("#route .error") or ""
    assert text == r["detail"]
    assert text.startswith("no route by water from the north section to the south section")


def test_clicking_a_place_marker_locates_it_and_can_end_a_route(loaded: MapPage, demo_server: Server) -> None:
    """A border-crossing marker sits on the water at Otaci: clicking it must not swallow the click."""
    page = loaded.page
    bcp = "Otaci - Mohyliv-Podilskyi (road bridge)"
    _, layers = api(demo_server, "/api/geo/layers")
    lon, lat = next(
        f["geometry"]["coordinates"] for f in layers["places"]["features"] if f["properties"]["name"] == bcp
    )

    def click_marker() -> None:
        page.evaluate("([lon, lat]) => { map.setView([lat, lon], 13, {animate: false}); }", [lon, lat])
        box = page.locator("#map").bounding_box()
        assert box is not None
        x, y = page.evaluate(
            "([lon, lat]) => { const p = map.latLngToContainerPoint(L.latLng(lat, lon)); return [p.x, p.y]; }",
            [lon, lat],
        )
        page.mouse.click(box["x"] + x, box["y"] + y)

    click_marker()
    page.wait_for_function("document.querySelector('#locate dd') !== null", timeout=5_000)
    shown = rows(page, "#locate")
    assert shown["Place"].startswith(bcp)
    assert shown["Section"] == "north" and shown["On water"] == "yes"
    _, want = api(demo_server, "/api/geo/locate", lon=lon, lat=lat)
    assert float(shown["River km"]) == pytest.approx(want["river_km"], abs=0.01)

    page.click("#route-btn")
    click(page, *OTACI_DOWNSTREAM, zoom=13)
    click_marker()
    page.wait_for_function("document.querySelector('#route dl, #route .error') !== null", timeout=10_000)
    route = rows(page, "#route")
    assert float(route["To km"]) == pytest.approx(want["river_km"], abs=0.01)
    assert loaded.errors == []


def test_sensor_panel_shows_every_demo_sensor(loaded: MapPage, demo_server: Server) -> None:
    page = loaded.page
    page.wait_for_function("document.querySelectorAll('#sensors tbody tr').length === 8", timeout=10_000)
    _, sensors = api(demo_server, "/api/sensors")
    names = page.locator("#sensors tbody tr td:first-child").all_text_contents()
    assert sorted(names) == sorted(s["sensor_id"] for s in sensors)
    with_site = page.evaluate("() => sensorLayer.getLayers().length")
    assert with_site == sum(1 for s in sensors if s["site"])
    assert loaded.errors == []
