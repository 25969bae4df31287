// The handheld's offline outbox, in IndexedDB (through idb, served from /static/vendor/idb):
// scans judged on the handheld while the server could not be reached wait here, in the order
// they were read, until POST /api/scans/replay takes them; what the server answered about each
// is kept in the log, where a refused one stays an exception until the picker acknowledges it.
// Besides scans the outbox holds keyed writes of other endpoints (a count submitted offline),
// replayed in their place in the queue through their own endpoint.
// The same database keeps what the handheld needs to work offline: the last answers of the
// task screens' GETs, the warehouse snapshot (offline.js) and the session, which the service
// worker reads to replay the queue with no page open (sw.js). Every tab of the app and the
// worker share it; a change in one is announced to the others on a BroadcastChannel.

import { openDB } from "../vendor/idb/index.js";

const DB_NAME = "lotline";
const DB_VERSION = 1;
/** POST /api/scans/replay takes at most this many scans at once. */
export const REPLAY_BATCH = 200;
/** Replayed scans the log keeps for the queue sheet (exceptions are kept until acknowledged). */
const LOG_KEPT = 50;
const LOCK_NAME = "lotline-outbox-replay";

const changes = new EventTarget();
const channel = "BroadcastChannel" in self ? new BroadcastChannel("lotline-outbox") : null;
let database = null;

function db() {
  database ??= openDB(DB_NAME, DB_VERSION, {
    upgrade(upgrading) {
      // n: the order scans were queued in (one handheld's queue is replayed in that order).
      const outbox = upgrading.createObjectStore("outbox", { keyPath: "n", autoIncrement: true });
      outbox.createIndex("idempotencyKey", "body.idempotencyKey", { unique: true });
      const log = upgrading.createObjectStore("log", { keyPath: "idempotencyKey" });
      log.createIndex("at", "at");
      upgrading.createObjectStore("cache", { keyPath: "name" });
    },
  });
  return database;
}

function changed() {
  changes.dispatchEvent(new Event("change"));
  channel?.postMessage("change");
}
if (channel) channel.onmessage = () => changes.dispatchEvent(new Event("change"));

/** Call `listener()` whenever the outbox or the log changes, in this tab or another; returns
 * the function that stops it. */
export function onOutboxChange(listener) {
  changes.addEventListener("change", listener);
  return () => changes.removeEventListener("change", listener);
}

/**
 * Queue a scan body (a ScanIn with `offline: true` and `queuedAt`) for `username`; `effect`
 * is what the screen did with it optimistically ({taskId, binConfirmed} or {taskId, picked}),
 * so a screen reloaded offline shows it again. `sentAt`: when the handheld already tried to
 * send it (the answer was lost, so the server may have it). Asks the service worker for a
 * background sync.
 */
export async function queueScan(body, { username, effect = null, sentAt = null }) {
  await (await db()).add("outbox", { body, username, effect, sentAt });
  changed();
  requestSync();
}

/**
 * Queue a keyed write of another endpoint (POST `path` with `body`, which carries its
 * `idempotencyKey`), replayed after the scans queued before it. `done` ({code, message}) is
 * what the log says when the server accepts it.
 */
export async function queueWrite(path, body, { username, effect = null, done, sentAt = null }) {
  await (await db()).add("outbox", { write: { path, ...done }, body, username, effect, sentAt });
  changed();
  requestSync();
}

/** The scans (and writes) `username` queued that the server has not answered yet, oldest first. */
export async function pendingScans(username) {
  const all = await (await db()).getAll("outbox");
  return all.filter((entry) => entry.username === username);
}

/** What the server answered about replayed scans, newest first. */
export async function replayLog(username) {
  const all = await (await db()).getAllFromIndex("log", "at");
  // One batch's answers share `at`: the queue's order (n) breaks the tie.
  const mine = all.filter((entry) => entry.username === username);
  mine.sort((a, b) => (a.at === b.at ? (a.n ?? 0) - (b.n ?? 0) : a.at < b.at ? -1 : 1));
  return mine.reverse();
}

/** Refused replayed scans not acknowledged yet, oldest first. */
export async function openExceptions(username) {
  return (await replayLog(username)).filter((entry) => entry.verdict !== "accepted" && !entry.acknowledged).reverse();
}

export async function acknowledgeException(idempotencyKey) {
  const store = await db();
  const entry = await store.get("log", idempotencyKey);
  if (!entry) return;
  await store.put("log", { ...entry, acknowledged: true, acknowledgedAt: new Date().toISOString() });
  changed();
}

/** A value kept by name (a GET's last answer, the snapshot), or undefined. */
export async function cached(name) {
  return (await (await db()).get("cache", name))?.value;
}

/** A kept value with `at`, when it was kept (ms since the epoch), or undefined. */
export async function cachedEntry(name) {
  return (await db()).get("cache", name);
}

export async function keep(name, value) {
  await (await db()).put("cache", { name, value, at: Date.now() });
}

const SESSION = "session";

/** The signed-in session and the handheld's id, for the service worker (it has no
 * localStorage); session.js keeps it beside localStorage's. */
export function keepSession(session) {
  return keep(SESSION, session);
}

export async function forgetSession() {
  await (await db()).delete("cache", SESSION);
}

/**
 * Whether a queued entry's effect is missing from data the server answered at `asOf` (ms):
 * not when it was sent before then, since the server may have applied it already (its
 * answer lost, or a replay in flight); the replay's answers settle it either way.
 */
export function notYetOnServer(entry, asOf) {
  if (asOf === undefined || !entry.sentAt) return true;
  return Date.parse(entry.sentAt) > asOf;
}

function requestSync() {
  navigator.serviceWorker?.ready
    .then((registration) => registration.sync?.register("lotline-outbox"))
    .catch(() => {}); // no Background Sync here: online events and app start replay instead
}

