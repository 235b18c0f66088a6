"""The operator page and the crew's phone page together, in headless Chromium against a real
``dwatch demo``: the operator signs in, opens a person-in-water incident and dispatches the top
boat with one click; the crew's phone (a second browser context, 390x844, GPS granted at a fixed
position) rings until the crew accepts, reports "en route", and the operator sees both. The phone
then loses its network: what it sends meanwhile is delivered once on reconnect, and an order it
missed (the first cancelled and a new one sent) arrives when it resumes by since/epoch. Labels
and times follow the language (en/ro/uk, Europe/Chisinau time). One demo and the two pages serve
the module, in file order; screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.conftest import REPO, Server, demo_credentials, http_json, start_server, stop_server

SOROCA_WATER = (28.3047, 48.1580)  # north section, river km ~106.8, on the water
OTACI_WATER = (27.8, 48.437)  # north section, river km ~28.35
CATALOGUES = {
    lang: json.loads((REPO / "sar/web/i18n" / f"{lang}.json").read_text("utf-8")) for lang in ("en", "ro", "uk")
}
ARTIFACTS = REPO / "test-artifacts"
KYIV_TIME = ZoneInfo("Europe/Kyiv")  # the same rules as Europe/Chisinau (EET/EEST), named differently on purpose
# Records every socket the page opens and every message it receives: [socket index, type, seq].
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
# What a browser may log while its network is down on purpose, or before anyone signed in.
OUTAGE_NOISE = re.compile(
    r".*ERR_INTERNET_DISCONNECTED.*|WebSocket connection to 'ws://127\.0\.0\.1:\d+/ws/crew\?.*' failed: .*"
)
DETAIL_ROWS = "[...document.querySelectorAll('#detail-data dt')].map(d => [d.textContent, d.nextSibling.textContent])"
BEFORE_SIGN_IN = re.compile(r"Failed to load resource: the server responded with a status of 401 \(Unauthorized\)")


@dataclass
class Watched:
    """A page and what it did: console errors (with the phase they happened in), requests, sockets."""

    page: Page
    phase: str = "start"
    errors: list[tuple[str, str]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)

    def watch(self) -> None:
        p = self.page
        p.add_init_script(RECORD_SOCKETS)
        p.on("console", lambda m: self.errors.append((self.phase, m.text)) if m.type == "error" else None)
        p.on("pageerror", lambda e: self.errors.append((self.phase, f"pageerror: {e}")))
        p.on("request", lambda r: self.requests.append(r.url))
        p.on("websocket", lambda ws: self.sockets.append(ws.url))


@dataclass
class Drill:
    """Shared state of the module's tests, in file order."""

    incident: dict[str, Any] = field(default_factory=dict)
    boat: dict[str, Any] = field(default_factory=dict)  # the top-ranked boat (a recommendation)
    asset: dict[str, Any] = field(default_factory=dict)  # its fleet entry
    order: dict[str, Any] = field(default_factory=dict)
    cancelled: str = ""  # the order cancelled while the phone was offline


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    s = start_server(["demo", "--seed", "2"])
    yield s
    stop_server(s)


@pytest.fixture(scope="module")
def drill() -> Drill:
    return Drill()


def wait_until(what: str, check: Callable[[], bool], timeout_s: float, page: Page) -> None:
    """Poll ``check`` (pumping the page's events) until it holds; fail with ``what`` otherwise."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout_s} s: {what}")
        page.wait_for_timeout(200)


def flat(points: list[list[float]]) -> list[float]:
    return [x for p in points for x in p]


def api(server: Server, path: str, body: Any = None) -> Any:
    status, out = http_json(server.url + path, body, server.token or None)
    assert status in (200, 201), (path, status, out)
    return out


def sign_in(page: Page, username: str, password: str) -> None:
    page.fill("#login-user", username)
    page.fill("#login-password", password)
    page.click("#login-form button[type=submit]")


@pytest.fixture(scope="module")
def operator(browser: Browser, server: Server) -> Iterator[Watched]:
    """The command centre at 1400x900, signed in as demo-operator-md (when the server has users)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    w = Watched(context.new_page())
    w.watch()
    w.page.goto(server.url + "/")
    creds = demo_credentials(server)
    if creds:
        w.page.wait_for_selector("#login:not([hidden])", timeout=10_000)
        sign_in(w.page, "demo-operator-md", creds["demo-operator-md"])
    w.phase = "signed-in"
    w.page.wait_for_function("document.getElementById('status').textContent.includes('connected')", timeout=15_000)
    yield w
    context.close()


