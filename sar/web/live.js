// Live picture over /ws/live: tracks with tails, incidents with running timers, sensor health.
// Resumes by seq after a reconnect; says plainly when it is disconnected.
"use strict";

const live = {
  seq: null,
  tracks: new Map(),      // id -> {marker, tail, feature}
  incidents: new Map(),   // id -> incident
  // groups for showing and clearing; what is drawn on top is the order markers are added (see applyResync)
  gapLayer: L.layerGroup().addTo(map),
  planLayer: L.layerGroup().addTo(map),
  assetLayer: L.layerGroup().addTo(map),
  layer: L.layerGroup().addTo(map),
  incidentLayer: L.layerGroup().addTo(map),
  assets: new Map(),      // id -> {marker, asset}
  orders: new Map(),      // id -> open order
  allOrders: new Map(),   // id -> every order seen (open or closed), for the incident detail
  escalations: new Map(), // incident id -> {ts, alert, proposal}: the last decline/expiry and who is next
  plans: new Map(),       // incident id -> layer group (drift cells, patterns, datum)
  alerts: [],             // newest first: {ts, text}
  retryMs: 500,
  connected: false,
};

const IMPACT_RANK = { high: 0, medium: 1, low: 2 };
const CLASS_COLOUR = { person: "#d50000", vessel: "#0d47a1", unknown: "#455a64" };
const MPS_TO_KN = 3600 / 1852;

function trackStyle(p) {
  return {
    radius: p.class === "person" ? 7 : 6,
    color: p.cooperative ? "#ffffff" : "#ff6d00",
    weight: p.cooperative ? 1 : 3,
    fillColor: CLASS_COLOUR[p.class] || CLASS_COLOUR.unknown,
    fillOpacity: p.status === "coasting" ? 0.4 : 0.95,
    bubblingMouseEvents: false,
  };
}

function trackLabel(p) {
  const who = p.name || (p.mmsi ? "MMSI " + p.mmsi : p.id);
  return who + " · " + t("class." + p.class) + " · " + fmtNumber(p.speed_mps * MPS_TO_KN, 1) + " " + t("unit.kn") +
    (p.cooperative ? "" : " · " + t("track.no_ais")) +
    (p.river_km != null ? " · " + t("common.km") + " " + fmtNumber(p.river_km, 2) + " " + (p.side || "") : "");
}

function upsertTrack(f) {
  const p = f.properties;
  const latlng = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
  const tail = p.tail.map(c => [c[1], c[0]]).concat([latlng]);
  let t = live.tracks.get(p.id);
  if (!t) {
    t = { marker: L.circleMarker(latlng, trackStyle(p)).addTo(live.layer),
          tail: L.polyline(tail, { color: "#263238", weight: 1.5, opacity: 0.6, interactive: false }).addTo(live.layer) };
    t.marker.bindTooltip("", { direction: "top" });
    t.marker.on("click", e => onClick(e, trackLabel(t.feature.properties)));  // as it is now, not when first seen
    live.tracks.set(p.id, t);
  }
  t.feature = f;
  t.marker.setLatLng(latlng).setStyle(trackStyle(p));
  t.marker.setTooltipContent(esc(trackLabel(p)));
  t.tail.setLatLngs(tail);
}

function removeTrack(id) {
  const t = live.tracks.get(id);
  if (!t) return;
  live.layer.removeLayer(t.marker);
  live.layer.removeLayer(t.tail);
  live.tracks.delete(id);
}

function ageText(iso) {
  const now = Date.now() + (window.serverOffsetMs || 0);
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(sec).padStart(2, "0");
}

function renderIncidents() {
  const open = [...live.incidents.values()].filter(i => i.status === "open");
  open.sort((a, b) => (IMPACT_RANK[a.impact] - IMPACT_RANK[b.impact]) || a.opened_at.localeCompare(b.opened_at));
  const list = document.getElementById("incidents");
  list.innerHTML = open.length ? "" : "<li class=\"muted\">" + esc(t("incidents.none")) + "</li>";
  live.incidentLayer.clearLayers();
  for (const i of open) {
    const li = document.createElement("li");
    li.className = "incident impact-" + i.impact;
    li.dataset.id = i.id;
    li.classList.toggle("selected", typeof incidentView !== "undefined" && incidentView.id === i.id);
    li.innerHTML = "<b>" + esc(i.id) + "</b> " + esc(t("incident_type." + i.type)) +
      (i.sar_phase ? " · <span class=\"phase\">" + esc(t("sar_phase." + i.sar_phase).toUpperCase()) + "</span>" : "") +
      " <span class=\"timer\" data-since=\"" + esc(i.opened_at) + "\">" + ageText(i.opened_at) + "</span><br>" +
      "<small>" + esc(i.title || "") + (i.river_km != null ? " · " + t("common.km") + " " + fmtNumber(i.river_km, 2) : "") +
      " · " + esc(t("incidents.notify", { agencies: (i.agencies_to_notify || []).join("+") })) + "</small>";
    li.addEventListener("click", () => {
      map.setView([i.lat, i.lon], Math.max(map.getZoom(), 14));
      openIncident(i.id);
    });
    list.appendChild(li);
    L.circleMarker([i.lat, i.lon], { radius: 14, color: i.impact === "high" ? "#d50000" : "#ff9100",
      weight: 3, fill: false, dashArray: "4 3", interactive: false }).addTo(live.incidentLayer);
  }
}

