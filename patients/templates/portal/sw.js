/* The portal's service worker (scope /portal/), served by patients/portal.py.
 * - The app shell (HTML, ES modules, CSS, the catalog, Chart.js, the manifest): cached on install, served from
 *   the cache first and refreshed in the background.
 * - The last-seen /me/, program, questionnaires and due list: network first, the cached copy without signal.
 * - Everything else (reports, history, trends, sign-in) goes to the network untouched; reports made without
 *   signal are kept by the app itself (IndexedDB) and sent later.
 */
"use strict";
const VERSION = "{{ version|escapejs }}";
const SHELL_CACHE = "portal-shell-" + VERSION;
const API_CACHE = "portal-api";
const SHELL = "{{ shell|escapejs }}";
const ASSETS = [{% for url in assets %}"{{ url|escapejs }}"{% if not forloop.last %}, {% endif %}{% endfor %}];
const API_KEPT = ["/api/v1/me/", "/api/v1/me/program/", "/api/v1/questionnaires/", "/api/v1/assessments/due/"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((k) => k.startsWith("portal-shell-") && k !== SHELL_CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

async function shellFirst(request, key) {
  const cache = await caches.open(SHELL_CACHE);
  const cached = await cache.match(key || request);
  const fresh = fetch(request).then((response) => {
    if (response.ok) { cache.put(key || request, response.clone()); }
    return response;
  });
  if (cached) {
    fresh.catch(() => null);
    return cached;
  }
  return fresh;
}

async function networkFirst(request) {
  const cache = await caches.open(API_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) {
      await cache.put(request, response.clone());
    } else if (response.status === 401 || response.status === 403) {
      await caches.delete(API_CACHE);  // signed out: nothing of the patient stays on the device
    }
    return response;
  } catch (error) {
    const cached = await cache.match(request);
    if (cached) { return cached; }
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") { return; }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate" && url.pathname.startsWith(SHELL)) {
    event.respondWith(shellFirst(request, SHELL));
  } else if (ASSETS.includes(url.pathname)) {
    event.respondWith(shellFirst(request));
  } else if (API_KEPT.includes(url.pathname) && !url.search) {
    event.respondWith(networkFirst(request));
  }
});

self.addEventListener("message", (event) => {
  if (event.data === "signed-out") {
    event.waitUntil(caches.delete(API_CACHE));
  }
});