def detail_rows(page: Page) -> dict[str, str]:
    """The incident detail's rows, label -> value."""
    return dict(page.evaluate(DETAIL_ROWS))


def top_boat(recs: list[dict[str, Any]]) -> dict[str, Any]:
    return next(r for r in recs if r["eligible"] and r["kind"] == "boat")


def test_operator_sees_the_ranking_and_its_routes(operator: Watched, server: Server, drill: Drill) -> None:
    page = operator.page
    drill.incident = api(server, "/api/incidents", {"type": "person_in_water", "lon": SOROCA_WATER[0],
                                                     "lat": SOROCA_WATER[1], "reporter": "fisherman",
                                                     "sar_phase": "distress"})  # fmt: skip
    iid = drill.incident["id"]
    page.locator(f"#incidents li.incident[data-id='{iid}']").click()
    page.wait_for_selector("#recs tr.rec", timeout=15_000)
    recs = api(server, f"/api/incidents/{iid}/recommendations?routes=3")["recommendations"]
    shown = page.evaluate("""[...document.querySelectorAll('#recs tr.rec')].map(tr => ({
        id: tr.dataset.asset, proposed: tr.classList.contains('proposed'), star: !!tr.querySelector('.star'),
        dispatch: !!tr.querySelector('button.dispatch'), reason: tr.querySelector('.reason')?.textContent ?? null}))""")
    assert [s["id"] for s in shown] == [r["asset_id"] for r in recs]
    for s, r in zip(shown, recs):
        assert s["proposed"] == s["star"] == r["proposed"], (s, r)
        assert s["dispatch"] == r["eligible"], (s, r)
        assert s["reason"] == (None if r["eligible"] else r["reason"]), (s, r)
    assert any(not r["eligible"] for r in recs) and any(r["proposed"] for r in recs)
    # each route the page was given is drawn, vertex for vertex; they are the API's (the meeting point
    # with a drifting person moves a little between the two requests)
    drawn = page.evaluate("""incidentView.layer.getLayers().filter(l => l instanceof L.Polyline)
        .map(l => l.getLatLngs().map(p => [p.lng, p.lat]))""")
    given = [r["route"] for r in page.evaluate("incidentView.recs.recommendations") if r["route"]]
    routes = [r["route"] for r in recs if r["route"]]
    assert len(drawn) == len(given) == len(routes) >= 2
    for line, route, api_route in zip(drawn, given, routes):
        assert flat(line) == pytest.approx(flat(route), abs=1e-9)
        assert flat(route[:-3]) == pytest.approx(flat(api_route[:-3]), abs=1e-9)
    # the coverage gaps (the API's) are an overlay the operator can hide and show again
    gaps = [f for f in api(server, "/api/coverage")["features"] if f["properties"]["gap"]]
    assert gaps, "the example fleet leaves gaps"
    count = "live.gapLayer.getLayers().reduce((n, g) => n + g.getLayers().length, 0)"
    wait_until("the gaps drawn", lambda: page.evaluate(count) == len(gaps), 10, page)
    page.uncheck("#gaps-toggle")
    assert not page.evaluate("map.hasLayer(live.gapLayer)")
    page.check("#gaps-toggle")
    assert page.evaluate("map.hasLayer(live.gapLayer)")
    rows = detail_rows(page)
    assert rows["Impact"] == "high" and rows["SAR phase"] == "distress" and rows["Agencies to notify"] == "MD + UA"
    assert not page.locator("#sar-plan-btn").is_hidden()
    drill.boat = top_boat(recs)
    drill.asset = next(a for a in api(server, "/api/assets") if a["id"] == drill.boat["asset_id"])


