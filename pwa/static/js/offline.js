// Working without the server: whether the handheld is offline, the warehouse snapshot it
// checks scans against meanwhile (GET /api/offline/snapshot, kept in IndexedDB, refreshed on
// sign-in, on reconnect and every few minutes), the checks themselves, and the replay of the
// outbox (outbox.js) when the server is back: after the live channel has caught up (holds
// placed during the outage arrive first), on app start, on the `online` event and when the
// service worker's background sync asks, with exponential backoff while the network fails.
// The top bar shows the queue: scans waiting, and replayed scans the server refused, which
// the picker reads and acknowledges in the queue sheet.

import { answeredAt, SIGNED_OUT_EVENT } from "./api.js";
import { h } from "./dom.js";
import { signal } from "./feedback.js";
import { liveCaughtUp } from "./live.js";
import {
  acknowledgeException,
  cached,
  keep,
  onOutboxChange,
  openExceptions,
  notYetOnServer,
  pendingScans,
  queueScan,
  queueWrite,
  replayLog,
  replayOutbox,
} from "./outbox.js";
import { deviceId, shareSession } from "./session.js";

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
  shareSession(session);
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

/** Replay the outbox now and resolve once that replay is over (sent, or failed). */
export async function replayAndWait() {
  await running?.replay();
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
    if (replaying) return replaying;
    if (stopped || isOffline()) return; // the online event starts it again
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
    replay,
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
    lotsOf: (productId) => lots.filter((lot) => lot.productId === productId).sort((a, b) => a.id - b.id),
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
    else if (two === "21") found.serial = value;
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

/**
 * `payload` (an api() answer: a task list, an order, a return, a count task) with `apply` of
 * the effects of this user's queued entries on it, oldest first; entries sent before the
 * server gave `payload` are left out, since it may have them already (no double count).
 */
export async function withQueued(payload, session, apply) {
  const pending = await pendingScans(session.user?.username).catch(() => []);
  const asOf = answeredAt(payload);
  return pending.reduce((shown, entry) => entry.effect && notYetOnServer(entry, asOf) ? apply(shown, entry.effect) : shown, payload);
}

/** `order` (as last loaded) with the effects of this user's queued pack scans on it. */
export function withQueuedPacks(order, session) {
  return withQueued(order, session, (shown, effect) => effect.orderId === order.id && effect.packed ? packedOffline(shown, effect) : shown);
}

/** Queue a scan body judged offline, with what the screen did with it; `sentAt` when the
 * handheld had sent it already (its answer lost). */
export function queueOffline(body, { session, effect, sentAt = null }) {
  return queueScan({ ...body, offline: true, queuedAt: new Date().toISOString() }, { username: session.user?.username, effect, sentAt });
}

/** Queue a keyed write (POST `path`, `body` with its idempotencyKey) behind the queued
 * scans, and replay at once if the server can be reached. */
export async function queueWriteOffline(path, body, { session, effect, done }) {
  await queueWrite(path, body, { username: session.user?.username, effect, done });
  replayNow();
}

/** Whether this user has anything queued: a write must then wait behind it. */
export async function hasQueued(session) {
  return (await pendingScans(session.user?.username).catch(() => [])).length > 0;
}

/** `tasks` (pick tasks as last loaded) with the effects of this user's queued scans on them. */
export function withQueuedEffects(tasks, session) {
  return withQueued(tasks, session, (shown, effect) => shown.map((task) => {
    if (effect.taskId !== task.id) return task;
    const updated = { ...task };
    if (effect.binConfirmed) updated.binConfirmed = true;
    if (effect.picked) updated.picked += effect.picked;
    return updated;
  }));
}

/**
 * Judge an item scanned into a return on the handheld, against the return as last loaded
 * (what the order shipped, lot by lot, its serials and what came back) and the snapshot, as
 * the server would: an item that did not ship on the order (or more than shipped) is flagged,
 * and queued too, since the server keeps the flag on the return; a held, recalled or expired
 * lot goes to quarantine whatever was chosen. Accepted and flagged ones carry the `effect`.
 */
export async function checkReturnOffline(returned, scan, { quantity = 1, reason, disposition, binCode = null } = {}) {
  const known = await snapshot();
  const refuse = (code, message) => ({ verdict: "rejected", code, message: `Offline check: ${message}`, feedback: "error", offline: true });
  const unit = parseGs1(scan.raw);
  if (!unit) return refuse("scan_a_unit", "scan the item's own barcode (its GTIN, lot and serial).");
  const product = known?.productByGtin.get(unit.gtin);
  if (known && !product) return refuse("unknown_barcode", `no product has GTIN ${unit.gtin}.`);
  const lines = returned.lines ?? [];
  const ofProduct = product ? lines.filter((line) => line.sku === product.sku) : lines.filter((line) => line.lotCode === unit.lot);
  const tracking = product?.tracking ?? ofProduct[0]?.tracking ?? "lot";
  if (["serial", "lot_serial"].includes(tracking) && !unit.serial) return refuse("serial_required", "this product is tracked by serial: scan the unit's serial.");
  if (!unit.lot && tracking !== "none") return refuse("lot_required", "scan the item's lot barcode, not the product's alone.");
  const units = unit.serial ? 1 : quantity;
  const item = { returnId: returned.id, sku: product?.sku ?? ofProduct[0]?.sku ?? "", lotCode: unit.lot ?? null, serial: unit.serial ?? null, quantity: units, reason, disposition };
  const flag = (code, message) => ({
    verdict: "rejected", code, message: `Offline check: ${message}`, feedback: "error", offline: true, queue: true,
    effect: { ...item, flagged: true, flagCode: code },
  });
  let mine = ofProduct.filter((line) => !unit.lot || line.lotCode === unit.lot);
  if (!mine.length) {
    const codes = [...new Set(ofProduct.map((line) => line.lotCode))].join(", ");
    return flag("not_shipped_on_order", codes
      ? `this lot did not ship on this order (it shipped lot ${codes}): set it aside for a supervisor. Queued.`
      : "this product did not ship on this order: set it aside for a supervisor. Queued.");
  }
  mine = mine.filter((line) => line.lotCode === mine[0].lotCode);
  item.lotCode = mine[0].lotCode;
  if (unit.serial) {
    mine = mine.filter((line) => (line.serials ?? []).includes(unit.serial));
    if (!mine.length) return flag("serial_not_shipped_on_order", `serial ${unit.serial} did not ship on this order: set it aside for a supervisor. Queued.`);
  }
  const out = mine.reduce((total, line) => total + Math.max(line.shipped - line.returned, 0), 0);
  if (units > out) return flag("return_exceeds_shipped", `only ${out} unit(s) of lot ${item.lotCode} shipped on this order are still out; ${units} scanned. Queued.`);
  const lot = product ? known.lot.get(`${product.id} ${item.lotCode}`) : null;
  const status = lot?.status ?? mine[0].lotStatus ?? "released";
  const held = status !== "released";
  const lapsed = expired(lot?.expiry ?? mine[0].expiry);
  const forced = held || (disposition === "restock" && lapsed);
  const destination = forced || disposition === "quarantine" ? "quarantine" : disposition === "dispose" ? "disposal" : binCode;
  const code = forced ? "returned_to_quarantine" : disposition === "restock" ? "restocked" : disposition === "dispose" ? "return_disposed" : "return_quarantined";
  const why = held ? `lot ${item.lotCode} is ${HOLD_WORDS[status] ?? status}: ` : forced ? `lot ${item.lotCode} has expired: ` : "";
  const where = destination === "quarantine" ? "to quarantine" : destination === "disposal" ? "to disposal" : `back into lot ${item.lotCode} at ${binCode}`;
  return {
    verdict: "accepted",
    code,
    message: `Offline check: ${why}${units} unit(s) ${where}. Queued until the server is back.`,
    feedback: forced ? "warn" : "ok",
    offline: true,
    effect: { ...item, flagged: false, forced, destination },
  };
}

/** A return with a queued item's effect on it: its lines' units back (earlier lines first,
 * as the server books them) and the item listed, pending. */
export function returnedOffline(returned, effect) {
  if (effect.returnId !== returned.id) return returned;
  if (effect.closed) return { ...returned, status: "closed" };
  let left = effect.flagged ? 0 : effect.quantity;
  const lines = (returned.lines ?? []).map((line) => {
    if (!left || line.sku !== effect.sku || line.lotCode !== effect.lotCode) return line;
    const units = Math.min(left, Math.max(line.shipped - line.returned, 0));
    left -= units;
    return { ...line, returned: line.returned + units, returnedSerials: effect.serial ? [...(line.returnedSerials ?? []), effect.serial] : line.returnedSerials };
  });
  const item = {
    sku: effect.sku,
    lotCode: effect.lotCode,
    serial: effect.serial,
    quantity: effect.quantity,
    reason: effect.reason,
    disposition: effect.disposition,
    destination: effect.destination === "quarantine" || effect.destination === "disposal" ? null : effect.destination,
    forced: Boolean(effect.forced),
    flagged: effect.flagged,
    flagCode: effect.flagCode ?? null,
    pending: true,
  };
  return { ...returned, lines, items: [...(returned.items ?? []), item] };
}

/** `returned` (as last loaded) with the effects of this user's queued return scans on it. */
export function withQueuedReturns(returned, session) {
  return withQueued(returned, session, returnedOffline);
}

/** A lookup scan judged on the handheld: the location the snapshot knows by that label (a
 * restock bin chosen offline); nothing to queue, a lookup changes nothing. */
export async function checkLookupOffline(scan) {
  const location = (await snapshot())?.locationByBarcode.get(scan.raw);
  if (!location) return { verdict: "rejected", code: "unknown_barcode", message: "Offline check: no location has that label.", feedback: "error", offline: true, queue: false };
  return { verdict: "accepted", code: "location", message: `Offline check: ${location.code}.`, feedback: "ok", offline: true, queue: false, location };
}

/**
 * Judge a count scan on the handheld against the count task as last loaded and the
 * snapshot: first the bin's label (the task's bin), then each lot's (a lot the snapshot
 * knows) with the units counted. Accepted, the `effect` starts the task or adds the units to
 * the lot's line. Nothing here tells what the system expects: a blind count stays blind.
 */
export async function checkCountOffline(task, scan, { quantity = 1 } = {}) {
  const known = await snapshot();
  const refuse = (code, message) => ({ verdict: "rejected", code, message: `Offline check: ${message}`, feedback: "error", offline: true });
  const wanted = scan.raw.toUpperCase();
  const isTaskBin = [task.bin.barcode, task.bin.code].some((value) => value && value.toUpperCase() === wanted);
  const other = known?.locationByBarcode.get(scan.raw);
  if (!task.startedAt) {
    if (isTaskBin) {
      return { verdict: "accepted", code: "count_started", message: `Offline check: counting ${task.bin.code}: scan each lot and enter its units. Queued.`, feedback: "ok", offline: true, effect: { countTaskId: task.id, started: true } };
    }
    return refuse(other ? "wrong_bin" : "bin_not_confirmed", other ? `not the bin to count: go to ${task.bin.code}.` : `scan the label of bin ${task.bin.code} first.`);
  }
  if (isTaskBin) return { verdict: "accepted", code: "count_started", message: `Counting ${task.bin.code}: scan each lot.`, feedback: "ok", offline: true, queue: false };
  if (other) return refuse("wrong_bin", `not the bin to count: go to ${task.bin.code}.`);
  const unit = parseGs1(scan.raw);
  if (!unit) return refuse("unknown_barcode", "that is not a unit's code. Scan the unit's GS1 label.");
  const product = known?.productByGtin.get(unit.gtin);
  if (!product) return refuse("unknown_barcode", `no product has GTIN ${unit.gtin} on this handheld: count it when the server is back.`);
  if (["serial", "lot_serial"].includes(product.tracking) && !unit.serial) return refuse("serial_required", "this product is tracked by serial: scan each unit's serial.");
  if (!unit.lot && product.tracking !== "none") return refuse("lot_required", "scan the unit's lot barcode, not the product's alone.");
  const lot = unit.lot ? known.lot.get(`${product.id} ${unit.lot}`) : known.lotsOf(product.id)[0];
  if (!lot) return refuse("unknown_lot", `lot ${unit.lot ?? ""} of ${product.sku} is not known on this handheld: count it when the server is back.`);
  const units = unit.serial ? 1 : quantity;
  return {
    verdict: "accepted",
    code: "counted",
    message: `Offline check: lot ${lot.code}: ${units} counted in ${task.bin.code}. Queued until the server is back.`,
    feedback: "ok",
    offline: true,
    effect: { countTaskId: task.id, lotId: lot.id, lotCode: lot.code, sku: product.sku, productName: product.name, counted: units },
  };
}

/** A count task with a queued entry's effect on it: started, a lot's units added (a new line
 * for a lot not counted yet), a line corrected, or submitted. Lines touched are `pending`. */
export function countedOffline(task, effect) {
  if (effect.countTaskId !== task.id) return task;
  if (effect.started) return { ...task, status: task.status === "open" ? "counting" : task.status, startedAt: task.startedAt ?? new Date().toISOString() };
  if (effect.submitted) return { ...task, status: "submitted", submittedPending: true };
  const lines = [...(task.lines ?? [])];
  const at = lines.findIndex((line) => line.lotId === effect.lotId);
  if (at >= 0) {
    const counted = effect.set ?? lines[at].counted + effect.counted;
    lines[at] = { ...lines[at], counted, pending: true };
  } else {
    lines.push({ lotId: effect.lotId, lotCode: effect.lotCode, sku: effect.sku, productName: effect.productName, counted: effect.set ?? effect.counted, pending: true });
  }
  return { ...task, lines };
}

/** A count task (or a list of them) with the effects of this user's queued count entries. */
export function withQueuedCounts(tasks, session) {
  return withQueued(tasks, session, (shown, effect) => Array.isArray(shown)
    ? shown.map((task) => countedOffline(task, effect))
    : countedOffline(shown, effect));
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
        h("p", { class: "row-note" }, [describe(entry.body, entry.write ? { path: entry.write } : null), entry.code].join(" · ")),
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
      h("li", { class: "queue-pending-scan", "data-key": entry.body.idempotencyKey }, describe(entry.body, entry.write)))),
    h("h2", { class: "list-heading" }, "Sent and accepted"),
    h("ul", { class: "queue-list", id: "sent-list" }, sent.map((entry) =>
      h("li", { class: "queue-sent", "data-code": entry.code, "data-key": entry.idempotencyKey }, entry.message))),
    close,
  );
  sheet.hidden = false;
}

function describe(body, write) {
  const when = body.queuedAt ? new Date(body.queuedAt).toLocaleTimeString([], { timeStyle: "short" }) : "";
  if (write) return [write.message ?? write.path, when].filter(Boolean).join(" · ");
  const what = [body.context, body.taskId ? `task ${body.taskId}` : null, body.countId ? `count task ${body.countId}` : null,
    body.returnId ? `return ${body.returnId}` : null, body.quantity ? `× ${body.quantity}` : null];
  return [...what, body.raw.replaceAll("\x1d", "␝"), when].filter(Boolean).join(" · ");
}