/** The server could not be reached, or answered the whole batch with an error: try later. */
export class ReplayFailed extends Error {
  constructor(message, status = 0) {
    super(message);
    this.status = status;
  }
}

/**
 * Send `username`'s queued scans to POST /api/scans/replay, oldest first, in batches, until
 * none is left; each answered scan leaves the outbox for the log in one transaction. One tab
 * replays at a time (a Web Lock; where there is none, the idempotency keys still make a second
 * sending a replay of the first). Resolves to the log entries written; throws ReplayFailed
 * when the server could not be reached or refused the batch (nothing answered stays queued).
 */
export async function replayOutbox({ token, username, deviceId }) {
  const run = async () => {
    const written = [];
    for (;;) {
      const pending = await pendingScans(username);
      if (!pending.length) return written;
      if (pending[0].write) {
        written.push(await replayWrite(pending[0], token, username));
        continue;
      }
      const firstWrite = pending.findIndex((entry) => entry.write);
      const batch = pending.slice(0, firstWrite < 0 ? pending.length : firstWrite).slice(0, REPLAY_BATCH);
      await markSent(batch);
      let response;
      try {
        response = await fetch("/api/scans/replay", {
          method: "POST",
          headers: headersWith(token),
          body: JSON.stringify({ deviceId, scans: batch.map((entry) => entry.body) }),
          cache: "no-store",
        });
      } catch {
        throw new ReplayFailed("No connection to the server.");
      }
      const payload = await response.json().catch(() => null);
      if (!response.ok || !Array.isArray(payload?.results)) {
        throw new ReplayFailed(payload?.detail ?? `The server answered ${response.status}.`, response.status);
      }
      const answered = await settle(batch, payload.results, username);
      if (!answered.length) throw new ReplayFailed("The server answered none of the queued scans.", response.status);
      written.push(...answered);
    }
  };
  return navigator.locks ? navigator.locks.request(LOCK_NAME, run) : run();
}

function headersWith(token) {
  return {
    Accept: "application/json, application/problem+json",
    "Content-Type": "application/json",
    Authorization: `Bearer ${token}`,
  };
}

/** From now on the server may have these: screens stop adding their effects to fresh data. */
async function markSent(entries) {
  const sentAt = new Date().toISOString();
  const transaction = (await db()).transaction("outbox", "readwrite");
  for (const entry of entries) {
    entry.sentAt = sentAt;
    transaction.store.put(entry);
  }
  await transaction.done;
}

/** One queued write through its own endpoint; its answer to the log, like a scan's. A
 * refusal (4xx) is an exception; a network error or a 5xx leaves it queued. */
async function replayWrite(entry, token, username) {
  await markSent([entry]);
  let response;
  try {
    response = await fetch(entry.write.path, {
      method: "POST",
      headers: headersWith(token),
      body: JSON.stringify(entry.body),
      cache: "no-store",
    });
  } catch {
    throw new ReplayFailed("No connection to the server.");
  }
  const payload = await response.json().catch(() => null);
  if (response.status === 401 || response.status >= 500) {
    throw new ReplayFailed(payload?.detail ?? `The server answered ${response.status}.`, response.status);
  }
  const result = response.ok
    ? { status: response.status, scan: { verdict: "accepted", code: entry.write.code, message: entry.write.message } }
    : { status: response.status, problem: payload };
  const [logged] = await settle([entry], [{ idempotencyKey: entry.body.idempotencyKey, ...result }], username);
  return logged;
}

/**
 * The service worker's replay, with no page open: the session the pages kept in IndexedDB,
 * the same queue, order and bookkeeping as a page's replay. Resolves to the log entries
 * written (none when nobody is signed in); throws ReplayFailed as replayOutbox does.
 */
export async function replayKeptSession() {
  const session = await cached(SESSION);
  if (!session?.token || !session.user?.username) return [];
  if (session.expiresAt && Date.parse(session.expiresAt) <= Date.now()) return [];
  return replayOutbox({ token: session.token, username: session.user.username, deviceId: session.deviceId });
}

/** Each result's scan out of the outbox and into the log, atomically. */
async function settle(batch, results, username) {
  const byKey = new Map(results.map((result) => [result.idempotencyKey, result]));
  const at = new Date().toISOString();
  const transaction = (await db()).transaction(["outbox", "log"], "readwrite");
  const written = [];
  for (const entry of batch) {
    const result = byKey.get(entry.body.idempotencyKey);
    if (!result) continue;
    const scan = result.scan;
    const logged = {
      idempotencyKey: entry.body.idempotencyKey,
      n: entry.n,
      username,
      body: entry.body,
      status: result.status,
      replayed: Boolean(result.replayed),
      verdict: scan ? scan.verdict : "problem",
      code: scan ? scan.code : result.problem?.code ?? `http_${result.status}`,
      message: scan ? scan.message : result.problem?.detail ?? result.problem?.title ?? `The server answered ${result.status}.`,
      write: entry.write ? entry.write.path : undefined,
      at,
      acknowledged: false,
    };
    transaction.objectStore("outbox").delete(entry.n);
    transaction.objectStore("log").put(logged);
    written.push(logged);
  }
  await transaction.done;
  await trimLog(username);
  changed();
  return written;
}

/** Keep the last LOG_KEPT answers, and every exception not acknowledged. */
async function trimLog(username) {
  const log = await replayLog(username);
  const old = log.slice(LOG_KEPT).filter((entry) => entry.verdict === "accepted" || entry.acknowledged);
  if (!old.length) return;
  const transaction = (await db()).transaction("log", "readwrite");
  old.forEach((entry) => transaction.store.delete(entry.idempotencyKey));
  await transaction.done;
}