@pytest.fixture(scope="module")
def crew_context(browser: Browser, server: Server, drill: Drill) -> Iterator[BrowserContext]:
    """A phone (390x844, touch) whose GPS says it is at its boat's base."""
    base = drill.asset["base"]
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
        geolocation={"latitude": base["lat"], "longitude": base["lon"], "accuracy": 12},
        permissions=["geolocation"],
    )  # fmt: skip
    yield context
    context.close()


@pytest.fixture(scope="module")
def crew(crew_context: BrowserContext, server: Server, drill: Drill) -> Watched:
    """The crew page of the top-ranked boat, signed in as its demo crew user (or with its crew token
    when the server has no users)."""
    w = Watched(crew_context.new_page())
    w.watch()
    w.page.goto(server.url + "/crew")
    w.page.wait_for_selector("#login:not([hidden])", timeout=10_000)
    asset_id = drill.boat["asset_id"]
    creds = demo_credentials(server)
    if creds:
        sign_in(w.page, f"demo-crew-{asset_id.lower()}", creds[f"demo-crew-{asset_id.lower()}"])
    else:
        token = next(line.split()[1] for line in server.lines if line.split()[:1] == [asset_id])
        w.page.fill("#login-token", token)
        w.page.click("#token-btn")
    w.page.wait_for_function("crew.connected", timeout=10_000)
    return w


