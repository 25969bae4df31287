// The live channel (docs/live-channel.md): one WebSocket to /ws while someone is signed in.
// Its hello names the last message this handheld has dealt with, so a reconnect or a reload
// resumes there; each message after it reaches the screens listening for its type once; and
// what a picker must not miss (a lot put on hold, their task moved off a lot) covers every
// screen with the hold banner until Acknowledge is tapped. The server hears the ack only then.

import { SIGNED_OUT_EVENT } from "./api.js";
import { h } from "./dom.js";
import { signal } from "./feedback.js";
import { deviceId } from "./session.js";

const WAREHOUSE_KEY = "lotline.warehouse";
const POSITION_KEY_PREFIX = "lotline.live.";
const RETRY_MS = [500, 1000, 2000, 5000];
const UNAUTHENTICATED_CLOSE = 4401;
/** A second tap of a double tap must not acknowledge the banner that comes up under it. */
const ACKNOWLEDGE_ARMS_AFTER_MS = 600;

const KIND_LABELS = { hold: "HOLD", quarantine: "QUARANTINE", recall: "RECALL" };
const STATE_LABELS = {
  connecting: "Connecting…",
  connected: "Live",
  offline: "Offline",
};

const messages = new EventTarget();
let connection = null;
let banner = null;

/**
 * Call `listener(message)` for each live message of `type` ("lot.held", "task.reallocated",
 * ...), each message once. Returns a function that stops listening.
 */
export function onLive(type, listener) {
  const deliver = (event) => listener(event.detail);
  messages.addEventListener(type, deliver);
  return () => messages.removeEventListener(type, deliver);
}

/** Open the channel for `session` (main.js, whenever someone is signed in); a no-op when it
 * is already open for that token. */
export function startLive(session) {
  if (connection?.token === session.token) return;
  stopLive();
  connection = liveConnection(session);
}

/** Close the channel and drop the banner's queue: the next person signed in gets what was
 * not acknowledged, from the server. */
export function stopLive() {
  connection?.stop();
  connection = null;
}

/**
 * Resolves once the channel has caught up: welcomed, and every message up to the welcome's
 * seq (what was missed while offline) handed to the screens; false after `timeoutMs` without.
 * The outbox replays after this, so holds placed during an outage arrive before the replay.
 */
export function liveCaughtUp(timeoutMs = 5000) {
  if (!connection) return Promise.resolve(false);
  return connection.caughtUp(timeoutMs);
}

/** Whether the hold banner covers the screen: scans wait until it is acknowledged. */
export function interrupting() {
  return Boolean(banner && !banner.hidden);
}

/** The dot in the top bar that tells whether live messages can reach this handheld. */
export function liveIndicator() {
  const indicator = h("span", { class: "live-state", id: "live-state", role: "status" },
    h("span", { class: "live-dot", "aria-hidden": "true" }),
    h("span", { class: "live-word" }));
  showState(indicator, document.body.dataset.live);
  return indicator;
}

function showState(indicator, state) {
  if (!indicator) return;
  const label = STATE_LABELS[state] ?? "";
  indicator.dataset.state = state ?? "";
  indicator.title = `Live messages: ${label}`;
  indicator.lastElementChild.textContent = label;
}

function setState(state) {
  if (state) document.body.dataset.live = state;
  else delete document.body.dataset.live;
  showState(document.getElementById("live-state"), state);
}

function storedPosition(warehouse) {
  const stored = localStorage.getItem(POSITION_KEY_PREFIX + warehouse);
  return stored === null ? null : Number(stored);
}

/** The banner waits for a person on a hold of any lot, and on a task of theirs moved. */
function needsAcknowledging(message, user) {
  if (message.type === "lot.held") return true;
  return message.type === "task.reallocated" && message.data?.assignee === user?.username;
}

/**
 * One signed-in session's channel. `seen` is the last seq handed to the screens (the hello's
 * afterSeq on a reconnect); `dealtWith` the last seq before which nothing waits on the banner:
 * it is what the server is told by ack and what localStorage keeps, so a banner still up when
 * the page reloads comes back.
 */
