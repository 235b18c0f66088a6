"""The live picture of the command-centre map in a real headless Chromium against a real ``dwatch demo``:
tracks and incidents arrive over ``/ws/live``, operator actions show up live, and a dropped connection
resumes by seq without losing anything. One demo (``--speed 10 --seed 1``) and one page serve the module,
in file order; the last test checks the console and the requests of the whole run."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, WebSocket

from tests.conftest import Server, start_server, stop_server, token_init_script

SPEED = 10  # scenario seconds per wall second
SOROCA_REPORT = {"type": "manual", "lon": 28.3057, "lat": 48.1566, "reporter": "test", "text": "suspicious boat"}
AIS_NAMES = {"FERRY SOROCA", "NISTRU TUR"}
IMPACT_RANK = {"high": 0, "medium": 1, "low": 2}
# Records every socket the page opens and every message the page itself receives (not just what
# reached the browser): [socket index, type, seq]. A subclass, so the page's code runs unchanged.
RECORD_SOCKETS = """
window.__sockets = []; window.__seen = [];
window.WebSocket = class extends WebSocket {
  constructor(...args) {
    super(...args);
    const n = window.__sockets.push(this) - 1;
    this.addEventListener("message", ev => { const m = JSON.parse(ev.data); window.__seen.push([n, m.type, m.seq]); });
  }
};
"""
# What the browser may log while the network is down on purpose (and nothing else, ever).
OUTAGE_NOISE = re.compile(
    r"WebSocket connection to 'ws://127\.0\.0\.1:\d+/ws/live\?since=\d+&token=[\w-]+' failed: "
    r".*ERR_INTERNET_DISCONNECTED"
    r"|Failed to load resource: net::ERR_INTERNET_DISCONNECTED"
    r"|socket ws://127\.0\.0\.1:\d+/ws/live\?since=\d+&token=[\w-]+: Error in connection establishment: "
    r".*ERR_INTERNET_DISCONNECTED"
    r"|failed: http://127\.0\.0\.1:\d+/api/(health|sensors) net::ERR_INTERNET_DISCONNECTED"
)
LABEL = re.compile(
    r"(?P<name>.+) · (?P<cls>vessel|person|unknown) · \d+\.\d kn(?: · no AIS)? · km (?P<km>\d+\.\d\d) (MD|UA)"
)


def get(server: Server, path: str) -> Any:
    """As the server's operator."""
    with urllib.request.urlopen(urllib.request.Request(server.url + path, headers=server.headers), timeout=10) as r:
        return json.loads(r.read())


