// The crew's phone: the current order with a sound and a visual alarm until answered, accept or
// decline, status reports, own position (GPS or set by hand) and the route to the target on a
// light map. Speaks /ws/crew (docs/crew-protocol.md): resumes with since/epoch; every message it
// sends has a client id and waits in localStorage until the server answers it, so nothing is
// lost while offline and a resend counts once.
"use strict";

const STATE_KEY = "dw.crew.state";
const OUTBOX_KEY = "dw.crew.outbox";
const SEEN_KEPT = 300;

function loadJSON(key, fallback) {
  try { return JSON.parse(localStorage.getItem(key)) || fallback; } catch (err) { return fallback; }
}
const freshState = () => ({ who: null, lastSeq: null, epoch: null, seen: [], order: null, answered: [],
                            pattern: null, asset: null, notice: null });
const crew = {
  state: { ...freshState(), ...loadJSON(STATE_KEY, {}) },
  outbox: loadJSON(OUTBOX_KEY, []),  // sent, not yet answered: resent after every reconnect
  ws: null,
  connected: false,
  retryMs: 500,
  serverOffsetMs: 0,
  position: null,       // {lon, lat, accuracy_m, time_ms, source}
  lastReported: null,   // the position last sent
  gpsWatch: null,
  tapMode: false,
  route: null,          // {r} or {error}
  feedback: null,       // () => text
  beeps: 0,
};

function saveState() { localStorage.setItem(STATE_KEY, JSON.stringify(crew.state)); }
function saveOutbox() { localStorage.setItem(OUTBOX_KEY, JSON.stringify(crew.outbox)); renderOutbox(); }
function resetLocal() {
  crew.state = freshState();
  crew.outbox = [];
  saveState();
  saveOutbox();
}

function uuid() {  // crypto.randomUUID needs a secure context; a phone on plain http has only this
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map(x => x.toString(16).padStart(2, "0")).join("");
  return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
}

// -- sound and alarm ----------------------------------------------------------------------------

const audio = { ctx: null, timer: null };

function unlockAudio() {  // browsers start sound only from a tap
  try {
    if (!audio.ctx) audio.ctx = new AudioContext();
    if (audio.ctx.state === "suspended") audio.ctx.resume();
  } catch (err) { console.warn("no sound:", err.message); }
}

function beep() {
  const ctx = audio.ctx;
  if (!ctx || ctx.state !== "running") return;
  const osc = ctx.createOscillator(), gain = ctx.createGain();
  osc.type = "square";
  osc.frequency.value = 880;
  gain.gain.value = 0.25;
  osc.connect(gain).connect(ctx.destination);
  osc.start();
  osc.stop(ctx.currentTime + 0.3);
  crew.beeps += 1;
  if (navigator.vibrate) navigator.vibrate(300);
}

// A new order rings until accepted or declined; a cancellation rings until seen (OK).
function alarm() {
  const s = crew.state;
  if (s.order && s.order.state === "sent" && !s.answered.includes(s.order.id)) {
    return { text: t("crew.alarm_new_order"), needsOk: false };
  }
  if (s.notice) {
    return { text: t("crew.alarm_cancelled", { order: s.notice.order_id, reason: s.notice.reason || "—" }), needsOk: true };
  }
  return null;
}

function renderAlarm() {
  const a = alarm();
  document.getElementById("alarm").hidden = !a;
  document.body.classList.toggle("alarming", !!a);
  document.getElementById("alarm-text").textContent = a ? a.text : "";
  document.getElementById("alarm-ok").hidden = !(a && a.needsOk);
  if (a && !audio.timer) { beep(); audio.timer = setInterval(beep, 1500); }
  if (!a && audio.timer) { clearInterval(audio.timer); audio.timer = null; }
}

// -- the socket ---------------------------------------------------------------------------------

let retryTimer = null;
function connectIn(ms) {
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, ms);
}

