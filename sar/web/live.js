// Live picture over /ws/live: tracks with tails, incidents with running timers, sensor health.
// Resumes by seq after a reconnect; says plainly when it is disconnected.
"use strict";

const live = {
  seq: null,
  tracks: new Map(),      // id -> {marker, tail, feature}
  incidents: new Map(),   // id -> incident
  layer: L.layerGroup().addTo(map),
  incidentLayer: L.layerGroup().addTo(map),
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
  return who + " · " + p.class + " · " + (p.speed_mps * MPS_TO_KN).toFixed(1) + " kn" +
    (p.cooperative ? "" : " · no AIS") + (p.river_km != null ? " · km " + p.river_km.toFixed(2) + " " + (p.side || "") : "");
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
  list.innerHTML = open.length ? "" : "<li class=\"muted\">no open incidents</li>";
  live.incidentLayer.clearLayers();
  for (const i of open) {
    const li = document.createElement("li");
    li.className = "incident impact-" + i.impact;
    li.dataset.id = i.id;
    li.innerHTML = "<b>" + esc(i.id) + "</b> " + esc(i.type.replace(/_/g, " ")) +
      (i.sar_phase ? " · <span class=\"phase\">" + esc(i.sar_phase.toUpperCase()) + "</span>" : "") +
      " <span class=\"timer\" data-since=\"" + esc(i.opened_at) + "\">" + ageText(i.opened_at) + "</span><br>" +
      "<small>" + esc(i.title || "") + (i.river_km != null ? " · km " + Number(i.river_km).toFixed(2) : "") +
      " · notify " + esc((i.agencies_to_notify || []).join("+")) + "</small>";
    li.addEventListener("click", () => map.setView([i.lat, i.lon], Math.max(map.getZoom(), 14)));
    list.appendChild(li);
    L.circleMarker([i.lat, i.lon], { radius: 14, color: i.impact === "high" ? "#d50000" : "#ff9100",
      weight: 3, fill: false, dashArray: "4 3", interactive: false }).addTo(live.incidentLayer);
  }
}

function applyResync(d) {
  for (const id of [...live.tracks.keys()]) removeTrack(id);
  for (const f of d.tracks.features) upsertTrack(f);
  live.incidents.clear();
  for (const i of d.incidents) live.incidents.set(i.id, i);
  renderIncidents();
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
  } else if (msg.type === "sensors") {
    // the sensor table is refreshed by pollSensors(); nothing else to do here
  }
}

function connectLive() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(proto + "//" + location.host + "/ws/live" + (live.seq !== null ? "?since=" + live.seq : ""));
  live.ws = ws;
  ws.onopen = () => { live.connected = true; live.retryMs = 500; live.lastMessageAt = Date.now(); pollHealth(); };
  ws.onmessage = ev => onLive(JSON.parse(ev.data));
  ws.onclose = () => {
    live.connected = false;
    setStatus(false, "DISCONNECTED — reconnecting");
    setTimeout(connectLive, live.retryMs);
    live.retryMs = Math.min(live.retryMs * 2, 10000);
  };
}

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
    setStatus(false, "DISCONNECTED — no data, reconnecting");
    setTimeout(connectLive, live.retryMs);
  }
}, 2000);
connectLive();
