// The frame every scanning screen shares: a bar with the screen's name, who is signed in and
// Sign out; the screen's content; and the dock at the bottom with the camera, the screen's own
// actions, the typed entry and the way to the other screens. The camera, a keyboard-wedge
// scanner and the typed field all deliver to the screen's `onScan`, except while the hold
// banner covers the screen. Also what the screens show the same way: an accepted scan, a
// refusal (a camera that did not start among them), a raw value, an expiry, a quantity stepper.

import { api } from "../api.js";
import { h } from "../dom.js";
import { signal } from "../feedback.js";
import { interrupting, liveIndicator } from "../live.js";
import { isOffline, queueIndicator, queueOffline } from "../offline.js";
import { listenForWedge, typedEntry } from "../scanner.js";
import { currentSession, deviceId } from "../session.js";
import { uuid } from "../uuid.js";
import { cameraPanel } from "./camera.js";

const DAY_MS = 86_400_000;

/**
 * Build a scanning screen in `root`. `actions` (an element, or null) sits in the dock above
 * the typed entry; `nav` (from main.js) at the very bottom; `back` ({label, onClick}) puts a
 * back button first in the bar. Returns {content, destroy}: the view fills `content`.
 */
export function scanningScreen(root, {
  title,
  session,
  onSignOut,
  onScan,
  onCameraError,
  actions = null,
  nav = null,
  back = null,
  entryLabel = "Type a code",
  contentId,
}) {
  // A hold on screen is read before anything else is scanned: the unit in hand may be of it.
  const judge = (scan) => {
    if (interrupting()) signal("error");
    else onScan(scan);
  };
  const content = h("section", { class: "content result", id: contentId, "aria-live": "assertive" });
  const camera = cameraPanel({ onScan: judge, onError: onCameraError });
  const signOut = h("button", { type: "button", class: "sign-out", id: "sign-out" }, "Sign out");
  signOut.addEventListener("click", onSignOut);
  const backButton = back
    ? h("button", { type: "button", class: "back", id: "back", onClick: back.onClick }, `‹ ${back.label}`)
    : null;

  root.append(
    h("header", { class: "bar" },
      backButton,
      h("h1", {}, title),
      h("span", { class: "bar-note", id: "who" }, session.user?.displayName || session.user?.username || ""),
      liveIndicator(),
      queueIndicator(session),
      signOut),
    content,
    h("section", { class: "dock" },
      camera.viewport,
      actions,
      typedEntry({ id: "scan-entry", label: entryLabel, onScan: judge }),
      h("div", { class: "dock-row" }, camera.toggle),
      nav),
  );

  const stopWedge = listenForWedge(judge);
  camera.resume();
  return {
    content,
    destroy() {
      stopWedge();
      camera.destroy();
    },
  };
}

/**
 * Send one scan to POST /api/scans in `context`, with a fresh idempotency key, this
 * handheld's id and clock; `fields` adds the context's own (taskId, orderId, quantity).
 * Resolves to the verdict; an answer that is not a verdict throws ApiError.
 *
 * With `offlineCheck(scan)`, a handheld with no network (or a request that fails with a
 * network error) judges the scan itself: the check answers a verdict shaped like the server's
 * (`offline: true`, and the screen's `effect` when accepted), and an accepted one goes to the
 * outbox with the same idempotency key, so one that did reach the server applies once (and
 * is marked sent, so screens do not add its effect to data loaded since). A check may say
 * `queue: true` (a refusal the server records too) or `queue: false` (nothing to send).
 */
export async function sendScan(context, scan, fields = {}, { offlineCheck = null } = {}) {
  const body = {
    idempotencyKey: uuid(),
    context,
    raw: scan.raw,
    deviceId: deviceId(),
    scannedAt: new Date().toISOString(),
    ...fields,
  };
  if (scan.symbology) body.symbology = scan.symbology;
  if (!offlineCheck) return api("/api/scans", { method: "POST", body });
  let sentAt = null;
  if (!isOffline()) {
    try {
      sentAt = new Date().toISOString();
      return await api("/api/scans", { method: "POST", body });
    } catch (problem) {
      if (problem.code !== "offline") throw problem;
    }
  }
  const verdict = await offlineCheck(scan);
  // Accepted ones are queued; so are refusals the server keeps (a return's flagged item).
  if (verdict.queue ?? verdict.verdict === "accepted") {
    await queueOffline(body, { session: currentSession(), effect: verdict.effect ?? null, sentAt });
  }
  return verdict;
}