// One socket at a time; a new device says hello at once (else the server waits 2 s for one).
function connect() {
  if (crew.ws) return;
  const s = crew.state;
  const ws = new WebSocket(wsUrl("/ws/crew", s.lastSeq !== null ? { since: s.lastSeq, epoch: s.epoch } : {}));
  crew.ws = ws;
  ws.onopen = () => {
    if (s.lastSeq === null) ws.send(JSON.stringify({ type: "hello", last_seq: null, epoch: null }));
  };
  ws.onmessage = ev => onMessage(JSON.parse(ev.data));
  ws.onclose = ev => {
    if (crew.ws !== ws) return;  // dropped on purpose: already handled
    crew.ws = null;
    crew.connected = false;
    renderConnection();
    if (ev.code === 4401) { showLogin(t("crew.token_refused")); return; }
    if (ev.code === 4403) { showLogin(t("login.wrong_role")); return; }
    if (ev.code === 4400) { crew.state.lastSeq = null; saveState(); }
    connectIn(crew.retryMs);
    crew.retryMs = Math.min(crew.retryMs * 2, 10000);
  };
}

function dropConnection() {  // the network went: do not wait for a close that may never come
  const ws = crew.ws;
  crew.ws = null;
  crew.connected = false;
  if (ws) { ws.onmessage = null; ws.close(); }
  renderConnection();
  connectIn(crew.retryMs);
}

function onMessage(m) {
  crew.serverOffsetMs = Date.parse(m.ts) - Date.now();
  const s = crew.state;
  if (m.type === "hello") { onHello(m); return; }
  if ((s.lastSeq !== null && m.seq <= s.lastSeq) || s.seen.includes(m.id)) return;  // already handled
  try {
    (HANDLERS[m.type] || (() => console.warn("crew: unknown message", m.type)))(m.data, m);
  } finally {
    s.lastSeq = m.seq;
    s.seen.push(m.id);
    if (s.seen.length > SEEN_KEPT) s.seen.splice(0, s.seen.length - SEEN_KEPT);
    saveState();
    render();
  }
}

function onHello(m) {
  const s = crew.state, d = m.data;
  if (d.reset || (s.epoch !== null && s.epoch !== d.epoch)) {
    // another server run: its seqs start again, and answers about the old run's orders mean nothing
    crew.outbox = crew.outbox.filter(x => x.type === "position");
    saveOutbox();
    s.seen = [];
  }
  s.epoch = d.epoch;
  s.lastSeq = m.seq;
  s.asset = d.asset;
  if (d.open_order) {
    const same = s.order && s.order.id === d.open_order.id;
    s.order = { ...d.open_order, incident: same ? s.order.incident : null };
  } else if (s.order && s.order.open && !d.resumed) {
    s.order = null;  // closed while away; a resumed backlog says how, a new start does not
  }
  crew.connected = true;
  crew.retryMs = 500;
  saveState();
  for (const x of crew.outbox) transmit(x);
  if (crew.position && !crew.outbox.some(x => x.type === "position")) reportPosition();
  render();
  scheduleRoute();
}

function transmit(msg) {
  if (crew.connected && crew.ws && crew.ws.readyState === WebSocket.OPEN) crew.ws.send(JSON.stringify(msg));
}

// Keep it until answered; a newer position replaces an unsent older one.
function send(msg) {
  const m = { ...msg, id: uuid() };
  if (m.type === "position") crew.outbox = crew.outbox.filter(x => x.type !== "position");
  crew.outbox.push(m);
  saveOutbox();
  transmit(m);
  return m;
}

// The boat's status follows its order as on the server (orders.py): a closed order frees it.
const ORDER_ASSET_STATUS = { sent: "assigned", accepted: "assigned", en_route: "en_route", on_scene: "on_scene",
                             returning: "returning" };
function setOrder(o) {
  crew.state.order = o;
  if (crew.state.asset) crew.state.asset.status = o.open ? ORDER_ASSET_STATUS[o.state] : "available";
}

const HANDLERS = {
  order(d) {
    setOrder(d);
    crew.state.pattern = null;  // a cancellation notice stays until seen: the new order does not explain it
    crew.feedback = null;
    scheduleRoute();
  },
  order_update(d) {
    const s = crew.state;
    if (d.sar_pattern) {
      if (s.order && s.order.id === d.order_id) s.pattern = d.sar_pattern;
      return;
    }
    if (s.order && s.order.id === d.id) setOrder({ ...d, incident: s.order.incident });
  },
  cancel(d) {
    const s = crew.state;
    if (s.order && s.order.id === d.order_id) setOrder({ ...d.order, incident: s.order.incident });
    s.notice = { order_id: d.order_id, reason: d.reason, by: d.by };
  },
  ack(d) { settle(d.ref, () => t("crew.acked", { what: t("crew.msg_" + d.type) }), false, d); },
  error(d) { settle(d.ref, () => t("crew.refused", { error: d.message }), true, d); },
};

