// The lotline service worker: precaches the app shell so the handheld opens with no network.
//
// Served at /sw.js by backend/web/pwa.py, which writes two lines before this file:
//   SHELL_VERSION  a hash of every precached file, so any change to the shell is a new worker
//   SHELL_FILES    the URLs to precache ("/" and the files under /static/ the shell needs)
// API calls (/api/, /ws, /schema, /health) are never intercepted, let alone cached: the
// server is the only truth about lots, and a cached answer about a held lot would be a lie.
// An ES module worker (main.js registers it with type "module"): it imports the outbox's
// own replay, so a replay with no page open is the pages' replay, not a copy of it.
/* global SHELL_VERSION, SHELL_FILES */

import { replayKeptSession } from "/static/js/outbox.js";

const CACHE_PREFIX = "lotline-shell-";
const CACHE_NAME = CACHE_PREFIX + SHELL_VERSION;
const PASS_THROUGH = [/^\/api\//, /^\/ws(\/|$)/, /^\/schema/, /^\/health$/];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE_NAME)
      .then((cache) => cache.addAll(SHELL_FILES.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names
            .filter((name) => name.startsWith(CACHE_PREFIX) && name !== CACHE_NAME)
            .map((name) => caches.delete(name)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (PASS_THROUGH.some((pattern) => pattern.test(url.pathname))) return;

  if (request.mode === "navigate") {
    // Network first so a new release shows at once; the cached shell when offline.
    event.respondWith(fetch(request).catch(() => caches.match("/", { cacheName: CACHE_NAME })));
    return;
  }
  if (SHELL_FILES.includes(url.pathname)) {
    event.respondWith(
      caches.match(request, { cacheName: CACHE_NAME }).then((hit) => hit || fetch(request)),
    );
  }
});

// Background sync (Chromium): the outbox asks for a "lotline-outbox" sync when it queues a
// scan; when the browser sees the network back it wakes this worker. An open page replays
// itself (it waits for the live channel first and shows the report), so the worker only asks
// it to; with none open the worker replays the queue itself, as the signed-in user the pages
// kept in IndexedDB. A replay that fails rejects the sync, and the browser tries it again
// later with its own backoff.
self.addEventListener("sync", (event) => {
  if (event.tag !== "lotline-outbox") return;
  event.waitUntil(replayQueue());
});

async function replayQueue() {
  const windows = await self.clients.matchAll({ type: "window" });
  if (windows.length) {
    windows.forEach((client) => client.postMessage({ type: "lotline:replay" }));
    return;
  }
  await replayKeptSession();
}