/**
 * A queue that runs the work given to it one piece at a time, in order: a picker who scans the
 * bin and at once the lot gets both judged, the lot after the bin's verdict is in.
 * `const inTurn = oneAtATime(); inTurn(() => judge(scan));`
 */
export function oneAtATime() {
  let queue = Promise.resolve();
  return (work) => {
    queue = queue.then(work).catch((error) => console.error("a queued step failed", error));
    return queue;
  };
}

/** A screen's `onCameraError`: why the camera did not start, as a refusal in `place`, felt. */
export function cameraErrorIn(place) {
  return (text) => {
    tell(place, rejection(text, "camera_unavailable"));
    signal("error");
  };
}

/** The raw value as people can read it: GS shown as ␝. */
export function visible(raw) {
  return raw.replaceAll("\x1d", "␝");
}

/** Put a verdict in `place` (null children skipped) and bring it into view: verdicts sit at
 * the top of a screen, where the eye lands after the flash. */
export function tell(place, ...children) {
  place.replaceChildren(...children.filter(Boolean));
  place.scrollIntoView({ block: "nearest" });
}

/** A refused scan: the server's message big, white on red, with its code and the raw value. */
export function rejection(message, code, scan) {
  return h("div", { class: "rejection", id: "rejection", role: "alert", "data-code": code ?? "" },
    h("p", { class: "rejection-message" }, message || "That scan was refused."),
    code ? h("p", { class: "code-note" }, code) : null,
    scan ? h("p", { class: "raw" }, visible(scan.raw)) : null);
}

/** An accepted scan: the server's message in green, or amber when it comes as a warning. */
export function acceptance(verdict, id) {
  return h("p", { class: verdict.feedback === "warn" ? "warning-message" : "ok-message", id, "data-code": verdict.code },
    verdict.message);
}

/** Whole days from today (this handheld's calendar) to a YYYY-MM-DD date; negative if past. */
export function daysUntil(isoDate) {
  const [year, month, day] = isoDate.split("-").map(Number);
  const now = new Date();
  return Math.round((Date.UTC(year, month - 1, day) - Date.UTC(now.getFullYear(), now.getMonth(), now.getDate())) / DAY_MS);
}

/** "Expires 2027-06-30 (212 days left)"; `days` null or undefined leaves the count out. */
export function expiryText(expiry, days) {
  if (!expiry) return "No expiry date";
  if (days === null || days === undefined) return `Expires ${expiry}`;
  if (days < 0) return `Expired ${expiry} (${-days} ${-days === 1 ? "day" : "days"} ago)`;
  if (days === 0) return `Expires ${expiry} (today)`;
  return `Expires ${expiry} (${days} ${days === 1 ? "day" : "days"} left)`;
}

/**
 * How many units one scan confirms: − and + around the count, from 1 up to `max`. Returns
 * {element, value, reset(), setMax(max)}.
 */
export function quantityStepper({ id, label = "Units per scan" }) {
  let value = 1;
  let max = 1;
  const shown = h("output", { class: "stepper-value", id, "aria-live": "polite" }, "1");
  const less = h("button", { type: "button", class: "stepper-less", "aria-label": "One fewer" }, "−");
  const more = h("button", { type: "button", class: "stepper-more", "aria-label": "One more" }, "+");

  function set(next) {
    value = Math.min(Math.max(1, next), Math.max(1, max));
    shown.textContent = String(value);
    less.disabled = value <= 1;
    more.disabled = value >= max;
  }
  less.addEventListener("click", () => set(value - 1));
  more.addEventListener("click", () => set(value + 1));
  set(1);

  return {
    element: h("div", { class: "stepper", role: "group", "aria-label": label }, less, shown, more),
    get value() {
      return value;
    },
    reset: () => set(1),
    setMax(next) {
      max = next;
      set(value);
    },
  };
}