function settle(ref, text, isError, d) {
  const mine = crew.outbox.find(x => x.id === ref);
  if (!mine) return;  // another device's answer, or one already settled
  crew.outbox = crew.outbox.filter(x => x.id !== ref);
  saveOutbox();
  if (d.result && d.result.asset_status && crew.state.asset) crew.state.asset.status = d.result.asset_status;
  if (mine.type !== "position" || isError) crew.feedback = { text, isError };
}

// -- what the crew does -------------------------------------------------------------------------

function answer(type, extra) {
  const o = crew.state.order;
  if (!o) return;
  crew.state.answered.push(o.id);
  saveState();
  send({ type, order_id: o.id, ...extra });
  crew.feedback = { text: () => t("crew.sending", { what: t("crew.msg_" + type) }), isError: false };
  render();
}

function reportStatus(status) {
  const o = crew.state.order;
  const msg = { type: "status", status };
  if (o && o.open) msg.order_id = o.id;
  send(msg);
  crew.feedback = { text: () => t("crew.sending", { what: t("crew_status." + status) }), isError: false };
  render();
}

// -- rendering ------------------------------------------------------------------------------------

function renderConnection() {
  const el = document.getElementById("conn");
  el.textContent = crew.connected ? t("crew.connected") : session.token ? t("crew.disconnected") : t("crew.signed_out");
  el.className = "conn " + (crew.connected ? "ok" : "down");
  document.body.classList.toggle("offline", !crew.connected);
}

function renderOutbox() {
  const n = crew.outbox.length;
  document.getElementById("outbox").textContent = n ? t("crew.outbox", { n }) : "";
}

function renderOrder() {
  const s = crew.state, o = s.order;
  document.getElementById("no-order").hidden = !!o;
  document.getElementById("order-body").hidden = !o;
  const a = s.asset;
  document.getElementById("asset-name").textContent = a ? a.call_sign + " · " + a.id : t("crew.title");
  if (!o) return;
  const inc = o.incident;
  document.getElementById("order-title").textContent = (inc ? t("incident_type." + inc.type) + " · " : "") +
    t("crew.order_n", { id: o.id, incident: o.incident_id });
  const st = document.getElementById("order-state");
  st.textContent = t("order_state." + o.state);
  st.className = "state state-" + o.state;
  document.getElementById("order-times").textContent = t("crew.received", { time: fmtTime(o.created_at) }) +
    (o.state === "sent" ? " · " + t("crew.answer_by", { time: fmtTime(o.deadline) }) : "");
  document.getElementById("order-where").textContent = inc
    ? [inc.section ? inc.section + " " + t("common.km") + " " + fmtNumber(inc.river_km, 2) : "", inc.side || "",
       inc.lat.toFixed(5) + ", " + inc.lon.toFixed(5)].filter(Boolean).join(" · ") : "";
  document.getElementById("order-report").textContent = inc ? inc.title : "";  // as the server wrote it
  const r = crew.route;
  document.getElementById("order-route").textContent = !o.open || !r ? ""
    : r.error ? t("crew.no_route", { error: r.error })
    : t("crew.route", { eta: fmtDuration(r.r.eta_s), dist: fmtDistance(r.r.distance_m), speed: fmtSpeedKn(r.r.speed_kn) });
  document.getElementById("order-route").className = r && r.error ? "error" : "";
  const open = o.state === "sent" && !s.answered.includes(o.id);
  document.getElementById("answer").hidden = !open;
  if (!open) document.getElementById("decline-form").hidden = true;
}

function renderStatus() {
  const current = crew.state.asset ? crew.state.asset.status : null;
  for (const b of document.querySelectorAll("#status-buttons button")) {
    b.classList.toggle("current", b.dataset.status === current);
  }
}

