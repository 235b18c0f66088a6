// Labels in English, Romanian and Ukrainian from /static/i18n/<lang>.json, and the display of
// times (local time of the river, Europe/Chisinau = Europe/Kyiv), distances and speeds.
// The server speaks UTC and SI units; only this file turns them into what people read.
"use strict";

const LOCALES = { en: "en-GB", ro: "ro-MD", uk: "uk-UA" };
const TIME_ZONE = "Europe/Chisinau";
const KN_PER_MPS = 3600 / 1852;
const i18n = { lang: "en", strings: {}, fallback: {}, listeners: [] };

// t(key, vars): the label in the current language, each {name} in it filled from vars.
function t(key, vars) {
  let s = i18n.strings[key] || i18n.fallback[key] || key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

async function fetchCatalogue(lang) {
  const res = await fetch("/static/i18n/" + lang + ".json");
  if (!res.ok) throw new Error("catalogue " + lang + ": " + res.status);
  return res.json();
}

// The language to start with: the user's, else the one chosen on this device, else the browser's.
function initialLanguage(userLang) {
  const browser = (navigator.language || "en").slice(0, 2);
  for (const l of [userLang, localStorage.getItem("dw.lang"), browser]) if (l in LOCALES) return l;
  return "en";
}

async function setLanguage(lang) {
  if (!(lang in LOCALES)) lang = "en";
  if (!Object.keys(i18n.fallback).length) i18n.fallback = await fetchCatalogue("en");
  i18n.strings = lang === "en" ? i18n.fallback : await fetchCatalogue(lang);
  i18n.lang = lang;
  localStorage.setItem("dw.lang", lang);
  document.documentElement.lang = lang;
  applyLabels(document);
  const select = document.getElementById("lang");
  if (select) select.value = lang;
  for (const fn of i18n.listeners) fn(lang);
}

// Static labels: data-i18n (text), data-i18n-title, data-i18n-placeholder, data-i18n-aria.
function applyLabels(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
  if (document.body.dataset.i18nTitle) document.title = t(document.body.dataset.i18nTitle);
}

function onLanguageChange(fn) { i18n.listeners.push(fn); }

function locale() { return LOCALES[i18n.lang]; }

function fmtNumber(x, digits, minDigits = digits) {
  return new Intl.NumberFormat(locale(), { minimumFractionDigits: minDigits, maximumFractionDigits: digits }).format(x);
}

// Server times are UTC ISO 8601; people read the river's local time.
function fmtTime(iso) {
  return new Intl.DateTimeFormat(locale(), { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit",
    second: "2-digit", hourCycle: "h23" }).format(new Date(iso));
}
function fmtDateTime(iso) {
  return new Intl.DateTimeFormat(locale(), { timeZone: TIME_ZONE, day: "numeric", month: "short",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }).format(new Date(iso));
}

function fmtDistance(m) {
  return m >= 1000 ? fmtNumber(m / 1000, 2) + " " + t("unit.km") : Math.round(m) + " " + t("unit.m");
}
function fmtSpeedKn(kn) {
  return fmtNumber(kn, 0) + " " + t("unit.kn") + " (" + fmtNumber(kn * 1.852, 0) + " " + t("unit.kmh") + ")";
}
function fmtSpeed(mps) { return fmtSpeedKn(mps * KN_PER_MPS); }
function fmtDuration(s) {
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.round(s % 60);
  return (h ? h + " " + t("unit.h") + " " : "") + m + " " + t("unit.min") + (h ? "" : " " + sec + " " + t("unit.s"));
}

function esc(s) { return String(s).replace(/[&<>"]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]); }

// The language picker (a <select id="lang">): saved per user when signed in, else on this device.
function bindLanguagePicker(saveForUser) {
  const select = document.getElementById("lang");
  select.value = i18n.lang;
  select.addEventListener("change", async () => {
    await setLanguage(select.value);
    if (saveForUser) saveForUser(select.value);
  });
}
