// Working without the server: whether the handheld is offline, the warehouse snapshot it
// checks scans against meanwhile (GET /api/offline/snapshot, kept in IndexedDB, refreshed on
// sign-in, on reconnect and every few minutes), the checks themselves, and the replay of the
// outbox (outbox.js) when the server is back: after the live channel has caught up (holds
// placed during the outage arrive first), on app start, on the `online` event and when the
// service worker's background sync asks, with exponential backoff while the network fails.
// The top bar shows the queue: scans waiting, and replayed scans the server refused, which
// the picker reads and acknowledges in the queue sheet.

import { SIGNED_OUT_EVENT } from "./api.js";
import { h } from "./dom.js";
import { signal } from "./feedback.js";
import { liveCaughtUp } from "./live.js";
import {
  acknowledgeException,
  cached,
  keep,
  onOutboxChange,
  openExceptions,
  pendingScans,
  queueScan,
  replayLog,
  replayOutbox,
} from "./outbox.js";
import { deviceId } from "./session.js";

const WAREHOUSE_KEY = "lotline.warehouse";
const SNAPSHOT_EVERY_MS = 5 * 60_000;
const BACKOFF_MS = [1000, 2000, 4000, 8000, 16000, 30000, 60000];
/** Fired on window after a replay, with {results} (the log entries written). */
export const REPLAYED_EVENT = "lotline:replayed";

const HOLD_WORDS = { hold: "on hold", quarantine: "in quarantine", recalled: "recalled", expired: "expired" };

let running = null;
let snapshotIndex = null;

/** True when the handheld says it has no network: scans go to the outbox without trying. */
export function isOffline() {
  return navigator.onLine === false;
}

/** Start the offline machinery for a signed-in session (main.js, like startLive). */
export function startOffline(session) {
  if (running?.token === session.token) return;
  stopOffline();
  running = offlineSession(session);
}

export function stopOffline() {
  running?.stop();
  running = null;
}

/** Replay the outbox now (after the live channel caught up), e.g. from a button. */
export function replayNow() {
  running?.replaySoon(0);
}

function offlineSession(session) {
  const username = session.user?.username;
  let stopped = false;
  let timer = null;
  let attempts = 0;
  let replaying = null;

  async function refreshSnapshot() {
    const warehouse = localStorage.getItem(WAREHOUSE_KEY);
    if (!warehouse || isOffline()) return;
    const name = `snapshot ${warehouse}`;
    const known = await cached(name);
    const headers = { Accept: "application/json", Authorization: `Bearer ${session.token}` };
    if (known?.etag) headers["If-None-Match"] = known.etag;
    let response;
    try {
      response = await fetch(`/api/offline/snapshot?warehouse=${encodeURIComponent(warehouse)}`, { headers, cache: "no-store" });
    } catch {
      return;
    }
    if (response.status === 304) {
      document.body.dataset.snapshot = known.snapshot.generatedAt;
      return;
    }
    if (!response.ok) return;
    const snapshot = await response.json();
    await keep(name, { etag: response.headers.get("ETag"), snapshot });
    snapshotIndex = null;
    // When the handheld last had the warehouse as the server saw it (the tests wait on it).
    document.body.dataset.snapshot = snapshot.generatedAt;
  }

  /** Replay after `delay` ms; a replay already on its way is not started twice. */
  function replaySoon(delay) {
    clearTimeout(timer);
    timer = setTimeout(replay, delay);
  }

  async function replay() {
    if (stopped || replaying) return;
    if (isOffline()) return; // the online event starts it again
    replaying = (async () => {
      if (!(await pendingScans(username)).length) return;
      await liveCaughtUp();
      let results;
      try {
        results = await replayOutbox({ token: session.token, username, deviceId: deviceId() });
      } catch (failure) {
        if (failure.status === 401) {
          // The server no longer takes this token: sign in again; the queue waits for this user.
          window.dispatchEvent(new CustomEvent(SIGNED_OUT_EVENT));
          return;
        }
        const delay = BACKOFF_MS[Math.min(attempts, BACKOFF_MS.length - 1)];
        attempts += 1;
        replaySoon(delay * (0.75 + Math.random() / 2));
        return;
      }
      attempts = 0;
      if (results.length) report(results);
    })();
    try {
      await replaying;
    } finally {
      replaying = null;
    }
  }

  const online = () => {
    attempts = 0;
    replaySoon(0);
    refreshSnapshot();
  };
  const fromWorker = (event) => event.data?.type === "lotline:replay" && replaySoon(0);
  window.addEventListener("online", online);
  window.addEventListener("lotline:live-welcome", refreshSnapshot);
  navigator.serviceWorker?.addEventListener("message", fromWorker);
  const every = setInterval(refreshSnapshot, SNAPSHOT_EVERY_MS);
  refreshSnapshot();
  replaySoon(0);

  return {
    token: session.token,
    replaySoon,
    stop() {
      stopped = true;
      clearTimeout(timer);
      clearInterval(every);
      window.removeEventListener("online", online);
      window.removeEventListener("lotline:live-welcome", refreshSnapshot);
      navigator.serviceWorker?.removeEventListener("message", fromWorker);
    },
  };
}

