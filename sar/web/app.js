// Command-centre map: river-border layers from /api/geo/layers, locate on click, routes by water.
// Starts after the labels are loaded and the operator is signed in (when the server has users).
"use strict";

const map = L.map("map", { preferCanvas: true, zoomSnap: 0.25 });
L.control.scale({ metric: true, imperial: false }).addTo(map);
const statusEl = document.getElementById("status");
const routeLayer = L.layerGroup().addTo(map);
let routeMode = false;
let routeStart = null;
let lastRoute = null;     // {r, speed} of the route shown, redrawn on a language change
let lastLocate = null;    // [loc, place]
let healthSections = null;

function setStatus(ok, text) {
  statusEl.textContent = text;
  statusEl.className = "status " + (ok ? "ok" : "down");
}

function addLayers(layers) {
  const overlays = {};
  overlays.countries = L.geoJSON(layers.countries, {
    style: f => ({ color: "#888", weight: 0.5, fillOpacity: 0.25,
                   fillColor: f.properties.iso2 === "MD" ? "#7fa7d9" : "#f2d16b" }),
    onEachFeature: (f, l) => l.bindTooltip(f.properties.name, { sticky: true }),
  }).addTo(map);
  overlays.river = L.geoJSON(layers.centerline, {
    style: { color: "#7db9e8", weight: 1.5, opacity: 0.7 }, interactive: false,
  }).addTo(map);
  overlays.water = L.geoJSON(layers.water_area, {
    style: { color: "#1e6fb8", weight: 0.5, fillColor: "#3d8fd6", fillOpacity: 0.6 }, interactive: false,
  }).addTo(map);
  overlays.border = L.geoJSON(layers.border, {
    style: f => f.properties.follows_river
      ? { color: "#c62828", weight: 1.5, dashArray: "6 4" }
      : { color: "#555", weight: 1.2, dashArray: "2 4" },
    onEachFeature: (f, l) => l.bindTooltip(() => f.properties.follows_river
      ? t("map.border_river", { section: f.properties.section }) : t("map.border_land"), { sticky: true }),
  }).addTo(map);
  overlays.places = L.geoJSON(layers.places, {
    pointToLayer: (f, latlng) => {
      const k = f.properties.kind;
      const style = k === "dam" ? { radius: 7, color: "#000", fillColor: "#444", fillOpacity: 1 }
        : k === "bcp" ? { radius: 5, color: "#6a1b9a", fillColor: "#ce93d8", fillOpacity: 1 }
        : { radius: 3, color: "#333", fillColor: "#fff", fillOpacity: 1, weight: 1 };
      // A click on a marker is a click on the map there (locate, or a route end), named.
      return L.circleMarker(latlng, { ...style, bubblingMouseEvents: false });
    },
    onEachFeature: (f, l) => {
      const p = f.properties;
      const label = p.name + (p.name_local && p.name_local !== p.name ? " / " + p.name_local : "");
      const major = p.kind === "town" && (p.population || 0) >= 10000;
      l.bindTooltip(esc(label), major ? { permanent: true, direction: "right", className: "place-label" } : {});
      l.on("click", e => onClick(e, label + " (" + t("place_kind." + p.kind) + ", " + p.country + ")"));
    },
  }).addTo(map);
  if (layers.tile_url) {
    L.tileLayer(layers.tile_url, { attribution: layers.tile_attribution || "" }).addTo(map).bringToBack();
  }
  let control = null;
  const layerControl = () => {
    if (control) control.remove();
    control = L.control.layers(null, {}, { collapsed: true }).addTo(map);
    control.addOverlay(overlays.countries, esc(t("layer.countries")));
    control.addOverlay(overlays.river, esc(t("layer.river")));
    control.addOverlay(overlays.water, esc(t("layer.water")));
    control.addOverlay(overlays.border, esc(t("layer.border")));
    control.addOverlay(overlays.places, esc(t("layer.places")));
  };
  layerControl();
  onLanguageChange(layerControl);
  map.attributionControl.addAttribution(esc(layers.attribution));
  map.fitBounds(overlays.water.getBounds(), { padding: [20, 20] });
  if (typeof live !== "undefined") [live.incidentLayer, live.layer].forEach(g => g.eachLayer(l => l.bringToFront()));  // live picture above the layers
  showSections(layers.river_axis.features);
  onLanguageChange(() => showSections(layers.river_axis.features));
}

