// Command-centre map: river-border layers from /api/geo/layers, locate on click, routes by water.
"use strict";

const map = L.map("map", { preferCanvas: true, zoomSnap: 0.25 });
L.control.scale({ metric: true, imperial: false }).addTo(map);
const statusEl = document.getElementById("status");
const routeLayer = L.layerGroup().addTo(map);
let routeMode = false;
let routeStart = null;

function setStatus(ok, text) {
  statusEl.textContent = text;
  statusEl.className = "status " + (ok ? "ok" : "down");
}

async function getJSON(url) {
  const res = await fetch(url);
  const body = await res.json().catch(() => ({ detail: res.statusText }));
  if (!res.ok) throw new Error(body.detail || res.statusText);
  return body;
}

function fmtKm(m) { return m >= 1000 ? (m / 1000).toFixed(2) + " km" : Math.round(m) + " m"; }
function fmtDuration(s) {
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.round(s % 60);
  return (h ? h + " h " : "") + m + " min " + (h ? "" : sec + " s");
}
function esc(s) { return String(s).replace(/[&<>"]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]); }

function addLayers(layers) {
  const overlays = {};
  overlays["Countries"] = L.geoJSON(layers.countries, {
    style: f => ({ color: "#888", weight: 0.5, fillOpacity: 0.25,
                   fillColor: f.properties.iso2 === "MD" ? "#7fa7d9" : "#f2d16b" }),
    onEachFeature: (f, l) => l.bindTooltip(f.properties.name, { sticky: true }),
  }).addTo(map);
  overlays["River (WDBII, context)"] = L.geoJSON(layers.centerline, {
    style: { color: "#7db9e8", weight: 1.5, opacity: 0.7 }, interactive: false,
  }).addTo(map);
  overlays["Water area"] = L.geoJSON(layers.water_area, {
    style: { color: "#1e6fb8", weight: 0.5, fillColor: "#3d8fd6", fillOpacity: 0.6 }, interactive: false,
  }).addTo(map);
  overlays["Border"] = L.geoJSON(layers.border, {
    style: f => f.properties.follows_river
      ? { color: "#c62828", weight: 1.5, dashArray: "6 4" }
      : { color: "#555", weight: 1.2, dashArray: "2 4" },
    onEachFeature: (f, l) => l.bindTooltip(
      f.properties.follows_river ? "MD–UA border on the Dniester (" + f.properties.section + ")" : "MD–UA land border",
      { sticky: true }),
  }).addTo(map);
  overlays["Places"] = L.geoJSON(layers.places, {
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
      l.on("click", e => onClick(e, label + " (" + p.kind + ", " + p.country + ")"));
    },
  }).addTo(map);
  if (layers.tile_url) {
    L.tileLayer(layers.tile_url, { attribution: layers.tile_attribution || "" }).addTo(map).bringToBack();
  }
  L.control.layers(null, overlays, { collapsed: true }).addTo(map);
  map.attributionControl.addAttribution(esc(layers.attribution));
  map.fitBounds(overlays["Water area"].getBounds(), { padding: [20, 20] });
  if (typeof live !== "undefined") [live.incidentLayer, live.layer].forEach(g => g.eachLayer(l => l.bringToFront()));  // live picture above the layers
  const list = document.getElementById("sections");
  for (const f of layers.river_axis.features) {
    const p = f.properties;
    const li = document.createElement("li");
    li.textContent = p.section + ": " + p.length_km + " km (right bank " + p.right_bank + ", left bank " + p.left_bank + ")";
    list.appendChild(li);
  }
}

function showLocation(loc, place) {
  const rows = [
    ["Place", place || "—"],
    ["Position", loc.lat.toFixed(5) + ", " + loc.lon.toFixed(5)],
    ["Section", loc.section || "—"],
    ["River km", loc.river_km != null ? loc.river_km.toFixed(2) : "—"],
    ["Offset", loc.offset_m != null ? fmtKm(Math.abs(loc.offset_m)) + " " + loc.bank + " bank" : "—"],
    ["Side", loc.side || "—"],
    ["On water", loc.on_water ? "yes" : "no"],
    ["To border", fmtKm(loc.border_distance_m)],
  ];
  document.getElementById("locate").innerHTML =
    rows.map(([k, v]) => "<dt>" + k + "</dt><dd>" + esc(v) + "</dd>").join("");
  document.getElementById("hint").textContent = "";
}

async function onClick(e, place) {
  const { lat, lng } = e.latlng;
  if (routeMode) return routeClick(lat, lng);
  try {
    showLocation(await getJSON(`/api/geo/locate?lon=${lng}&lat=${lat}`), place);
  } catch (err) {
    document.getElementById("hint").innerHTML = '<span class="error">' + esc(err.message) + "</span>";
  }
}

async function routeClick(lat, lng) {
  const out = document.getElementById("route");
  if (!routeStart) {
    routeLayer.clearLayers();
    routeStart = [lng, lat];
    L.circleMarker([lat, lng], { radius: 6, color: "#0b6" }).addTo(routeLayer);
    out.innerHTML = "<p>Start set. Click the destination.</p>";
    return;
  }
  const [flon, flat] = routeStart;
  routeStart = null;
  toggleRouteMode(false);
  const speed = Number(document.getElementById("speed").value) || 20;
  try {
    const r = await getJSON(`/api/routes/eta?from_lon=${flon}&from_lat=${flat}&to_lon=${lng}&to_lat=${lat}&speed_kn=${speed}`);
    L.geoJSON(r.path, { style: { color: "#ff6f00", weight: 4 } }).addTo(routeLayer);
    L.circleMarker([lat, lng], { radius: 6, color: "#d00" }).addTo(routeLayer);
    out.innerHTML = "<dl><dt>ETA</dt><dd>" + fmtDuration(r.eta_s) + "</dd><dt>Distance</dt><dd>" +
      fmtKm(r.distance_m) + "</dd><dt>Speed</dt><dd>" + speed + " kn</dd><dt>From km</dt><dd>" +
      r.from.river_km.toFixed(2) + "</dd><dt>To km</dt><dd>" + r.to.river_km.toFixed(2) + "</dd></dl>";
  } catch (err) {
    out.innerHTML = '<p class="error">' + esc(err.message) + "</p>";
  }
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
  try { sensors = await getJSON("/api/sensors"); } catch (err) { return; }
  const body = document.querySelector("#sensors tbody");
  body.innerHTML = sensors.length ? "" : '<tr><td colspan="4">none configured</td></tr>';
  sensorLayer.clearLayers();
  for (const s of sensors) {
    const rejected = Object.values(s.rejected).reduce((a, b) => a + b, 0);
    const tr = document.createElement("tr");
    tr.innerHTML = "<td>" + esc(s.sensor_id) + "</td><td class=\"st-" + esc(s.status) + "\">" + esc(s.status) +
      "</td><td>" + s.rate_per_s.toFixed(1) + "</td><td title=\"" + esc(JSON.stringify(s.rejected)) + "\">" +
      rejected + "</td>";
    body.appendChild(tr);
    if (s.site) {
      L.circleMarker([s.site.lat, s.site.lon], { radius: 6, weight: 2, color: STATUS_COLOUR[s.status] || "#777",
        fillColor: s.agency === "MD" ? "#1565c0" : "#f9a825", fillOpacity: 0.9, bubblingMouseEvents: false })
        .bindTooltip(esc(s.sensor_id) + " (" + esc(s.kind) + ", " + esc(s.agency) + "): " + esc(s.status))
        .addTo(sensorLayer);
    }
  }
}

async function pollHealth() {
  try {
    const h = await getJSON("/api/health");
    window.serverOffsetMs = Date.parse(h.time) - Date.now();  // scenario time in the demo
    if (typeof live === "undefined" || live.connected) setStatus(true, "connected · " + h.sections.length + " sections");
  } catch (err) {
    setStatus(false, "DISCONNECTED — retrying");
  }
}

document.getElementById("route-btn").addEventListener("click", () => {
  routeStart = null;
  toggleRouteMode(!routeMode);
});
map.on("click", onClick);

getJSON("/api/geo/layers").then(addLayers).catch(err => {
  setStatus(false, "map layers failed: " + err.message);
  map.setView([47.3, 28.8], 7);
});
pollHealth();
setInterval(pollHealth, 10000);
pollSensors();
setInterval(pollSensors, 5000);