/** What a replay did, on screen at once (never a silent success or loss), and to the views. */
function report(results) {
  const accepted = results.filter((entry) => entry.verdict === "accepted").length;
  const refused = results.length - accepted;
  const toast = document.getElementById("replay-report") ?? document.body.appendChild(
    h("div", { class: "replay-report", id: "replay-report", role: "status" }));
  toast.dataset.accepted = accepted;
  toast.dataset.refused = refused;
  toast.className = `replay-report${refused ? " refused" : ""}`;
  toast.replaceChildren(
    h("p", {}, `${results.length} queued ${results.length === 1 ? "scan" : "scans"} sent: ${accepted} accepted` +
      (refused ? `, ${refused} refused` : "") + "."),
    refused ? h("button", { type: "button", id: "replay-report-open", onClick: () => { toast.hidden = true; openQueueSheet(); } }, "See why") : null,
    h("button", { type: "button", class: "link", id: "replay-report-close", onClick: () => (toast.hidden = true) }, "OK"),
  );
  toast.hidden = false;
  signal(refused ? "error" : "ok");
  window.dispatchEvent(new CustomEvent(REPLAYED_EVENT, { detail: { results } }));
}

// ---- the snapshot and the checks made against it ----

async function snapshot() {
  if (snapshotIndex) return snapshotIndex;
  const warehouse = localStorage.getItem(WAREHOUSE_KEY);
  const known = warehouse ? await cached(`snapshot ${warehouse}`) : null;
  if (!known?.snapshot) return null;
  const { products = [], lots = [], locations = [] } = known.snapshot;
  snapshotIndex = {
    asOf: known.snapshot.generatedAt,
    productByGtin: new Map(products.flatMap((product) => (product.gtins ?? []).map((gtin) => [gtin.padStart(14, "0"), product]))),
    lot: new Map(lots.map((lot) => [`${lot.productId} ${lot.code}`, lot])),
    locationByBarcode: new Map(locations.map((location) => [location.barcode, location])),
  };
  return snapshotIndex;
}

/** GS1 AIs whose data has a fixed length (the rest run to a GS or the end). */
const FIXED = { "00": 18, "01": 14, "02": 14, "11": 6, "12": 6, "13": 6, "15": 6, "16": 6, "17": 6, "20": 2 };

/** How many digits the AI starting with these two has (GS1 General Specifications). */
function aiLength(two) {
  if (/^(3[1-69]|43|7[02]|8[0-2])$/.test(two)) return 4;
  if (/^(2[3-5]|4[0-2]|71)$/.test(two)) return 3;
  return 2;
}