function showSections(features) {
  const list = document.getElementById("sections");
  list.innerHTML = "";
  for (const f of features) {
    const p = f.properties;
    const li = document.createElement("li");
    li.textContent = t("sections.item", { section: p.section, km: fmtNumber(p.length_km, 2, 0),
      right: p.right_bank, left: p.left_bank });
    list.appendChild(li);
  }
}

function showLocation(loc, place) {
  lastLocate = [loc, place];
  const rows = [
    [t("locate.place"), place || "—"],
    [t("locate.position"), loc.lat.toFixed(5) + ", " + loc.lon.toFixed(5)],
    [t("locate.section"), loc.section || "—"],
    [t("locate.river_km"), loc.river_km != null ? fmtNumber(loc.river_km, 2) : "—"],
    [t("locate.offset"), loc.offset_m != null
      ? t("locate.offset_value", { dist: fmtDistance(Math.abs(loc.offset_m)), bank: t("bank." + loc.bank) }) : "—"],
    [t("locate.side"), loc.side || "—"],
    [t("locate.on_water"), loc.on_water ? t("common.yes") : t("common.no")],
    [t("locate.to_border"), fmtDistance(loc.border_distance_m)],
  ];
  document.getElementById("locate").innerHTML =
    rows.map(([k, v]) => "<dt>" + esc(k) + "</dt><dd>" + esc(v) + "</dd>").join("");
  document.getElementById("hint").textContent = "";
}

async function onClick(e, place) {
  const { lat, lng } = e.latlng;
  if (routeMode) return routeClick(lat, lng);
  try {
    showLocation(await api(`/api/geo/locate?lon=${lng}&lat=${lat}`), place);
  } catch (err) {
    document.getElementById("hint").innerHTML = '<span class="error">' + esc(err.message) + "</span>";
  }
}

async function routeClick(lat, lng) {
  const out = document.getElementById("route");
  if (!routeStart) {
    routeLayer.clearLayers();
    routeStart = [lng, lat];
    lastRoute = null;
    L.circleMarker([lat, lng], { radius: 6, color: "#0b6" }).addTo(routeLayer);
    out.innerHTML = "<p>" + esc(t("route.start_set")) + "</p>";
    return;
  }
  const [flon, flat] = routeStart;
  routeStart = null;
  toggleRouteMode(false);
  const speed = Number(document.getElementById("speed").value) || 20;
  try {
    const r = await api(`/api/routes/eta?from_lon=${flon}&from_lat=${flat}&to_lon=${lng}&to_lat=${lat}&speed_kn=${speed}`);
    L.geoJSON(r.path, { style: { color: "#ff6f00", weight: 4 } }).addTo(routeLayer);
    L.circleMarker([lat, lng], { radius: 6, color: "#d00" }).addTo(routeLayer);
    showRoute(r, speed);
  } catch (err) {
    out.innerHTML = '<p class="error">' + esc(err.message) + "</p>";
  }
}

function showRoute(r, speed) {
  lastRoute = { r, speed };
  const rows = [
    [t("route.eta"), fmtDuration(r.eta_s)],
    [t("route.distance"), fmtDistance(r.distance_m)],
    [t("route.speed"), speed + " " + t("unit.kn")],
    [t("route.speed_kmh"), fmtNumber(speed * 1.852, 0) + " " + t("unit.kmh")],
    [t("route.from_km"), fmtNumber(r.from.river_km, 2)],
    [t("route.to_km"), fmtNumber(r.to.river_km, 2)],
  ];
  document.getElementById("route").innerHTML =
    "<dl>" + rows.map(([k, v]) => "<dt>" + esc(k) + "</dt><dd>" + esc(v) + "</dd>").join("") + "</dl>";
}

