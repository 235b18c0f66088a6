// The crew page's map and position: a light map (same layers), own position from GPS
// (watchPosition) or set by hand, the target and the route by water to it (GET /api/routes/eta),
// and the SAR pattern's waypoints. Loaded before crew.js, whose state (``crew``) it reads.
"use strict";

const POSITION_EVERY_MS = 30000;  // report at least this often while moving little
const POSITION_MOVE_M = 25;       // ...or when moved this far
const map = L.map("map", { zoomSnap: 0.5, zoomControl: true }).setView([48.0, 28.5], 8);
const marks = {
  pattern: L.layerGroup().addTo(map),
  route: L.layerGroup().addTo(map),
  target: L.layerGroup().addTo(map),
  me: L.layerGroup().addTo(map),
};
let layersLoaded = false;

async function loadLayers() {
  if (layersLoaded) return;
  try {
    const layers = await api("/api/geo/layers", { keepSession: true });
    layersLoaded = true;
    L.geoJSON(layers.countries, { interactive: false, style: f => ({ stroke: false, fillOpacity: 0.15,
      fillColor: f.properties.iso2 === "MD" ? "#7fa7d9" : "#f2d16b" }) }).addTo(map).bringToBack();
    L.geoJSON(layers.water_area, { interactive: false,
      style: { stroke: false, fillColor: "#3d8fd6", fillOpacity: 0.55 } }).addTo(map);
    L.geoJSON(layers.border, { interactive: false, filter: f => f.properties.follows_river,
      style: { color: "#c62828", weight: 1, dashArray: "6 4" } }).addTo(map);
    L.geoJSON(layers.places, { filter: f => f.properties.kind === "town" && (f.properties.population || 0) >= 10000,
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 2, color: "#333", interactive: false })
        .bindTooltip(esc(f.properties.name), { permanent: true, direction: "right", className: "place-label" }) })
      .addTo(map);
    if (layers.tile_url) L.tileLayer(layers.tile_url, { attribution: layers.tile_attribution || "" }).addTo(map).bringToBack();
    map.attributionControl.addAttribution(esc(layers.attribution));
    for (const g of Object.values(marks)) g.eachLayer(l => l.bringToFront && l.bringToFront());
  } catch (err) {
    console.warn("map layers:", err.message);  // the order and the route still work without them
  }
}

function target() {
  const o = crew.state.order;
  return o && o.incident ? { lon: o.incident.lon, lat: o.incident.lat } : null;
}

let routeTimer = null;
let routeFrom = null;
// The route by water from here to the target (GET /api/routes/eta), again when moved 100 m or the target changed.
function scheduleRoute() {
  clearTimeout(routeTimer);
  routeTimer = setTimeout(async () => {
    const p = crew.position, to = target();
    if (!p || !to || !crew.state.order.open) { crew.route = null; routeFrom = null; renderMap(); return; }
    const key = to.lon + "," + to.lat;
    if (routeFrom && routeFrom.key === key && metresBetween(routeFrom, p) < 100) return;
    routeFrom = { lon: p.lon, lat: p.lat, key };
    const speedKn = Math.min(80, ((crew.state.asset && crew.state.asset.speed_mps) || 10.3) * KN_PER_MPS);
    const q = new URLSearchParams({ from_lon: p.lon, from_lat: p.lat, to_lon: to.lon, to_lat: to.lat,
                                    speed_kn: speedKn.toFixed(1) });
    try {
      crew.route = { r: await api("/api/routes/eta?" + q, { keepSession: true }) };
    } catch (err) {
      crew.route = { error: err.message };
      routeFrom = null;  // try again on the next fix
    }
    renderMap();
    renderOrder();
  }, 500);
}