/** The GTIN, lot and expiry in a GS1 element string ("01…10…␝17…"), or a bare EAN/UPC;
 * null when it is neither. */
export function parseGs1(raw) {
  const text = raw.replace(/^\][A-Za-z][0-9]/, "");
  if (/^([0-9]{8}|[0-9]{12,13})$/.test(text)) return { gtin: text.padStart(14, "0") };
  const found = {};
  let at = 0;
  while (at < text.length) {
    if (text[at] === "\x1d") {
      at += 1;
      continue;
    }
    const two = text.slice(at, at + 2);
    if (!/^[0-9]{2}$/.test(two)) return null;
    const head = aiLength(two);
    const length = FIXED[two] ?? (/^3[1-6]/.test(two) ? 6 : null);
    let value;
    if (length) {
      value = text.slice(at + head, at + head + length);
      at += head + length;
    } else {
      const end = text.indexOf("\x1d", at + head);
      value = text.slice(at + head, end < 0 ? text.length : end);
      at = end < 0 ? text.length : end + 1;
    }
    if (two === "01" || two === "02") found.gtin = value;
    else if (two === "10") found.lot = value;
    else if (two === "17") found.expiry = value;
  }
  return found.gtin ? found : null;
}

function expired(expiry) {
  if (!expiry) return false;
  return expiry < new Date().toISOString().slice(0, 10);
}

/**
 * Judge a pick scan on the handheld against the task as the screen has it and the snapshot.
 * Answers a verdict shaped like the server's ({verdict, code, message, feedback}) and, when
 * accepted, the `effect` the screen applies and the outbox keeps.
 */
export async function checkPickOffline(task, scan, { quantity = 1, heldLots = new Set() } = {}) {
  const known = await snapshot();
  const refuse = (code, message) => ({ verdict: "rejected", code, message: `Offline check: ${message}`, feedback: "error", offline: true });
  if (!task.binConfirmed) {
    if (scan.raw === task.bin.barcode) {
      return { verdict: "accepted", code: "bin_confirmed", message: `Offline check: bin ${task.bin.code} confirmed. Queued.`, feedback: "ok", offline: true, effect: { taskId: task.id, binConfirmed: true } };
    }
    const other = known?.locationByBarcode.get(scan.raw);
    return refuse("wrong_bin", other ? `this is ${other.code}. Go to bin ${task.bin.code}.` : `scan bin ${task.bin.code}'s label first.`);
  }
  const unit = parseGs1(scan.raw);
  if (!unit) return refuse("unknown_barcode", "that is not a unit's code. Scan the unit's GS1 label.");
  const product = known?.productByGtin.get(unit.gtin);
  if (known && !product) return refuse("unknown_barcode", `no product has GTIN ${unit.gtin}.`);
  if (product && product.sku !== task.sku) return refuse("wrong_product", `this is ${product.sku}; pick ${task.sku}.`);
  if (!unit.lot) return refuse("lot_required", "the code names no lot. Scan the unit's GS1 label.");
  if (unit.lot !== task.lotCode) return refuse("wrong_lot", `wrong lot ${unit.lot}: pick lot ${task.lotCode} from bin ${task.bin.code}.`);
  const lot = product ? known.lot.get(`${product.id} ${unit.lot}`) : null;
  if (heldLots.has(task.lotId) || (lot && lot.status !== "released")) {
    return refuse("lot_on_hold", `lot ${unit.lot} is ${HOLD_WORDS[lot?.status] ?? "on hold"}: do not pick it.`);
  }
  if (expired(lot?.expiry ?? task.expiry)) return refuse("lot_expired", `lot ${unit.lot} has expired: do not pick it.`);
  const units = quantity === 1 ? "1 unit" : `${quantity} units`;
  return {
    verdict: "accepted",
    code: "picked",
    message: `Offline check: ${units} of lot ${unit.lot} picked. Queued until the server is back.`,
    feedback: "ok",
    offline: true,
    effect: { taskId: task.id, picked: quantity },
  };
}