function toggleRouteMode(on) {
  routeMode = on;
  document.getElementById("route-btn").classList.toggle("active", on);
  map.getContainer().style.cursor = on ? "crosshair" : "";
}

const sensorLayer = L.layerGroup().addTo(map);
const STATUS_COLOUR = { ok: "#2e7d32", stale: "#c62828", no_data: "#777" };

async function pollSensors() {
  let sensors;
  try { sensors = await api("/api/sensors"); } catch (err) { return; }
  const body = document.querySelector("#sensors tbody");
  body.innerHTML = sensors.length ? "" : '<tr><td colspan="4">' + esc(t("sensors.none")) + "</td></tr>";
  sensorLayer.clearLayers();
  for (const s of sensors) {
    const rejected = Object.values(s.rejected).reduce((a, b) => a + b, 0);
    const state = t("sensor_status." + s.status);
    const tr = document.createElement("tr");
    tr.innerHTML = "<td>" + esc(s.sensor_id) + "</td><td class=\"st-" + esc(s.status) + "\">" + esc(state) +
      "</td><td>" + fmtNumber(s.rate_per_s, 1) + "</td><td title=\"" + esc(JSON.stringify(s.rejected)) + "\">" +
      rejected + "</td>";
    body.appendChild(tr);
    if (s.site) {
      L.circleMarker([s.site.lat, s.site.lon], { radius: 6, weight: 2, color: STATUS_COLOUR[s.status] || "#777",
        fillColor: s.agency === "MD" ? "#1565c0" : "#f9a825", fillOpacity: 0.9, bubblingMouseEvents: false })
        .bindTooltip(esc(s.sensor_id) + " (" + esc(s.kind) + ", " + esc(s.agency) + "): " + esc(state))
        .addTo(sensorLayer);
    }
  }
}

function showConnected() {
  if (healthSections !== null) setStatus(true, t("status.connected", { n: healthSections }));
}

async function pollHealth() {
  try {
    const h = await api("/api/health");
    window.serverOffsetMs = Date.parse(h.time) - Date.now();  // scenario time in the demo
    healthSections = h.sections.length;
    if (typeof live === "undefined" || live.connected) showConnected();
  } catch (err) {
    setStatus(false, t("status.down_retrying"));
  }
}

function showUser() {
  const u = session.user;
  document.getElementById("user").textContent = u ? u.username + (u.agency ? " · " + u.agency : "") : "";
}

function relabel() {
  if (statusEl.classList.contains("ok")) showConnected();
  else if (typeof live !== "undefined" && !live.connected && statusEl.classList.contains("down")) {
    setStatus(false, t("status.down_reconnecting"));
  }
  if (lastLocate) showLocation(...lastLocate);
  if (lastRoute) showRoute(lastRoute.r, lastRoute.speed);
  pollSensors();
}

async function boot() {
  await setLanguage(initialLanguage());
  statusEl.textContent = t("status.connecting");
  bindLogin(() => location.reload());
  let user = null;
  try {
    user = await restoreUser();
  } catch (err) {
    return;  // the login form is shown
  }
  if (user && user.language && user.language !== i18n.lang) await setLanguage(user.language);
  bindLanguagePicker(saveUserLanguage);
  showUser();
  onLanguageChange(relabel);
  document.getElementById("route-btn").addEventListener("click", () => {
    routeStart = null;
    toggleRouteMode(!routeMode);
  });
  document.getElementById("gaps-toggle").addEventListener("change", ev => {
    if (ev.target.checked) map.addLayer(live.gapLayer); else map.removeLayer(live.gapLayer);
  });
  map.on("click", onClick);
  const layers = api("/api/geo/layers");  // 330 kB: the live picture does not wait for it
  startLive();
  pollHealth();
  setInterval(pollHealth, 10000);
  pollSensors();
  setInterval(pollSensors, 5000);
  try {
    addLayers(await layers);
  } catch (err) {
    if (err instanceof Unauthorized) return;  // signed out: the form is shown
    setStatus(false, t("status.layers_failed", { error: err.message }));
    map.setView([47.3, 28.8], 7);
  }
}

boot();
