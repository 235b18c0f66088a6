// Sign-in shared by both pages. The bearer token lives in localStorage under the page's key
// (<body data-token-key>): sent with every API call and as ?token= on websockets. A 401 shows
// the login form again. A server without users ignores the token, so the pages work either way.
"use strict";

const session = {
  key: document.body.dataset.tokenKey,
  user: null,  // {username, role, agency, asset_id, language} once signed in with a password
  get token() { return localStorage.getItem(this.key); },
  get userKey() { return this.key + ".user"; },
};

class Unauthorized extends Error {}

function detailText(detail) {
  if (Array.isArray(detail)) return detail.map(d => d.msg || d.message || JSON.stringify(d)).join("; ");
  return detail ? String(detail) : "";
}

// fetch + JSON with the token; throws Error(detail) on 4xx/5xx, Unauthorized (after showing the form) on 401.
async function api(url, opts = {}) {
  const headers = {};
  if (session.token) headers.Authorization = "Bearer " + session.token;
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(url, { method: opts.method || (opts.body !== undefined ? "POST" : "GET"), headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const body = await res.json().catch(() => ({ detail: res.statusText }));
  if (res.status === 401 && !opts.keepSession) {
    showLogin(session.token ? t("login.expired") : "");  // a first visit needs no explanation
    throw new Unauthorized(detailText(body.detail) || "401");
  }
  if (!res.ok) {
    const err = new Error(detailText(body.detail) || res.status + " " + res.statusText);
    err.status = res.status;
    throw err;
  }
  return body;
}

function wsUrl(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== null && v !== undefined) q.set(k, v);
  if (session.token) q.set("token", session.token);
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const qs = q.toString();
  return proto + "//" + location.host + path + (qs ? "?" + qs : "");
}

// Who is signed in, checked with the server (a 401 shows the form); null without a user's token.
// ``userTokensOnly`` (the crew page): a token without a stored user is a boat's crew token, not a user's.
async function restoreUser(userTokensOnly) {
  const stored = localStorage.getItem(session.userKey);
  if (userTokensOnly && !stored) return null;  // no token, or a boat's crew token: the socket decides
  // without a token this asks whether the server has users at all: 401 (the form) or 404 (no users)
  try {
    session.user = await api("/api/auth/me");
  } catch (err) {
    if (err instanceof Unauthorized) throw err;
    session.user = stored ? JSON.parse(stored) : null;  // the server cannot say now: trust the sign-in
  }
  if (session.user) localStorage.setItem(session.userKey, JSON.stringify(session.user));
  return session.user;
}

function showLogin(message) {
  localStorage.removeItem(session.key);
  localStorage.removeItem(session.userKey);
  session.user = null;
  const box = document.getElementById("login");
  box.hidden = false;
  document.body.classList.add("signed-out");
  document.getElementById("login-error").textContent = message || "";
  document.getElementById("login-user").focus();
}

// The form: POST /api/auth/login; on success keep the token and start the page again with it.
function bindLogin(onSignedIn) {
  document.getElementById("login-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    const out = document.getElementById("login-error");
    out.textContent = "";
    const username = document.getElementById("login-user").value.trim();
    const password = document.getElementById("login-password").value;
    let res;
    try {
      res = await fetch("/api/auth/login", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username, password }) });
    } catch (err) {
      out.textContent = t("login.offline");
      return;
    }
    const body = await res.json().catch(() => ({}));
    if (res.status === 404) { out.textContent = t("login.unavailable"); return; }
    if (!res.ok) { out.textContent = detailText(body.detail) || t("login.failed"); return; }
    localStorage.setItem(session.key, body.token);
    localStorage.setItem(session.userKey, JSON.stringify(body.user));
    if (body.user && body.user.language) localStorage.setItem("dw.lang", body.user.language);
    onSignedIn(body.user);
  });
  const logout = document.getElementById("logout");
  logout.hidden = !session.token;
  logout.addEventListener("click", async () => {
    try { await api("/api/auth/logout", { body: {}, keepSession: true }); } catch (err) { /* signing out anyway */ }
    localStorage.removeItem(session.key);
    localStorage.removeItem(session.userKey);
    location.reload();
  });
}

// The user's language is kept on the server when signed in (PATCH /api/auth/me).
async function saveUserLanguage(lang) {
  if (!session.user) return;
  try {
    const saved = await api("/api/auth/me", { method: "PATCH", body: { language: lang } });
    session.user = { ...session.user, ...saved, language: lang };
    localStorage.setItem(session.userKey, JSON.stringify(session.user));
  } catch (err) {
    console.warn("language not saved on the server:", err.message);
  }
}