/**
 * Judge a pack scan on the handheld against the order as the screen has it (the lots picked
 * for each line) and the snapshot; accepted, the `effect` packs the units on their line.
 */
export async function checkPackOffline(order, scan, { quantity = 1 } = {}) {
  const known = await snapshot();
  const refuse = (code, message) => ({ verdict: "rejected", code, message: `Offline check: ${message}`, feedback: "error", offline: true });
  const unit = parseGs1(scan.raw);
  if (!unit) return refuse("unknown_barcode", "that is not a unit's code. Scan the unit's GS1 label.");
  const product = known?.productByGtin.get(unit.gtin);
  if (known && !product) return refuse("unknown_barcode", `no product has GTIN ${unit.gtin}.`);
  const lines = order.lines.filter((line) => !product || line.sku === product.sku);
  if (!lines.length) return refuse("not_on_order", `${product.sku} is not on order ${order.externalId}.`);
  if (!unit.lot) return refuse("lot_required", "the code names no lot. Scan the unit's GS1 label.");
  const line = lines.find((candidate) => (candidate.lots ?? []).some((lot) => lot.lotCode === unit.lot && lot.picked - lot.packed >= quantity));
  if (!line) return refuse("wrong_lot_for_order", `lot ${unit.lot} was not picked for this order, or is all packed.`);
  const lot = product ? known.lot.get(`${product.id} ${unit.lot}`) : null;
  if (lot && lot.status !== "released") return refuse("lot_on_hold", `lot ${unit.lot} is ${HOLD_WORDS[lot.status] ?? "on hold"}: do not pack it.`);
  if (expired(lot?.expiry)) return refuse("lot_expired", `lot ${unit.lot} has expired: do not pack it.`);
  const units = quantity === 1 ? "1 unit" : `${quantity} units`;
  return {
    verdict: "accepted",
    code: "packed",
    message: `Offline check: ${units} of lot ${unit.lot} packed. Queued until the server is back.`,
    feedback: "ok",
    offline: true,
    effect: { orderId: order.id, lineId: line.id, lotCode: unit.lot, packed: quantity },
  };
}

/** An order with a queued pack scan's effect on it. */
export function packedOffline(order, effect) {
  return {
    ...order,
    lines: order.lines.map((line) => line.id !== effect.lineId ? line : {
      ...line,
      packed: line.packed + effect.packed,
      lots: (line.lots ?? []).map((lot) => lot.lotCode === effect.lotCode ? { ...lot, packed: lot.packed + effect.packed } : lot),
    }),
  };
}

/** `order` (as last loaded) with the effects of this user's queued pack scans on it. */
export async function withQueuedPacks(order, session) {
  const pending = await pendingScans(session.user?.username).catch(() => []);
  return pending.reduce((shown, { effect }) => effect?.orderId === order.id && effect.packed ? packedOffline(shown, effect) : shown, order);
}

/** Queue a scan body judged offline, with what the screen did with it. */
export function queueOffline(body, { session, effect }) {
  return queueScan({ ...body, offline: true, queuedAt: new Date().toISOString() }, { username: session.user?.username, effect });
}

/** `tasks` (pick tasks as last loaded) with the effects of this user's queued scans on them. */
export async function withQueuedEffects(tasks, session) {
  const pending = await pendingScans(session.user?.username).catch(() => []);
  if (!pending.length) return tasks;
  return tasks.map((task) => {
    let updated = task;
    for (const { effect } of pending) {
      if (effect?.taskId !== task.id) continue;
      updated = { ...updated };
      if (effect.binConfirmed) updated.binConfirmed = true;
      if (effect.picked) updated.picked += effect.picked;
    }
    return updated;
  });
}

// ---- the queue in the top bar, and its sheet ----

