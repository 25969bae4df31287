// The handheld app's entry: registers the service worker, then shows sign-in or the screen
// the URL names (#/tasks, #/pick/<task>, #/pack, #/pack/<order>, #/returns, #/returns/<return>,
// #/count, #/count/<task>, #/lookup), among those the
// signed-in user's roles allow, with a way to the others at the bottom of each. The live
// channel is open whenever someone is signed in.

import { api, SIGNED_OUT_EVENT } from "./api.js";
import { h } from "./dom.js";
import { unlockAudio } from "./feedback.js";
import { startLive, stopLive } from "./live.js";
import { isOffline, replayAndWait, startOffline, stopOffline } from "./offline.js";
import { pendingScans } from "./outbox.js";
import { clearSession, currentSession } from "./session.js";
import { showCount, showCountTasks } from "./views/count.js";
import { showLookup } from "./views/lookup.js";
import { showPackList, showPackOrder } from "./views/pack.js";
import { showPick } from "./views/pick.js";
import { showReturn, showReturnList } from "./views/returns.js";
import { showSignIn } from "./views/signin.js";
import { showTasks } from "./views/tasks.js";

const LAST_SCREEN_KEY = "lotline.screen";

/**
 * The screens a handheld moves between, in the order the navigation lists them; `roles: null`
 * is everyone. The server checks roles on every call; this only spares people screens that
 * would refuse them.
 */
const TABS = [
  { name: "tasks", label: "Tasks", roles: ["picker", "supervisor"] },
  { name: "pack", label: "Pack", roles: ["packer", "supervisor"] },
  { name: "returns", label: "Returns", roles: ["returns", "supervisor"] },
  { name: "count", label: "Count", roles: ["counter", "supervisor"] },
  { name: "lookup", label: "Lookup", roles: null },
];

const root = document.getElementById("app");
let view = null;
let handoff = null;

function mayUse(tab, user) {
  const roles = user?.roles ?? [];
  return tab.roles === null || roles.includes("admin") || tab.roles.some((role) => roles.includes(role));
}

function tabsFor(user) {
  return TABS.filter((tab) => mayUse(tab, user));
}

/** The first screen of the user's work: Tasks for a picker, Pack for a packer, Returns for a
 * returns clerk, Count for a counter, else Lookup. */
function homeOf(user) {
  return `#/${tabsFor(user)[0].name}`;
}

