// Incident detail (a click on an incident in the list): its data, the boats of both agencies
// ranked by time to it with their routes on the map and one-click dispatch, its orders followed
// live (with the alert and the next proposed asset when one escalates), and the SAR plan button.
"use strict";

const AGENCY_COLOUR = { MD: "#0d47a1", UA: "#f9a825" };
const incidentView = {
  id: null,
  recs: null,   // the last /recommendations answer for this incident
  layer: L.layerGroup().addTo(map),
  message: null,  // () => text of the last action's outcome
  states: new Map(),  // order id -> state last seen: a change of state changes the ranking (busy, free again)
  onLive(msg) {
    if (this.id === null) return;
    if (msg.type === "resync" || (msg.type === "incident" && msg.data.id === this.id)) renderIncidentData();
    const o = msg.type === "order" ? msg.data.order || msg.data : null;
    if (msg.type === "resync" || (o && o.incident_id === this.id)) renderIncidentOrders();
    if (o && o.incident_id === this.id && this.states.get(o.id) !== o.state) {
      this.states.set(o.id, o.state);  // (an order is also sent again with a new ETA on each position report)
      loadRecommendations();
    }
  },
};

function operatorName() { return session.user ? session.user.username : "operator"; }
function callSign(assetId) {
  const x = live.assets.get(assetId);
  return x ? x.asset.call_sign + " (" + assetId + ")" : assetId;
}

async function openIncident(id) {
  incidentView.id = id;
  incidentView.recs = null;
  incidentView.message = null;
  incidentView.layer.clearLayers();
  document.getElementById("detail").hidden = false;
  document.getElementById("panel").scrollTop = 0;
  renderIncidents();  // marks the selected one
  renderIncidentData();
  renderIncidentOrders();
  renderRecommendations();
  try {
    for (const o of await api("/api/orders")) live.allOrders.set(o.id, o);
    renderIncidentOrders();
  } catch (err) { showDetailMessage(() => err.message, true); }
  await loadRecommendations();
}

function closeIncident() {
  incidentView.id = null;
  incidentView.layer.clearLayers();
  document.getElementById("detail").hidden = true;
  renderIncidents();
}

function showDetailMessage(text, isError) {
  incidentView.message = text && { text, isError };
  const el = document.getElementById("detail-msg");
  el.textContent = text ? text() : "";
  el.className = isError ? "error" : "";
}

function renderIncidentData() {
  const i = live.incidents.get(incidentView.id);
  if (!i) return;
  document.getElementById("detail-title").textContent = i.id + " · " + t("incident_type." + i.type);
  const rows = [
    [t("detail.impact"), t("impact." + i.impact)],
    [t("detail.sar_phase"), i.sar_phase ? t("sar_phase." + i.sar_phase) : "—"],
    [t("detail.status"), t("incident_status." + i.status)],
    [t("detail.opened"), fmtDateTime(i.opened_at)],
    [t("detail.updated"), fmtDateTime(i.updated_at)],
    [t("locate.position"), i.lat.toFixed(5) + ", " + i.lon.toFixed(5)],
    [t("locate.river_km"), i.river_km != null ? (i.section || "") + " " + fmtNumber(i.river_km, 2) : "—"],
    [t("locate.side"), i.side || "—"],
    [t("detail.notify"), (i.agencies_to_notify || []).join(" + ")],
    [t("detail.report"), i.title || "—"],
  ];
  document.getElementById("detail-data").innerHTML =
    rows.map(([k, v]) => "<dt>" + esc(k) + "</dt><dd>" + esc(v) + "</dd>").join("");
  document.getElementById("detail-data").dataset.opened = i.opened_at;
  document.getElementById("sar-plan-btn").hidden = !(i.type === "person_in_water" && i.status === "open");
}

function renderIncidentOrders() {
  const list = document.getElementById("detail-orders");
  const orders = [...live.allOrders.values()].filter(o => o.incident_id === incidentView.id)
    .sort((a, b) => b.created_at.localeCompare(a.created_at));
  const escalation = live.escalations.get(incidentView.id);
  let html = orders.map(o => "<li class=\"order\" data-id=\"" + esc(o.id) + "\" data-state=\"" + esc(o.state) + "\">" +
    "<b>" + esc(callSign(o.asset_id)) + "</b> <span class=\"state state-" + esc(o.state) + "\">" +
    esc(t("order_state." + o.state)) + "</span><br><small>" + esc(o.id) + " · " +
    esc(t("detail.order_sent", { time: fmtTime(o.created_at) })) +
    (o.state === "sent" ? " · " + esc(t("detail.answer_by", { time: fmtTime(o.deadline) })) : "") +
    (o.eta_s != null ? " · " + esc(t("recs.eta")) + " " + esc(fmtDuration(o.eta_s)) : "") + "</small>" +
    (o.open ? " <button type=\"button\" class=\"small cancel\" data-order=\"" + esc(o.id) + "\">" +
      esc(t("detail.cancel")) + "</button>" : "") + "</li>").join("");
  if (escalation) {
    const p = escalation.proposal;
    html = "<li class=\"escalation\"><b>" + esc(fmtTime(escalation.ts)) + "</b> " + esc(escalation.alert) + "<br>" +
      (p ? esc(t("detail.proposed_next", { asset: p.call_sign + " (" + p.asset_id + ", " + p.agency + ")",
        eta: p.eta_s != null ? fmtDuration(p.eta_s) : "—" })) +
        " <button type=\"button\" class=\"dispatch\" data-asset=\"" + esc(p.asset_id) + "\">" + esc(t("recs.dispatch")) +
        "</button>" : esc(t("detail.no_proposal"))) + "</li>" + html;
  }
  list.innerHTML = html || "<li class=\"muted\">" + esc(t("detail.no_orders")) + "</li>";
}