function renderMap() {
  marks.me.clearLayers();
  marks.target.clearLayers();
  marks.route.clearLayers();
  marks.pattern.clearLayers();
  const p = crew.position, to = target();
  if (p) {
    L.circle([p.lat, p.lon], { radius: p.accuracy_m, weight: 1, color: "#1565c0", fillOpacity: 0.1,
      interactive: false }).addTo(marks.me);
    L.circleMarker([p.lat, p.lon], { radius: 8, color: "#fff", weight: 2, fillColor: "#1565c0", fillOpacity: 1 })
      .bindTooltip(esc(t("crew.me"))).addTo(marks.me);
  }
  if (to) {
    L.circleMarker([to.lat, to.lon], { radius: 10, color: "#d50000", weight: 3, fillColor: "#ff8a80", fillOpacity: 0.8 })
      .bindTooltip(esc(t("crew.target"))).addTo(marks.target);
  }
  if (crew.route && crew.route.r) {
    L.geoJSON(crew.route.r.path, { interactive: false, style: { color: "#ff6f00", weight: 4 } }).addTo(marks.route);
  }
  const pat = crew.state.pattern;
  if (pat) {
    const pts = pat.pattern.waypoints.map(w => [w.lat, w.lon]);
    L.polyline(pts, { color: "#6a1b9a", weight: 2, dashArray: "5 4", interactive: false }).addTo(marks.pattern);
    pts.forEach((ll, k) => L.circleMarker(ll, { radius: 4, color: "#6a1b9a", fillColor: "#fff", fillOpacity: 1 })
      .bindTooltip(String(k + 1), { permanent: k === 0, direction: "top" }).addTo(marks.pattern));
  }
}

let fittedFor = null;
// Show both ends when the order or the first position arrives; after that the crew pans freely.
function fitMap() {
  const key = (crew.state.order ? crew.state.order.id : "") + "/" + !!crew.position;
  if (key === fittedFor) return;
  fittedFor = key;
  const pts = [];
  if (crew.position) pts.push([crew.position.lat, crew.position.lon]);
  const to = target();
  if (to) pts.push([to.lat, to.lon]);
  if (pts.length === 2) map.fitBounds(pts, { paddingTopLeft: [30, 30], paddingBottomRight: [30, 60], maxZoom: 15 });
  else if (pts.length === 1) map.setView(pts[0], 13);
}

// -- own position --------------------------------------------------------------------------------

function metresBetween(a, b) { return map.distance([a.lat, a.lon], [b.lat, b.lon]); }

function setPosition(p, source) {
  crew.position = { ...p, source };
  const last = crew.lastReported;
  if (source === "manual" || !last || metresBetween(last, p) >= POSITION_MOVE_M ||
      p.time_ms - last.time_ms >= POSITION_EVERY_MS) reportPosition();
  render();
  scheduleRoute();
}

function reportPosition() {
  const p = crew.position;
  if (!p) return;
  crew.lastReported = p;
  // the server judges times on its own clock: this phone's clock is corrected by the offset seen on its messages
  const time = new Date(p.time_ms + crew.serverOffsetMs).toISOString();
  send({ type: "position", lon: +p.lon.toFixed(6), lat: +p.lat.toFixed(6), time,
         accuracy_m: Math.min(Math.round(p.accuracy_m), 100000) });
}

function startGps() {
  if (!navigator.geolocation || crew.gpsWatch !== null) return;
  crew.gpsWatch = navigator.geolocation.watchPosition(
    pos => setPosition({ lon: pos.coords.longitude, lat: pos.coords.latitude, accuracy_m: pos.coords.accuracy,
                         time_ms: pos.timestamp }, "gps"),
    err => { crew.feedback = { text: () => t("crew.gps_error", { error: err.message }), isError: true }; render(); },
    { enableHighAccuracy: true, maximumAge: 5000, timeout: 30000 });
}

function stopGps() {
  if (crew.gpsWatch !== null) navigator.geolocation.clearWatch(crew.gpsWatch);
  crew.gpsWatch = null;
}

function manualPosition(lat, lon) {
  if (!(Math.abs(lat) <= 90 && Math.abs(lon) <= 180)) {
    crew.feedback = { text: () => t("crew.bad_position"), isError: true };
    render();
    return;
  }
  crew.feedback = null;
  document.getElementById("gps").checked = false;
  stopGps();
  setPosition({ lon, lat, accuracy_m: 50, time_ms: Date.now() }, "manual");
}