/** "#/pick/12" → {name: "pick", id: 12}; the screen a detail belongs to decides who may see it. */
function parseRoute(hash) {
  const [name, id] = hash.replace(/^#\/?/, "").split("/");
  const tab = name === "pick" ? "tasks" : name;
  return { name, tab, id: id ? Number(id) : null };
}

/**
 * Go to `hash`. `replace` for moves the user did not ask for (the wave done), so Back returns
 * to the list, not to a finished task. The next screen gets `message` to show once and `scan`
 * to judge as its own (the first bin's label scanned on the task list).
 */
function go(hash, { replace = false, message = null, scan = null } = {}) {
  handoff = message || scan ? { message, scan } : null;
  if (location.hash === hash) show();
  else if (replace) {
    history.replaceState(null, "", hash);
    show();
  } else location.hash = hash;
}

function navigation(user, current) {
  const tabs = tabsFor(user);
  if (tabs.length < 2) return null;
  return h("nav", { class: "tabs", "aria-label": "Screens" }, tabs.map((tab) =>
    h("button", {
      type: "button",
      id: `nav-${tab.name}`,
      "aria-current": tab.name === current ? "page" : null,
      onClick: () => go(`#/${tab.name}`),
    }, tab.label)));
}

function show() {
  view?.destroy();
  root.replaceChildren();
  const session = currentSession();
  if (!session) {
    stopLive();
    stopOffline();
    document.body.dataset.screen = "signin";
    view = showSignIn(root, { onSignedIn: () => go(homeOf(currentSession()?.user), { replace: true }) });
    return;
  }
  // "/" alone opens the screen this handheld showed last (set at sign-in to the user's home).
  const hash = location.hash || `#/${localStorage.getItem(LAST_SCREEN_KEY) ?? "lookup"}`;
  let route = parseRoute(hash);
  const tab = TABS.find((candidate) => candidate.name === route.tab);
  if (!tab || !mayUse(tab, session.user)) route = parseRoute(homeOf(session.user));
  localStorage.setItem(LAST_SCREEN_KEY, route.tab);
  startLive(session);
  startOffline(session);

  const options = { session, onSignOut: signOut, go, nav: navigation(session.user, route.tab), handoff };
  handoff = null;
  if (route.tab === "tasks" && route.id) view = showScreen("pick", showPick, { ...options, taskId: route.id });
  else if (route.tab === "tasks") view = showScreen("tasks", showTasks, options);
  else if (route.tab === "pack" && route.id) view = showScreen("pack-order", showPackOrder, { ...options, orderId: route.id });
  else if (route.tab === "pack") view = showScreen("pack", showPackList, options);
  else if (route.tab === "returns" && route.id) view = showScreen("return", showReturn, { ...options, returnId: route.id });
  else if (route.tab === "returns") view = showScreen("returns", showReturnList, options);
  else if (route.tab === "count" && route.id) view = showScreen("count-task", showCount, { ...options, taskId: route.id });
  else if (route.tab === "count") view = showScreen("count", showCountTasks, options);
  else view = showScreen("lookup", showLookup, options);
}

function showScreen(name, showView, options) {
  document.body.dataset.screen = name;
  return showView(root, options);
}

/** Sign out; with scans still queued, first say so and offer to send them (or keep them
 * for this user, replayed when they sign in again here): never a silent loss. */
async function signOut() {
  const session = currentSession();
  const waiting = (await pendingScans(session?.user?.username).catch(() => [])).length;
  if (waiting && !(await confirmSignOut(session, waiting))) return;
  await api("/api/auth/logout", { method: "POST" }).catch(() => {});
  endSession();
}

/** The sign-out sheet: resolves true to sign out (the queue sent, or kept), false to stay. */
function confirmSignOut(session, waiting, note = null) {
  const who = session?.user?.displayName || session?.user?.username || "you";
  return new Promise((resolve) => {
    const sheet = h("div", { class: "sheet", id: "signout-sheet", role: "dialog", "aria-modal": "true" });
    const done = (answer) => {
      sheet.remove();
      resolve(answer);
    };
    const send = async () => {
      sheet.remove();
      await replayAndWait();
      const left = (await pendingScans(session?.user?.username).catch(() => [])).length;
      resolve(left ? await confirmSignOut(session, left, "They could not all be sent: the server did not answer.") : true);
    };
    const offline = isOffline();
    sheet.append(...[
      h("p", { class: "sheet-title", id: "signout-waiting", "data-pending": waiting },
        `${waiting} queued ${waiting === 1 ? "scan is" : "scans are"} not sent yet.`),
      note ? h("p", { class: "error-message", id: "signout-note" }, note) : null,
      h("p", { class: "pad-note" }, offline
        ? `No connection: they stay on this handheld for ${who} and are sent when ${who} signs in here again.`
        : `Send them now, or keep them on this handheld for ${who} (sent when ${who} signs in here again).`),
      h("button", { type: "button", class: "primary big", id: "signout-replay", disabled: offline, onClick: send }, "Send them, then sign out"),
      h("button", { type: "button", id: "signout-keep", onClick: () => done(true) }, `Keep them for ${who} and sign out`),
      h("button", { type: "button", class: "link", id: "signout-cancel", onClick: () => done(false) }, "Stay signed in"),
    ].filter(Boolean));
    document.body.append(sheet);
  });
}

/** The next person to sign in on this handheld starts at their own home, not at this one's. */
function endSession() {
  clearSession();
  localStorage.removeItem(LAST_SCREEN_KEY);
  history.replaceState(null, "", location.pathname + location.search);
  show();
}

/**
 * `/?unregister-sw` removes the service worker and its caches on a handheld without DevTools;
 * see pwa/README.md.
 */
async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  if (new URLSearchParams(location.search).has("unregister-sw")) {
    const registrations = await navigator.serviceWorker.getRegistrations();
    await Promise.all(registrations.map((registration) => registration.unregister()));
    const names = await caches.keys();
    await Promise.all(names.filter((name) => name.startsWith("lotline-shell-")).map((name) => caches.delete(name)));
    document.body.dataset.serviceWorker = "unregistered";
    return;
  }
  try {
    // A module worker: it imports outbox.js to replay the queue with no page open.
    await navigator.serviceWorker.register("/sw.js", { scope: "/", type: "module" });
    document.body.dataset.serviceWorker = "registered";
  } catch (error) {
    console.warn("the service worker did not register", error);
  }
}

window.addEventListener(SIGNED_OUT_EVENT, endSession);
window.addEventListener("hashchange", show);
// Starting audio takes the main thread for a moment: do it on a touch or on Enter, never
// in the middle of a wedge scanner's burst of keys.
window.addEventListener("pointerdown", unlockAudio, { capture: true, passive: true });
window.addEventListener("keyup", (event) => event.key === "Enter" && unlockAudio(), { capture: true });

show();
registerServiceWorker();