function liveConnection(session) {
  let socket = null;
  let retry = null;
  let attempts = 0;
  let stopped = false;
  let welcomed = false;
  let ackOwed = false;
  let armsAt = 0;
  let warehouse = localStorage.getItem(WAREHOUSE_KEY);
  let seen = warehouse ? storedPosition(warehouse) : null;
  let dealtWith = seen;
  const waiting = [];
  /** The welcome's seq on this socket (null until welcomed), and who waits to be caught up. */
  let target = null;
  const catchingUp = [];

  function isCaughtUp() {
    return welcomed && target !== null && (seen ?? 0) >= target;
  }

  function checkCaughtUp() {
    if (!isCaughtUp()) return;
    catchingUp.splice(0).forEach((resolve) => resolve(true));
  }

  function caughtUp(timeoutMs) {
    if (isCaughtUp()) return Promise.resolve(true);
    return new Promise((resolve) => {
      catchingUp.push(resolve);
      setTimeout(() => resolve(false), timeoutMs);
    });
  }

  function open() {
    clearTimeout(retry);
    retry = null;
    if (stopped || socket) return;
    welcomed = false;
    target = null;
    setState("connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const opened = new WebSocket(`${scheme}//${location.host}/ws`);
    socket = opened;
    opened.addEventListener("open", () => {
      const hello = { type: "hello", token: session.token, deviceId: deviceId(), afterSeq: seen ?? 0 };
      if (warehouse) hello.warehouse = warehouse;
      opened.send(JSON.stringify(hello));
    });
    opened.addEventListener("message", (event) => {
      if (opened !== socket) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      received(frame);
    });
    // An error is always followed by a close: the close decides what happens next.
    opened.addEventListener("close", (event) => opened === socket && closed(event.code));
  }

  function closed(code) {
    socket = null;
    welcomed = false;
    if (stopped) return;
    if (code === UNAUTHENTICATED_CLOSE) {
      signOut();
      return;
    }
    setState("offline");
    const delay = RETRY_MS[Math.min(attempts, RETRY_MS.length - 1)];
    attempts += 1;
    // Jitter, so a warehouse of handhelds back from one Wi-Fi drop does not knock at once.
    retry = setTimeout(open, delay * (0.75 + Math.random() / 2));
  }

  /** Now rather than at the next retry: the page is back in view, or the network is. */
  function reconnect() {
    if (!socket) open();
  }

  /** The device says it has no network: an open socket would only notice minutes later. */
  function drop() {
    const dropped = socket;
    if (!dropped) return;
    closed();
    dropped.close();
  }

  function signOut() {
    stop();
    window.dispatchEvent(new CustomEvent(SIGNED_OUT_EVENT));
  }

  function received(frame) {
    if (frame.type === "welcome") welcome(frame);
    else if (frame.type === "error") {
      if (frame.code === "unauthenticated") signOut();
      else console.warn("the live channel refused the hello", frame.code, frame.message);
    } else if (Number.isInteger(frame.seq) && frame.seq > (seen ?? 0)) {
      seen = frame.seq;
      messages.dispatchEvent(new CustomEvent(frame.type, { detail: frame }));
      if (needsAcknowledging(frame, session.user)) {
        waiting.push(frame);
        showBanner();
      } else {
        settle();
      }
      checkCaughtUp();
    }
  }

  function welcome(frame) {
    attempts = 0;
    welcomed = true;
    if (frame.warehouse !== warehouse) {
      warehouse = frame.warehouse;
      localStorage.setItem(WAREHOUSE_KEY, warehouse);
      seen = dealtWith = storedPosition(warehouse);
    }
    // A handheld new to the warehouse starts from now: what happened before is already in
    // the task lists. A sequence behind ours is a new database: start again from it.
    if (seen === null || frame.seq < seen) {
      seen = dealtWith = frame.seq;
      localStorage.setItem(POSITION_KEY_PREFIX + warehouse, String(frame.seq));
    }
    setState("connected");
    if (ackOwed) sendAck();
    target = frame.seq;
    checkCaughtUp();
    window.dispatchEvent(new CustomEvent("lotline:live-welcome", { detail: { warehouse, seq: frame.seq } }));
  }

  /** Everything before the first message still waiting on the banner is dealt with. */
  function settle() {
    const upTo = waiting.length ? waiting[0].seq - 1 : seen;
    if (upTo <= dealtWith) return;
    dealtWith = upTo;
    localStorage.setItem(POSITION_KEY_PREFIX + warehouse, String(upTo));
    ackOwed = true;
    sendAck();
  }

  function sendAck() {
    if (!welcomed || socket?.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({ type: "ack", seq: dealtWith }));
    ackOwed = false;
  }

  function showBanner() {
    banner ??= document.body.appendChild(holdBanner());
    const group = firstGroup(waiting);
    const fresh = banner.hidden || banner.dataset.seq !== String(group[0].seq);
    if (fresh) armsAt = Date.now() + ACKNOWLEDGE_ARMS_AFTER_MS;
    const others = groupCount(waiting) - 1;
    const acknowledge = h("button", { type: "button", class: "big", id: "hold-acknowledge" }, "Acknowledge");
    acknowledge.addEventListener("click", () => {
      waiting.splice(0, group.length);
      settle();
      if (waiting.length) showBanner();
      else banner.hidden = true;
    });
    const unarmed = armsAt - Date.now();
    if (unarmed > 0) {
      acknowledge.disabled = true;
      setTimeout(() => (acknowledge.disabled = false), unarmed);
    }
    banner.dataset.type = group[0].type;
    banner.dataset.seq = group[0].seq;
    banner.replaceChildren(...[
      others ? h("p", { class: "hold-more", id: "hold-more" }, `${others} more after this`) : null,
      ...bannerText(group),
      acknowledge,
    ].filter(Boolean));
    banner.hidden = false;
    if (!fresh) return;
    // The dialog takes the focus, not its button: an Enter from a scanner must not tap it.
    banner.focus();
    signal("error");
  }

  function stop() {
    stopped = true;
    clearTimeout(retry);
    socket?.close();
    socket = null;
    waiting.length = 0;
    if (banner) banner.hidden = true;
    setState(null);
  }

  open();
  return { token: session.token, reconnect, drop, stop, caughtUp };
}

function holdBanner() {
  return h("div", {
    class: "hold-banner",
    id: "hold-banner",
    role: "alertdialog",
    "aria-modal": "true",
    "aria-labelledby": "hold-title",
    tabindex: "-1",
    hidden: true,
  });
}

/** A hold's lots, or one task's new lots, arrive as consecutive messages: one banner each. */
function groupKey(message) {
  return message.type === "lot.held" ? `held ${message.data.holdId}` : `task ${message.data.taskId}`;
}

function firstGroup(queue) {
  const key = groupKey(queue[0]);
  const end = queue.findIndex((message) => groupKey(message) !== key);
  return end < 0 ? [...queue] : queue.slice(0, end);
}

function groupCount(queue) {
  return queue.filter((message, index) => index === 0 || groupKey(message) !== groupKey(queue[index - 1])).length;
}

/** A lot code, bin or SKU that wraps as a whole, never at its hyphens. */
function code(text) {
  return h("span", { class: "code" }, text ?? "?");
}

function bannerText(group) {
  const [{ type, data, at }] = group;
  const when = at ? new Date(at).toLocaleTimeString([], { timeStyle: "short" }) : "";
  if (type === "lot.held") {
    return [
      h("h2", { class: "hold-title", id: "hold-title" }, KIND_LABELS[data.kind] ?? "HOLD"),
      h("ul", { class: "hold-lots", id: "hold-lots" }, group.map(({ data: lot }) =>
        h("li", {}, "Lot ", code(lot.lotCode), " ", code(`(${lot.sku})`)))),
      h("p", { class: "hold-instruction" }, `Do not pick, pack or ship ${group.length === 1 ? "it" : "them"}.`),
      data.reason ? h("p", { class: "hold-reason", id: "hold-reason" }, `Reason: ${data.reason}`) : null,
      h("p", { class: "hold-by" }, [data.by ? `By ${data.by}` : null, when].filter(Boolean).join(" · ")),
    ];
  }
  const units = group.reduce((total, { data: moved }) => total + moved.quantity, 0);
  const each = group.length > 1;
  return [
    h("h2", { class: "hold-title", id: "hold-title" }, "Skip lot ", code(data.oldLot?.code)),
    h("ul", { class: "hold-lots", id: "hold-lots" }, group.map(({ data: moved }) => h("li", {},
      ...(moved.newLot
        ? ["Pick lot ", code(moved.newLot.code), " from bin ", code(moved.bin?.code)]
        : ["Nothing else to pick — task short"]),
      each ? `: ${moved.quantity}` : null))),
    h("p", { class: "hold-by" },
      `${units} ${units === 1 ? "unit" : "units"} for order `, code(data.orderExternalId), when ? ` · ${when}` : null),
  ];
}

window.addEventListener("online", () => connection?.reconnect());
window.addEventListener("offline", () => connection?.drop());
document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && connection?.reconnect());