def post(server: Server, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(
        server.url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **server.headers},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def wait_until(what: str, check: Callable[[], bool], timeout_s: float, page: Page) -> None:
    """Poll ``check`` (pumping the page's events) until it holds; fail with ``what`` otherwise."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout_s} s: {what}")
        page.wait_for_timeout(200)


@dataclass
class LivePage:
    """The page plus everything it did: console errors and warnings, requests, websocket URLs.
    ``outage`` marks what happened while the network was down on purpose."""

    page: Page
    outage: bool = False
    errors: list[tuple[bool, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)

    def record(self, page: Page, token: str) -> None:
        page.add_init_script(token_init_script(token))  # as the page's login form leaves it
        page.add_init_script(RECORD_SOCKETS)
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append((self.outage, f"pageerror: {e}")))
        page.on("requestfailed", lambda r: self.errors.append((self.outage, f"failed: {r.url} {r.failure}")))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("response", lambda r: self._error(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        page.on("websocket", self._socket)

    def _console(self, msg: Any) -> None:
        if msg.type == "error":
            self._error(msg.text)
        elif msg.type == "warning":
            self.warnings.append(msg.text)

    def _error(self, text: str) -> None:
        self.errors.append((self.outage, text))

    def _socket(self, ws: WebSocket) -> None:
        self.sockets.append(ws.url)
        ws.on("socketerror", lambda e: self._error(f"socket {ws.url}: {e}"))

    def open_incidents(self) -> list[str]:
        ids: list[str] = self.page.evaluate(
            "[...document.querySelectorAll('#incidents li.incident')].map(li => li.dataset.id)"
        )
        return ids

    def track_ids(self) -> set[str]:
        return set(self.page.evaluate("[...live.tracks.keys()]"))


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    s = start_server(["demo", "--speed", str(SPEED), "--seed", "1"])
    yield s
    stop_server(s)


@pytest.fixture(scope="module")
def live_page(browser: Browser, server: Server) -> Iterator[LivePage]:
    """One page for the whole module, loaded right after the demo starts, until connected with the map drawn."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    lp = LivePage(page)
    lp.record(page, server.token)
    page.goto(server.url + "/")
    page.wait_for_function("document.getElementById('status').textContent.includes('connected')", timeout=10_000)
    page.wait_for_function("document.querySelectorAll('#sections li').length === 2", timeout=10_000)
    yield lp
    page.close()


def live_socket(server: Server, url: str) -> dict[str, list[str]]:
    """The query of a /ws/live URL of this server after checking it carries the operator's token
    (a URL of anything else fails)."""
    parts = urllib.parse.urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("ws", server.url.removeprefix("http://"), "/ws/live"), url
    query = urllib.parse.parse_qs(parts.query)
    assert query.pop("token") == [server.token], url
    return query


def server_now(server: Server) -> datetime:
    return datetime.fromisoformat(get(server, "/api/health")["time"])


def hover_track(page: Page, name: str) -> str:
    """Centre the map on the track called ``name``, put the mouse on it and return the tooltip Leaflet shows."""
    box = page.locator("#map").bounding_box()
    assert box is not None
    shown: list[str] = []
    for _ in range(3):  # the track may move between reading its position and the mouse arriving
        page.mouse.move(box["x"] + 5, box["y"] + 5)
        page.wait_for_timeout(100)  # Leaflet's canvas ignores a mouse move within 32 ms of the previous one
        x, y = page.evaluate(
            """(name) => { const t = [...live.tracks.values()].find(t => t.feature.properties.name === name);
            map.setView(t.marker.getLatLng(), 15, {animate: false});
            const p = map.latLngToContainerPoint(t.marker.getLatLng()); return [p.x, p.y]; }""",
            name,
        )
        page.mouse.move(box["x"] + x, box["y"] + y)
        page.wait_for_timeout(150)
        shown = page.locator(".leaflet-tooltip:not(.place-label)").all_text_contents()
        if any(s.startswith(name + " · ") for s in shown):
            return next(s for s in shown if s.startswith(name + " · "))
    pytest.fail(f"hovering {name} showed {shown}, not its track label")


def test_tracks_arrive_live_and_match_the_api(live_page: LivePage, server: Server) -> None:
    page = live_page.page
    assert page.evaluate("live.seq") is not None and page.evaluate("live.connected") is True
    page.wait_for_function("live.tracks.size >= 5", timeout=40_000)

    api_ids: set[str] = set()

    def same() -> bool:
        nonlocal api_ids
        api_ids = {f["id"] for f in get(server, "/api/tracks")["features"]}
        return api_ids == live_page.track_ids()

    wait_until("the page shows exactly the API's tracks", same, 10, page)
    assert len(api_ids) >= 5
    api = {f["id"]: f["properties"] for f in get(server, "/api/tracks")["features"]}
    shown: dict[str, dict[str, Any]] = page.evaluate(
        """() => Object.fromEntries([...live.tracks].map(([id, t]) => [id, {
            name: t.feature.properties.name, cls: t.feature.properties.class,
            label: t.marker.getTooltip().getContent(), on_map: map.hasLayer(t.marker) && map.hasLayer(t.tail),
            tail_ok: t.tail.getLatLngs().length === t.feature.properties.tail.length + 1}]))"""
    )
    names = set()
    for tid in set(api) & set(shown):
        assert (shown[tid]["name"], shown[tid]["cls"]) == (api[tid]["name"], api[tid]["class"]), tid
        assert shown[tid]["on_map"] and shown[tid]["tail_ok"], shown[tid]
        label = LABEL.fullmatch(shown[tid]["label"])
        assert label, shown[tid]["label"]
        names.add(label.group("name"))
    assert AIS_NAMES <= names, names
    assert hover_track(page, "FERRY SOROCA").startswith("FERRY SOROCA · vessel · ")


def test_person_in_water_is_listed_high_first_with_a_running_timer(live_page: LivePage, server: Server) -> None:
    page = live_page.page
    # An old medium-impact report: sorted by age alone it would come first; by impact it must not.
    old = (server_now(server) - timedelta(hours=1)).isoformat()
    status, early = post(server, "/api/incidents", {**SOROCA_REPORT, "time": old, "text": "old sighting"})
    assert status == 201 and early["impact"] == "medium", early
    page.wait_for_function(
        """() => [...document.querySelectorAll('#incidents li.incident')].some(li =>
            li.textContent.includes('person in water') && li.querySelector('.phase')?.textContent === 'DISTRESS')""",
        timeout=60_000,
    )
    open_api = get(server, "/api/incidents?status=open")
    piw = [i for i in open_api if i["type"] == "person_in_water" and i["sar_phase"] == "distress"]
    assert len(piw) == 1, open_api
    pid = piw[0]["id"]
    li = page.locator(f"#incidents li.incident[data-id='{pid}']")
    assert li.get_attribute("class") == "incident impact-high"
    assert li.locator(".phase").text_content() == "DISTRESS"
    assert f"km {piw[0]['river_km']:.2f}" in (li.text_content() or "")

    expected: list[str] = []

    def sorted_like_api() -> bool:
        nonlocal expected
        expected = [i["id"] for i in get(server, "/api/incidents?status=open")]
        return live_page.open_incidents() == expected

    wait_until("the page lists the open incidents in the API's order", sorted_like_api, 5, page)
    assert expected.index(pid) < expected.index(early["id"])
    classes = page.locator("#incidents li.incident").evaluate_all("els => els.map(e => e.className)")
    ranks = [IMPACT_RANK[c.removeprefix("incident impact-")] for c in classes]
    assert ranks == sorted(ranks) and ranks[0] == 0, classes

    first = li.locator(".timer").text_content() or ""
    page.wait_for_timeout(2000)
    second = li.locator(".timer").text_content() or ""
    age_s = (server_now(server) - datetime.fromisoformat(piw[0]["opened_at"])).total_seconds()
    assert second != first and seconds(second) > seconds(first), (first, second)
    # the timer counts the server's (scenario) time, refreshed once a wall second
    assert -2 <= age_s - seconds(second) <= SPEED * 1.5 + 5, (second, age_s)


def seconds(timer: str) -> int:
    """``m:ss`` or ``h:mm:ss`` to seconds."""
    parts = [int(p) for p in timer.split(":")]
    assert re.fullmatch(r"\d+(:\d\d){1,2}", timer), timer
    return sum(p * 60**i for i, p in enumerate(reversed(parts)))


def test_a_report_and_its_closing_reach_the_page_live(live_page: LivePage, server: Server) -> None:
    page = live_page.page
    status, made = post(server, "/api/incidents", SOROCA_REPORT)
    assert status == 201, made
    li = page.locator(f"#incidents li.incident[data-id='{made['id']}']")
    li.wait_for(timeout=3_000)
    assert li.get_attribute("class") == "incident impact-medium"
    text = li.text_content() or ""
    assert text.startswith(f"{made['id']} manual ") and "suspicious boat" in text, text
    listed = live_page.open_incidents()
    high = [i["id"] for i in get(server, "/api/incidents?status=open") if i["impact"] == "high"]
    assert listed.index(made["id"]) >= len(high) and set(listed[: len(high)]) == set(high), listed

    status, closed = post(server, f"/api/incidents/{made['id']}/close", {"by": "test"})
    assert status == 200 and closed["status"] == "closed", closed
    li.wait_for(state="detached", timeout=3_000)
    assert page.evaluate("(id) => live.incidents.get(id).status", made["id"]) == "closed"
    assert made["id"] not in live_page.open_incidents()
    assert get(server, f"/api/incidents/{made['id']}")["status"] == "closed"


def test_disconnect_is_shown_and_resume_loses_nothing(live_page: LivePage, server: Server) -> None:
    page, context = live_page.page, live_page.page.context
    status_text = "document.getElementById('status').textContent"
    before = len(live_page.sockets)
    live_page.outage = True
    # The connection drops and the network stays down: close the page's socket, then go offline
    # before its first reconnect (500 ms later).
    seq_down: int = page.evaluate("""async () => { const ws = window.__sockets[window.__sockets.length - 1];
        await new Promise(done => { ws.addEventListener('close', done); ws.close(); }); return live.seq; }""")
    context.set_offline(True)
    try:
        assert page.evaluate("live.connected") is False
        assert page.evaluate(status_text).startswith("DISCONNECTED")
        assert page.get_attribute("#status", "class") == "status down"
        status, made = post(server, "/api/incidents", {**SOROCA_REPORT, "text": "seen while the map was down"})
        assert status == 201, made
        page.wait_for_timeout(1500)
        assert page.evaluate("live.connected") is False and page.evaluate("live.seq") == seq_down
        assert made["id"] not in live_page.open_incidents()
        assert page.evaluate(status_text).startswith("DISCONNECTED")
    finally:
        context.set_offline(False)
    page.wait_for_function(f"live.connected && {status_text}.startsWith('connected')", timeout=10_000)
    page.locator(f"#incidents li.incident[data-id='{made['id']}']").wait_for(timeout=3_000)
    page.wait_for_timeout(500)
    live_page.outage = False

    retried = live_page.sockets[before:]
    assert retried and all(live_socket(server, u) == {"since": [str(seq_down)]} for u in retried), retried
    seen: list[list[Any]] = page.evaluate("window.__seen")
    resumed = [m for m in seen if m[0] == len(page.evaluate("window.__sockets")) - 1]
    assert resumed[0][1] != "resync" and resumed[0][2] == seq_down + 1, resumed[:3]
    # every message the page applied, across both connections: one resync, then seq + 1 each time
    assert seen[0][1] == "resync" and all(m[1] != "resync" for m in seen[1:]), [m for m in seen if m[1] == "resync"]
    gaps = [(a, b) for a, b in zip(seen, seen[1:]) if b[2] != a[2] + 1]
    assert gaps == [], gaps[:5]
    assert page.evaluate("live.seq") >= seen[-1][2] > seq_down
    assert not [w for w in live_page.warnings if "gap in seq" in w]

    def same_open() -> bool:
        return set(live_page.open_incidents()) == {i["id"] for i in get(server, "/api/incidents?status=open")}

    wait_until("after resuming, the page lists exactly the open incidents", same_open, 3, page)
    assert made["id"] in live_page.open_incidents()


def test_tracks_are_on_top_and_their_label_is_current(browser: Browser, live_page: LivePage, server: Server) -> None:
    """A page opened while tracks exist gets them in the resync, possibly before the map layers: the tracks
    must still be drawn above the country and water polygons (hover shows the track, not the country). A
    track clicked after it moved is named with where it is now."""
    late = browser.new_page(viewport={"width": 1280, "height": 800})
    live_page.record(late, server.token)

    # a slow network: the map layers (330 kB) arrive a second after the resync
    def slow(route: Route) -> None:
        time.sleep(1.0)
        route.continue_()

    late.route(server.url + "/api/geo/layers", slow)
    try:
        late.goto(server.url + "/")
        late.wait_for_function("live.tracks.size >= 5 && document.querySelectorAll('#sections li').length === 2")
        assert late.evaluate("window.__seen[0][1]") == "resync"
        assert hover_track(late, "FERRY SOROCA").startswith("FERRY SOROCA · vessel · ")
    finally:
        late.close()

    page = live_page.page
    box = page.locator("#map").bounding_box()
    assert box is not None
    name = page.evaluate(
        """() => [...live.tracks.values()].map(t => t.feature.properties)
            .filter(p => p.name && p.speed_mps > 1).sort((a, b) => a.speed_mps - b.speed_mps)[0].name"""
    )
    hover_track(page, name)
    page.evaluate("document.getElementById('locate').innerHTML = ''")
    x, y = page.evaluate(
        """(name) => { const t = [...live.tracks.values()].find(t => t.feature.properties.name === name);
        const p = map.latLngToContainerPoint(t.marker.getLatLng()); return [p.x, p.y]; }""",
        name,
    )
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_function("document.querySelectorAll('#locate dd').length === 8", timeout=5_000)
    rows = dict(
        page.evaluate(
            "[...document.querySelectorAll('#locate dt')].map(t => [t.textContent, t.nextSibling.textContent])"
        )
    )
    place = LABEL.fullmatch(rows["Place"])
    assert place and place.group("name") == name, rows
    assert abs(float(place.group("km")) - float(rows["River km"])) < 0.05, rows


def test_no_console_errors_and_no_foreign_requests(live_page: LivePage, server: Server) -> None:
    assert live_page.requests and live_page.sockets
    assert [e for outage, e in live_page.errors if not outage] == []
    assert [e for outage, e in live_page.errors if outage and not OUTAGE_NOISE.fullmatch(e)] == []
    assert [u for u in live_page.requests if not u.startswith(server.url + "/")] == []
    for url in live_page.sockets:  # the operator's token, and at most a seq to resume from
        query = live_socket(server, url)
        assert set(query) <= {"since"} and all(v.isdigit() for v in query.get("since", [])), url
    assert [w for w in live_page.warnings if "gap in seq" in w] == []
    seen: list[list[Any]] = live_page.page.evaluate("window.__seen")
    assert [m[1] for m in seen].count("resync") == 1
    assert [(a, b) for a, b in zip(seen, seen[1:]) if b[2] != a[2] + 1] == []