/** The bar's button: scans waiting and exceptions to read; hidden when there are neither. */
export function queueIndicator(session) {
  const username = session.user?.username;
  const pending = h("span", { class: "queue-pending", id: "outbox-count" }, "0");
  const refused = h("span", { class: "queue-exceptions", id: "exceptions-count" }, "0");
  const button = h("button", { type: "button", class: "queue", id: "outbox", hidden: true, "aria-label": "Queued scans", onClick: openQueueSheet },
    h("span", { class: "queue-icon", "aria-hidden": "true" }, "⇅"), pending, refused);
  async function update() {
    const [waiting, exceptions] = await Promise.all([pendingScans(username), openExceptions(username)]);
    pending.textContent = String(waiting.length);
    pending.hidden = !waiting.length;
    refused.textContent = `!${exceptions.length}`;
    refused.hidden = !exceptions.length;
    button.dataset.pending = waiting.length;
    button.dataset.exceptions = exceptions.length;
    button.hidden = !waiting.length && !exceptions.length;
    document.body.dataset.outbox = waiting.length;
  }
  const stop = onOutboxChange(update);
  update();
  // Removed with its screen: stop listening once it is gone.
  const gone = new MutationObserver(() => {
    if (!button.isConnected) {
      stop();
      gone.disconnect();
    }
  });
  queueMicrotask(() => gone.observe(document.body, { childList: true, subtree: true }));
  return button;
}

let sheet = null;

/** The queue sheet: exceptions to acknowledge (the server's reason each), scans waiting,
 * and the last scans the server accepted after a replay. */
export async function openQueueSheet() {
  const session = JSON.parse(localStorage.getItem("lotline.session") ?? "null");
  const username = session?.user?.username;
  sheet ??= document.body.appendChild(h("div", { class: "sheet queue-sheet", id: "queue-sheet", role: "dialog", "aria-modal": "true", hidden: true }));
  const [waiting, log] = await Promise.all([pendingScans(username), replayLog(username)]);
  const exceptions = log.filter((entry) => entry.verdict !== "accepted" && !entry.acknowledged).reverse();
  const sent = log.filter((entry) => entry.verdict === "accepted").slice(0, 10);
  const close = h("button", { type: "button", class: "link", id: "queue-close", onClick: () => (sheet.hidden = true) }, "Close");
  sheet.replaceChildren(
    h("p", { class: "sheet-title" }, "Offline scans"),
    h("h2", { class: "list-heading" }, `Refused by the server (${exceptions.length})`),
    h("ul", { class: "queue-list", id: "exception-list" }, exceptions.map((entry) =>
      h("li", { class: "queue-exception", "data-code": entry.code, "data-key": entry.idempotencyKey },
        h("p", { class: "rejection-message" }, entry.message),
        h("p", { class: "row-note" }, [describe(entry.body), entry.code].join(" · ")),
        h("button", {
          type: "button",
          class: "acknowledge",
          onClick: async () => {
            await acknowledgeException(entry.idempotencyKey);
            openQueueSheet();
          },
        }, "Acknowledge")))),
    h("h2", { class: "list-heading" }, `Waiting to be sent (${waiting.length})`),
    h("ul", { class: "queue-list", id: "pending-list" }, waiting.map((entry) =>
      h("li", { class: "queue-pending-scan", "data-key": entry.body.idempotencyKey }, describe(entry.body)))),
    h("h2", { class: "list-heading" }, "Sent and accepted"),
    h("ul", { class: "queue-list", id: "sent-list" }, sent.map((entry) =>
      h("li", { class: "queue-sent", "data-code": entry.code, "data-key": entry.idempotencyKey }, entry.message))),
    close,
  );
  sheet.hidden = false;
}

function describe(body) {
  const when = body.queuedAt ? new Date(body.queuedAt).toLocaleTimeString([], { timeStyle: "short" }) : "";
  const what = [body.context, body.taskId ? `task ${body.taskId}` : null, body.quantity ? `× ${body.quantity}` : null];
  return [...what, body.raw.replaceAll("\x1d", "␝"), when].filter(Boolean).join(" · ");
}