async function loadRecommendations() {
  const id = incidentView.id;
  try {
    const recs = await api("/api/incidents/" + encodeURIComponent(id) + "/recommendations?routes=3");
    if (incidentView.id !== id) return;
    incidentView.recs = recs;
  } catch (err) {
    if (incidentView.id === id) showDetailMessage(() => err.message, true);
  }
  renderRecommendations();
}

function renderRecommendations() {
  const body = document.querySelector("#recs tbody");
  const recs = incidentView.recs;
  incidentView.layer.clearLayers();
  if (!recs) { body.innerHTML = "<tr><td colspan=\"4\" class=\"muted\">" + esc(t("common.loading")) + "</td></tr>"; return; }
  body.innerHTML = recs.recommendations.map(r => "<tr class=\"rec" + (r.proposed ? " proposed" : "") +
    (r.eligible ? "" : " ineligible") + "\" data-asset=\"" + esc(r.asset_id) + "\"><td>" +
    (r.proposed ? "<span class=\"star\" title=\"" + esc(t("recs.proposed")) + "\">★</span> " : "") +
    esc(r.call_sign) + " <small>" + esc(r.asset_id) + " · " + esc(t("kind." + r.kind)) + "</small></td><td>" +
    (r.eta_s != null ? esc(fmtDuration(r.eta_s)) + (r.distance_m != null ? "<br><small>" +
      esc(fmtDistance(r.distance_m)) + "</small>" : "") : "—") + "</td><td>" + esc(r.agency) + "</td><td>" +
    (r.eligible ? "<button type=\"button\" class=\"dispatch\" data-asset=\"" + esc(r.asset_id) + "\">" +
      esc(t("recs.dispatch")) + "</button>" : "<small class=\"reason\">" + esc(r.reason) + "</small>") +
    "</td></tr>").join("");
  for (const r of recs.recommendations) {
    if (!r.route.length) continue;
    L.polyline(r.route.map(c => [c[1], c[0]]), { color: AGENCY_COLOUR[r.agency] || "#333",
      weight: r.proposed ? 5 : 3, opacity: r.proposed ? 0.9 : 0.6, dashArray: r.proposed ? null : "8 6" })
      .bindTooltip(esc(r.call_sign + " · " + (r.eta_s != null ? fmtDuration(r.eta_s) : "—"))).addTo(incidentView.layer);
    if (r.intercept) {
      L.circleMarker([r.intercept.lat, r.intercept.lon], { radius: 4, color: AGENCY_COLOUR[r.agency], fillOpacity: 1 })
        .bindTooltip(esc(t("recs.intercept", { asset: r.call_sign, time: fmtTime(r.intercept.time) })))
        .addTo(incidentView.layer);
    }
  }
}

async function dispatchAsset(assetId) {
  const id = incidentView.id;
  try {
    const order = await api("/api/incidents/" + encodeURIComponent(id) + "/dispatch",
      { body: { asset_id: assetId, by: operatorName() } });
    live.allOrders.set(order.id, order);
    live.escalations.delete(id);
    showDetailMessage(() => t("detail.dispatched", { asset: callSign(assetId) }), false);
    renderIncidentOrders();
  } catch (err) {
    if (!(err instanceof Unauthorized)) showDetailMessage(() => err.message, true);
  }
  await loadRecommendations();
}

async function cancelOrder(orderId) {
  try {
    const order = await api("/api/orders/" + encodeURIComponent(orderId) + "/cancel",
      { body: { by: operatorName(), reason: t("detail.cancel_reason") } });
    live.allOrders.set(order.id, order);
    renderIncidentOrders();
  } catch (err) {
    if (!(err instanceof Unauthorized)) showDetailMessage(() => err.message, true);
  }
  await loadRecommendations();
}

async function requestSarPlan() {
  const id = incidentView.id;
  showDetailMessage(() => t("detail.plan_working"), false);
  try {
    const plan = await api("/api/incidents/" + encodeURIComponent(id) + "/sar-plan", { body: {} });
    showDetailMessage(() => t("detail.plan_made", { n: plan.assignments.length }), false);
  } catch (err) {
    if (!(err instanceof Unauthorized)) showDetailMessage(() => err.message, true);
  }
}

document.getElementById("detail").addEventListener("click", ev => {
  const b = ev.target.closest("button");
  if (!b) return;
  if (b.classList.contains("dispatch")) { b.disabled = true; dispatchAsset(b.dataset.asset); }
  else if (b.classList.contains("cancel")) { b.disabled = true; cancelOrder(b.dataset.order); }
  else if (b.id === "sar-plan-btn") requestSarPlan();
  else if (b.id === "detail-close") closeIncident();
});

onLanguageChange(() => {
  if (incidentView.id === null) return;
  renderIncidentData();
  renderIncidentOrders();
  renderRecommendations();
  const m = incidentView.message;
  showDetailMessage(m && m.text, m && m.isError);
});