def test_crew_gets_the_order_with_an_alarm_and_accepts(
    operator: Watched, crew: Watched, server: Server, drill: Drill
) -> None:
    phone, page = crew.page, operator.page
    asset_id, base = drill.boat["asset_id"], drill.asset["base"]
    assert phone.locator("#alarm").is_hidden() and phone.locator("#no-order").is_visible()
    # the phone reported its GPS position: the server's fleet has it
    wait_until("the GPS position reported", lambda: _asset(server, asset_id)["position"]["source"] == "crew", 10, phone)
    pos = _asset(server, asset_id)["position"]
    assert (pos["lon"], pos["lat"]) == pytest.approx((base["lon"], base["lat"]), abs=1e-6)

    page.locator(f"#recs tr[data-asset='{asset_id}'] button.dispatch").click()
    phone.wait_for_selector("#alarm:not([hidden])", timeout=10_000)
    orders = [o for o in api(server, "/api/orders?open=true") if o["asset_id"] == asset_id]
    assert len(orders) == 1 and orders[0]["incident_id"] == drill.incident["id"], orders
    drill.order = orders[0]
    assert drill.order["by"] == "demo-operator-md" or not demo_credentials(server)
    assert phone.text_content("#alarm-text") == "NEW ORDER — accept or decline"
    assert phone.evaluate("document.body.classList.contains('alarming')")
    wait_until("the alarm beeps", lambda: phone.evaluate("crew.beeps") >= 2, 5, phone)
    assert phone.evaluate("audio.ctx.state") == "running"
    assert phone.text_content("#order-state") == "sent"
    assert (phone.text_content("#order-title") or "").startswith("person in water · order " + drill.order["id"])
    target = phone.evaluate("marks.target.getLayers()[0].getLatLng()")
    assert (target["lng"], target["lat"]) == pytest.approx(SOROCA_WATER, abs=1e-9)
    # the route on the phone is the server's route by water from its GPS position at the boat's speed
    phone.wait_for_function("crew.route && crew.route.r", timeout=10_000)
    speed_kn = round(drill.asset["speed_mps"] * 3600 / 1852, 1)
    want = api(server, f"/api/routes/eta?from_lon={base['lon']}&from_lat={base['lat']}&to_lon={SOROCA_WATER[0]}"
                       f"&to_lat={SOROCA_WATER[1]}&speed_kn={speed_kn}")  # fmt: skip
    text = phone.text_content("#order-route") or ""
    m = re.fullmatch(r"By water: (?:(\d+) h )?(\d+) min(?: (\d+) s)? · (\d+\.\d\d) km at (\d+) kn \((\d+) km/h\)", text)
    assert m, text
    shown_s = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + int(m.group(3) or 0)
    assert abs(shown_s - want["eta_s"]) <= 1 and float(m.group(4)) == pytest.approx(
        want["distance_m"] / 1000, abs=0.006
    )
    assert int(m.group(5)) == round(speed_kn) and int(m.group(6)) == round(speed_kn * 1.852)
    drawn = phone.evaluate("marks.route.getLayers()[0].getLayers()[0].getLatLngs().map(p => [p.lng, p.lat])")
    assert flat(drawn) == pytest.approx(flat(want["path"]["coordinates"]), abs=1e-9)
    _screenshot(phone, "crew-new-order.png")

    phone.click("#accept")
    phone.wait_for_selector("#alarm", state="hidden", timeout=3_000)
    assert phone.locator("#answer").is_hidden()
    assert not phone.evaluate("document.body.classList.contains('alarming')")
    beeps = phone.evaluate("crew.beeps")
    page.locator(f"#detail-orders li.order[data-id='{drill.order['id']}'][data-state='accepted']").wait_for(
        timeout=5_000
    )
    phone.wait_for_timeout(1600)  # longer than the time between beeps
    assert phone.evaluate("crew.beeps") == beeps  # quiet once answered
    phone.click("#status-buttons button[data-status='en_route']")
    li = page.locator(f"#detail-orders li.order[data-id='{drill.order['id']}'][data-state='en_route']")
    li.wait_for(timeout=5_000)
    assert li.locator(".state").text_content() == "en route"
    wait_until("both answers confirmed", lambda: phone.evaluate("crew.outbox.length") == 0, 5, phone)
    assert phone.text_content("#order-state") == "en route"
    assert phone.text_content("#feedback") == "Status: confirmed by the server"
    assert api(server, f"/api/orders/{drill.order['id']}")["state"] == "en_route"
    assert page.evaluate(f"live.assets.get('{asset_id}').asset.status") == "en_route"
    _screenshot(page, "operator-order-en-route.png")


def test_sar_plan_reaches_the_crew_as_waypoints(operator: Watched, crew: Watched, server: Server, drill: Drill) -> None:
    page, phone = operator.page, crew.page
    page.click("#sar-plan-btn")
    page.wait_for_function("document.getElementById('detail-msg').textContent.startsWith('SAR plan ready')",
                           timeout=20_000)  # fmt: skip
    plan = api(server, f"/api/incidents/{drill.incident['id']}/sar-plan")
    mine = next(a for a in plan["assignments"] if a["searcher_id"] == drill.boat["asset_id"])
    phone.wait_for_function("crew.state.pattern !== null", timeout=10_000)
    drawn = phone.evaluate("marks.pattern.getLayers()[0].getLatLngs().map(p => [p.lng, p.lat])")
    assert flat(drawn) == pytest.approx(flat([[w["lon"], w["lat"]] for w in mine["pattern"]["waypoints"]]), abs=1e-9)
    assert phone.evaluate("marks.pattern.getLayers().length") == 1 + len(mine["pattern"]["waypoints"])
    page.wait_for_function(f"live.plans.has('{drill.incident['id']}')", timeout=5_000)