const ASSET_COLOUR = { available: "#2e7d32", assigned: "#f9a825", en_route: "#ef6c00", on_scene: "#c62828",
                        returning: "#1565c0", out_of_service: "#757575" };
const PATTERN_COLOURS = ["#6a1b9a", "#00838f", "#ad1457", "#558b2f", "#4527a0"];

function upsertAsset(a) {
  const latlng = [a.position.lat, a.position.lon];
  const style = { radius: a.kind === "drone" ? 5 : 7, color: a.agency === "MD" ? "#0d47a1" : "#fbc02d", weight: 3,
                  fillColor: ASSET_COLOUR[a.status] || "#000", fillOpacity: 0.95, bubblingMouseEvents: false };
  const label = a.call_sign + " (" + a.id + ", " + a.agency + ") · " + t("asset_status." + a.status) +
    (a.at_base ? " · " + t("assets.at_base", { base: a.base.name }) : "");
  let x = live.assets.get(a.id);
  if (!x) {
    x = { marker: L.circleMarker(latlng, style).addTo(live.assetLayer) };
    x.marker.bindTooltip("", { direction: "top" });
    live.assets.set(a.id, x);
  }
  x.asset = a;
  x.marker.setLatLng(latlng).setStyle(style).setTooltipContent(esc(label));
  renderLegend();
}

// Boats of both agencies: fill = status, ring = agency; how many of each are in each status.
function renderLegend() {
  const count = {};
  for (const { asset } of live.assets.values()) {
    const k = asset.status + "/" + asset.agency;
    count[k] = (count[k] || 0) + 1;
  }
  document.getElementById("legend").innerHTML = Object.keys(ASSET_COLOUR).map(st =>
    "<li><i class=\"dot\" style=\"background:" + ASSET_COLOUR[st] + "\"></i>" + esc(t("asset_status." + st)) +
    " <small>MD " + (count[st + "/MD"] || 0) + " · UA " + (count[st + "/UA"] || 0) + "</small></li>").join("") +
    "<li><i class=\"ring md\"></i>" + esc(t("legend.md")) + " <i class=\"ring ua\"></i>" + esc(t("legend.ua")) + "</li>";
}

function showPlan(plan) {
  const old = live.plans.get(plan.incident_id);
  if (old) live.planLayer.removeLayer(old);
  const g = L.layerGroup();
  const frames = plan.drift.frames || [];
  const last = frames[frames.length - 1];
  if (last && last.datum) {
    const top = Math.max(...last.cells.features.map(f => f.properties.probability), 1e-9);
    L.geoJSON(last.cells, { interactive: false, style: f => ({ stroke: false, fillColor: "#d50000",
      fillOpacity: 0.15 + 0.6 * f.properties.probability / top }) }).addTo(g);
    L.circleMarker([last.datum.lat, last.datum.lon], { radius: 6, color: "#d50000", weight: 2, fill: false })
      .bindTooltip(() => esc(t("plan.datum", { time: last.time ? fmtTime(last.time) : "",
        radius: fmtDistance(last.datum.radius_90_m || 0) })))
      .addTo(g);
  }
  plan.assignments.forEach((a, k) => {
    const pts = a.pattern.waypoints.map(w => [w.lat, w.lon]);
    L.polyline(pts, { color: PATTERN_COLOURS[k % PATTERN_COLOURS.length], weight: 2, dashArray: "5 4" })
      .bindTooltip(() => esc(a.searcher_id + " · " + t("pattern." + a.pattern.kind))).addTo(g);
  });
  g.addTo(live.planLayer);
  live.plans.set(plan.incident_id, g);
}

async function showGaps() {
  try {
    const cov = await api("/api/coverage");
    live.gapLayer.clearLayers();
    L.geoJSON({ type: "FeatureCollection", features: cov.features.filter(f => f.properties.gap) },
      { interactive: false, style: { color: "#ff1744", weight: 6, opacity: 0.5 } }).addTo(live.gapLayer);
  } catch (e) { console.warn("coverage:", e.message); }
}

// An alert's text is made when shown (so it follows the language); alerts from the server stay as sent.
function addAlert(ts, text) {
  live.alerts.unshift({ ts, text });
  live.alerts.length = Math.min(live.alerts.length, 20);
  renderAlerts();
}
function renderAlerts() {
  document.getElementById("alerts").innerHTML = live.alerts.map(a => "<li><time>" + esc(fmtTime(a.ts)) + "</time> " +
    esc(typeof a.text === "function" ? a.text() : a.text) + "</li>").join("");
}