function render() {
  renderConnection();
  renderOutbox();
  renderOrder();
  renderStatus();
  renderAlarm();
  renderMap();
  fitMap();
  const p = crew.position;
  document.getElementById("pos-text").textContent = p ? p.lat.toFixed(5) + ", " + p.lon.toFixed(5) + " ± " +
    fmtDistance(p.accuracy_m) + " (" + (p.source === "gps" ? t("crew.source_gps") : t("crew.source_manual")) + ")"
    : "—";
  const f = crew.feedback;
  const fb = document.getElementById("feedback");
  fb.textContent = f ? f.text() : "";
  fb.className = "feedback" + (f && f.isError ? " error" : "");
}

// -- wiring ---------------------------------------------------------------------------------------

function bindControls() {
  document.addEventListener("pointerdown", unlockAudio);
  document.getElementById("alarm").addEventListener("click", unlockAudio);
  document.getElementById("alarm-ok").addEventListener("click", () => {
    crew.state.notice = null;
    saveState();
    render();
  });
  document.getElementById("accept").addEventListener("click", () => answer("accept", {}));
  document.getElementById("decline").addEventListener("click", () => {
    document.getElementById("decline-form").hidden = false;
    document.getElementById("decline-reason").focus();
  });
  document.getElementById("decline-cancel").addEventListener("click", () => {
    document.getElementById("decline-form").hidden = true;
  });
  document.getElementById("decline-form").addEventListener("submit", ev => {
    ev.preventDefault();
    const reason = document.getElementById("decline-reason").value.trim();
    if (reason) answer("decline", { reason });
  });
  for (const b of document.querySelectorAll("#status-buttons button")) {
    b.addEventListener("click", () => reportStatus(b.dataset.status));
  }
  document.getElementById("gps").addEventListener("change", ev => (ev.target.checked ? startGps() : stopGps()));
  document.getElementById("tap-btn").addEventListener("click", () => {
    crew.tapMode = !crew.tapMode;
    document.getElementById("tap-btn").classList.toggle("active", crew.tapMode);
  });
  map.on("click", e => {
    if (!crew.tapMode) return;
    crew.tapMode = false;
    document.getElementById("tap-btn").classList.remove("active");
    manualPosition(e.latlng.lat, e.latlng.lng);
  });
  document.getElementById("manual-form").addEventListener("submit", ev => {
    ev.preventDefault();
    const num = id => parseFloat(document.getElementById(id).value.replace(",", "."));
    manualPosition(num("manual-lat"), num("manual-lon"));
  });
  document.getElementById("logout").addEventListener("click", resetLocal);
  document.getElementById("token-btn").addEventListener("click", () => {
    const token = document.getElementById("login-token").value.trim();
    if (!token) return;
    unlockAudio();
    localStorage.setItem(session.key, token);
    localStorage.removeItem(session.userKey);
    signedIn("token:" + token.slice(-8));
  });
  // The browser knows before the socket does: go down at once, come back at once.
  window.addEventListener("offline", dropConnection);
  window.addEventListener("online", () => { if (!crew.connected) { crew.retryMs = 500; dropConnection(); } });
  // No message for a while may be a silent dead socket: /api/health answers only if the server is reachable.
  setInterval(async () => {
    if (!crew.connected) return;
    try {
      const ctl = new AbortController();
      setTimeout(() => ctl.abort(), 5000);
      const res = await fetch("/api/health", { signal: ctl.signal, cache: "no-store" });
      if (!res.ok) throw new Error(res.statusText);
    } catch (err) { dropConnection(); }
  }, 10000);
  onLanguageChange(render);
}

// Signed in again as the same user or with the same token: what is queued is still to be sent.
// Someone else: the previous crew's state (its stream position, its unsent answers) goes.
function signedIn(who) {
  if (crew.state.who !== who) resetLocal();
  crew.state.who = who;
  saveState();
  document.getElementById("login").hidden = true;
  document.body.classList.remove("signed-out");
  start();
}

async function start() {
  try {
    const user = await restoreUser(true);
    if (user && user.language && user.language !== i18n.lang) await setLanguage(user.language);
  } catch (err) {
    return;  // the login form is shown
  }
  if (!session.token) { showLogin(""); return; }
  document.getElementById("logout").hidden = false;
  loadLayers();
  connect();
  if (document.getElementById("gps").checked) startGps();
  render();
}

async function boot() {
  await setLanguage(initialLanguage());
  bindLogin(user => { unlockAudio(); signedIn("user:" + user.username); });
  bindLanguagePicker(saveUserLanguage);
  bindControls();
  render();
  start();
}

boot();