def _asset(server: Server, asset_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(a for a in api(server, "/api/assets") if a["id"] == asset_id)
    return found


def _screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _go_offline(crew: Watched, context: BrowserContext) -> None:
    crew.phase = "outage"
    context.set_offline(True)
    crew.page.wait_for_function("!crew.connected", timeout=5_000)
    assert (crew.page.text_content("#conn") or "").startswith("DISCONNECTED")
    assert crew.page.evaluate("document.body.classList.contains('offline')")


def _come_back(crew: Watched, context: BrowserContext) -> None:
    context.set_offline(False)
    crew.page.wait_for_function("crew.connected", timeout=15_000)
    crew.page.wait_for_function("crew.outbox.length === 0", timeout=5_000)
    crew.phase = "signed-in"


def test_what_the_crew_sends_offline_is_delivered_once(
    crew: Watched, crew_context: BrowserContext, server: Server, drill: Drill
) -> None:
    phone = crew.page
    _go_offline(crew, crew_context)
    try:
        phone.click("#status-buttons button[data-status='on_scene']")
        queued = json.loads(phone.evaluate("localStorage.getItem('dw.crew.outbox')"))
        assert [(m["type"], m["status"], m["order_id"]) for m in queued] == [("status", "on_scene", drill.order["id"])]
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", queued[0]["id"])
        assert phone.text_content("#outbox") == "1 message(s) waiting to be sent"
        phone.wait_for_timeout(1000)
        assert api(server, f"/api/orders/{drill.order['id']}")["state"] == "en_route"
    finally:
        _come_back(crew, crew_context)
    order = api(server, f"/api/orders/{drill.order['id']}")
    assert order["state"] == "on_scene"
    assert [h["state"] for h in order["history"]].count("on_scene") == 1
    # resent after the reconnect on a socket that resumed where it stopped
    last = crew.sockets[-1]
    assert re.search(r"[?&]since=\d+&epoch=[0-9a-f]+", last), last


def test_an_order_missed_offline_arrives_on_reconnect(
    operator: Watched, crew: Watched, crew_context: BrowserContext, server: Server, drill: Drill
) -> None:
    page, phone = operator.page, crew.page
    asset_id, first = drill.boat["asset_id"], drill.order["id"]
    _go_offline(crew, crew_context)
    try:
        page.locator(f"#detail-orders li.order[data-id='{first}'] button.cancel").click()
        page.locator(f"#detail-orders li.order[data-id='{first}'][data-state='cancelled']").wait_for(timeout=5_000)
        dispatch = page.locator(f"#recs tr[data-asset='{asset_id}'] button.dispatch")
        dispatch.wait_for(timeout=10_000)  # free again: the ranking offers it
        dispatch.click()
        wait_until("a second order", lambda: len(_orders_of(server, asset_id)) == 2, 5, page)
        second = _orders_of(server, asset_id)[-1]
        assert second["id"] != first and second["state"] == "sent"
        page.locator(f"#detail-orders li.order[data-id='{second['id']}'][data-state='sent']").wait_for(timeout=5_000)
        phone.wait_for_timeout(500)
        assert phone.evaluate("crew.state.order.id") == first and phone.locator("#alarm").is_hidden()
    finally:
        _come_back(crew, crew_context)
    phone.wait_for_function(f"crew.state.order.id === '{second['id']}'", timeout=5_000)
    assert phone.is_visible("#alarm") and phone.text_content("#order-state") == "sent"
    # everything since the drop arrived once, in order: the cancel, then the new order
    seen = phone.evaluate("window.__seen")
    resumed = [m for m in seen if m[0] == len(phone.evaluate("window.__sockets")) - 1]
    assert resumed[0][1] == "hello" and [m[1] for m in resumed[1:3]] == ["cancel", "order"], resumed
    stream = [m[2] for m in seen if m[1] != "hello"]
    assert stream == list(range(stream[0], stream[0] + len(stream))), stream
    drill.order, drill.cancelled = second, first


def test_a_decline_with_its_reason_escalates_to_the_next_boat(
    operator: Watched, crew: Watched, server: Server, drill: Drill
) -> None:
    page, phone = operator.page, crew.page
    asset_id, order_id = drill.boat["asset_id"], drill.order["id"]
    phone.click("#decline")
    phone.click("#decline-form button[type=submit]")  # no reason: the form does not send
    phone.wait_for_timeout(300)
    assert phone.evaluate("crew.outbox.length") == 0 and phone.is_visible("#alarm")
    phone.fill("#decline-reason", "engine failure")
    phone.click("#decline-form button[type=submit]")
    page.locator(f"#detail-orders li.order[data-id='{order_id}'][data-state='declined']").wait_for(timeout=5_000)
    order = api(server, f"/api/orders/{order_id}")
    assert order["state"] == "declined" and "engine failure" in order["history"][-1]["detail"], order
    # the operator sees the alert and who is proposed next, with one-click dispatch
    escalation = page.locator("#detail-orders li.escalation")
    escalation.wait_for(timeout=5_000)
    proposal = page.evaluate(f"live.escalations.get('{drill.incident['id']}').proposal")
    recs = api(server, f"/api/incidents/{drill.incident['id']}/recommendations?routes=0")["recommendations"]
    fit = [r["asset_id"] for r in recs if r["eligible"] and r["kind"] == "boat" and r["asset_id"] != asset_id]
    assert proposal["asset_id"] == fit[0], (proposal, fit)
    text = escalation.text_content() or ""
    assert f"order {order_id} to " in text and "declined" in text and "engine failure" in text, text
    assert f"Proposed next: {proposal['call_sign']} ({proposal['asset_id']}, {proposal['agency']}), ETA " in text
    assert escalation.locator(f"button.dispatch[data-asset='{proposal['asset_id']}']").count() == 1
    # the phone: the order is declined, the alarm now shows the cancellation still to be seen
    assert phone.text_content("#order-state") == "declined"
    assert phone.text_content("#alarm-text") == f"Order {drill.cancelled} cancelled: cancelled by the operator"
    phone.click("#alarm-ok")
    phone.wait_for_selector("#alarm", state="hidden", timeout=3_000)


def test_a_position_set_by_hand_reaches_the_server(crew: Watched, server: Server, drill: Drill) -> None:
    phone, asset_id = crew.page, drill.boat["asset_id"]

    def held() -> tuple[float, float]:
        p = _asset(server, asset_id)["position"]
        return p["lon"], p["lat"]

    phone.fill("#manual-lat", "91")
    phone.fill("#manual-lon", "28.3")
    phone.click("#manual-form button[type=submit]")
    assert phone.text_content("#feedback") == "Latitude −90…90 and longitude −180…180, please."
    assert phone.evaluate("crew.outbox.length") == 0
    phone.fill("#manual-lat", "48,1612")  # a decimal comma, as Romanian and Ukrainian keyboards give
    phone.fill("#manual-lon", "28.3068")
    phone.click("#manual-form button[type=submit]")
    assert not phone.is_checked("#gps")
    wait_until("the typed position held", lambda: held() == pytest.approx((28.3068, 48.1612), abs=1e-9), 5, phone)
    assert (phone.text_content("#pos-text") or "").endswith("(set by hand)")

    phone.click("#tap-btn")
    phone.locator("#map").scroll_into_view_if_needed()
    box = phone.locator("#map").bounding_box()
    assert box is not None
    x, y = round(box["width"] / 3), round(box["height"] / 2)
    phone.evaluate("map.once('click', e => { window.__tap = [e.latlng.lng, e.latlng.lat]; })")
    want = phone.evaluate(f"map.containerPointToLatLng([{x}, {y}])")
    phone.mouse.click(box["x"] + x, box["y"] + y)
    tapped = phone.evaluate("window.__tap")  # where Leaflet says the tap was
    assert tapped == pytest.approx([want["lng"], want["lat"]], abs=1e-3)
    wait_until("the tapped position held", lambda: held() == pytest.approx(tuple(tapped), abs=2e-6), 5, phone)
    assert phone.text_content("#feedback") == ""
    assert not phone.evaluate("crew.tapMode")


def _orders_of(server: Server, asset_id: str) -> list[dict[str, Any]]:
    return [o for o in api(server, "/api/orders") if o["asset_id"] == asset_id]


def _local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(KYIV_TIME)


@pytest.mark.parametrize(("lang", "month_jul", "month_jan"), [("ro", "iul.", "ian."), ("uk", "лип.", "січ."),
                                                              ("en", "Jul", "Jan")])  # fmt: skip
def test_language_switch_changes_labels_and_times(
    lang: str, month_jul: str, month_jan: str, operator: Watched, crew: Watched, server: Server
) -> None:
    page, phone = operator.page, crew.page
    cat = CATALOGUES[lang]
    shown: dict[str, str] = {}
    for when in ("2026-07-15T09:05:07Z", "2026-01-15T09:05:07Z"):  # summer (UTC+3) and winter (UTC+2)
        old = api(server, "/api/incidents", {"type": "manual", "lon": OTACI_WATER[0], "lat": OTACI_WATER[1],
                                             "time": when, "reporter": "test", "text": "time format"})  # fmt: skip
        page.select_option("#lang", lang)
        page.wait_for_function(f"document.documentElement.lang === '{lang}'")
        page.locator(f"#incidents li.incident[data-id='{old['id']}']").click()
        page.wait_for_function(f"document.getElementById('detail-title').textContent.startsWith('{old['id']} ')")
        opened = detail_rows(page)[cat["detail.opened"]]
        local = _local(old["opened_at"])
        assert local.strftime("%H:%M:%S") in opened and str(local.day) in opened, (opened, local)
        shown[when] = opened
    assert month_jul in shown["2026-07-15T09:05:07Z"] and "12:05:07" in shown["2026-07-15T09:05:07Z"]
    assert month_jan in shown["2026-01-15T09:05:07Z"] and "11:05:07" in shown["2026-01-15T09:05:07Z"]
    assert page.text_content("#panel h2[data-i18n='panel.incidents']") == cat["panel.incidents"]
    assert page.text_content("#route-btn") == cat["tools.route"]
    assert page.evaluate("document.documentElement.lang") == lang
    expected_status = cat["status.connected"].replace("{n}", "2")
    page.wait_for_function(f"document.getElementById('status').textContent === {json.dumps(expected_status)}")
    if demo_credentials(server):  # kept with the user on the server
        token = page.evaluate("localStorage.getItem('dw.token')")
        status, me = http_json(server.url + "/api/auth/me", token=token)
        assert status == 200 and me["language"] == lang, me

    phone.select_option("#lang", lang)
    phone.wait_for_function(f"document.documentElement.lang === '{lang}'")
    assert phone.text_content("#accept") == cat["crew.accept"]
    assert phone.text_content("#status-buttons button[data-status='on_scene']") == cat["crew_status.on_scene"]
    received = phone.text_content("#order-times") or ""
    created = _local(phone.evaluate("crew.state.order.created_at"))
    assert received.startswith(cat["crew.received"].replace("{time}", created.strftime("%H:%M:%S"))), received
    state = phone.evaluate("crew.state.order.state")
    assert phone.text_content("#order-state") == cat["order_state." + state]
    _screenshot(page, f"operator-{lang}.png")
    _screenshot(phone, f"crew-{lang}.png")


def test_no_unexpected_errors_and_nothing_fetched_elsewhere(operator: Watched, crew: Watched, server: Server) -> None:
    for w in (operator, crew):
        bad = [
            (phase, e)
            for phase, e in w.errors
            if not (
                (phase == "outage" and OUTAGE_NOISE.fullmatch(e)) or (phase == "start" and BEFORE_SIGN_IN.fullmatch(e))
            )
        ]
        assert bad == [], bad
        assert w.requests and all(u.startswith(server.url + "/") for u in w.requests), w.requests
        ws_root = server.url.replace("http://", "ws://")
        assert w.sockets and all(u.startswith(ws_root + "/ws/") for u in w.sockets), w.sockets