function applyResync(d) {
  // The map draws on one canvas in the order layers are added (layer groups do not set it):
  // boats first, then tracks, so a track passing a boat's base stays on top and hoverable.
  for (const a of d.assets || []) upsertAsset(a);
  for (const id of [...live.tracks.keys()]) removeTrack(id);
  for (const f of d.tracks.features) upsertTrack(f);
  live.incidents.clear();
  for (const i of d.incidents) live.incidents.set(i.id, i);
  renderIncidents();
  live.orders.clear();
  for (const o of d.orders || []) { live.orders.set(o.id, o); live.allOrders.set(o.id, o); }
  for (const p of d.sar_plans || []) showPlan(p);
  if ((d.coverage_gaps || []).length) showGaps(); else live.gapLayer.clearLayers();
}

function onLive(msg) {
  live.lastMessageAt = Date.now();
  if (live.seq !== null && msg.type !== "resync" && msg.seq !== live.seq + 1) {
    console.warn("live: gap in seq", live.seq, msg.seq);
  }
  live.seq = msg.seq;
  window.serverOffsetMs = Date.parse(msg.ts) - Date.now();  // server clock (scenario time in the demo) for timers
  if (msg.type === "resync") applyResync(msg.data);
  else if (msg.type === "tracks") {
    for (const f of msg.data.updated) upsertTrack(f);
    for (const id of msg.data.deleted) removeTrack(id);
  } else if (msg.type === "incident") {
    live.incidents.set(msg.data.id, msg.data);
    renderIncidents();
  } else if (msg.type === "asset") {
    upsertAsset(msg.data);
  } else if (msg.type === "order") {
    const o = msg.data.order || msg.data;
    if (o.open) live.orders.set(o.id, o);
    else live.orders.delete(o.id);
    live.allOrders.set(o.id, o);
    if (msg.data.alert) {
      addAlert(msg.ts, msg.data.alert);
      live.escalations.set(o.incident_id, { ts: msg.ts, alert: msg.data.alert, proposal: msg.data.proposal || null });
    }
  } else if (msg.type === "sar_plan") {
    showPlan(msg.data);
  } else if (msg.type === "coverage") {
    showGaps();
    const opened = msg.data.opened;
    if (msg.data.alert) addAlert(msg.ts, () => t("alerts.coverage_gap", { gaps: opened.map(g => g.section + " " +
      t("common.km") + " " + fmtNumber(g.from_km, 0) + "–" + fmtNumber(g.to_km, 0)).join(", ") }));
  } else if (msg.type === "mission") {
    const m = msg.data;
    if (m.alert) addAlert(msg.ts, () => t("alerts.mission", { asset: m.asset_id, state: m.state }) +
      (m.refused ? " (" + m.refused + ")" : m.detail ? " (" + m.detail + ")" : ""));
  } else if (msg.type === "sensors") {
    // the sensor table is refreshed by pollSensors(); nothing else to do here
  }
  if (typeof incidentView !== "undefined") incidentView.onLive(msg);
}

function signedOut() { return !document.getElementById("login").hidden; }

function connectLive() {
  if (signedOut()) return;  // starts again after sign-in
  const ws = new WebSocket(wsUrl("/ws/live", { since: live.seq }));
  live.ws = ws;
  ws.onopen = () => { live.connected = true; live.retryMs = 500; live.lastMessageAt = Date.now(); pollHealth(); };
  ws.onmessage = ev => onLive(JSON.parse(ev.data));
  ws.onclose = ev => {
    live.connected = false;
    if (ev.code === 4401) { showLogin(t("login.expired")); return; }
    if (ev.code === 4403) { showLogin(t("login.wrong_role")); return; }
    setStatus(false, t("status.down_reconnecting"));
    setTimeout(connectLive, live.retryMs);
    live.retryMs = Math.min(live.retryMs * 2, 10000);
  };
}

onLanguageChange(() => {
  renderIncidents();
  renderAlerts();
  for (const tr of live.tracks.values()) tr.marker.setTooltipContent(esc(trackLabel(tr.feature.properties)));
  for (const x of live.assets.values()) upsertAsset(x.asset);
  renderLegend();
});

setInterval(() => {
  for (const el of document.querySelectorAll("#incidents .timer")) el.textContent = ageText(el.dataset.since);
}, 1000);
// The server sends sensor health every 5 s: a silent socket (network dropped without a close)
// is treated as down, so the page says so and resumes by seq instead of freezing.
setInterval(() => {
  if (live.connected && Date.now() - live.lastMessageAt > 12000) {
    const dead = live.ws;
    dead.onclose = null;  // a dropped network may never finish the close handshake: do not wait for it
    dead.onmessage = null;
    dead.close();
    live.connected = false;
    setStatus(false, t("status.down_no_data"));
    setTimeout(connectLive, live.retryMs);
  }
}, 2000);

// Called by app.js once the labels are loaded and the operator is signed in.
function startLive() { connectLive(); }
