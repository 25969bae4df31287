// The handheld app's entry: registers the service worker, then shows sign-in or the lookup
// screen depending on whether this handheld holds a valid token.

import { api, SIGNED_OUT_EVENT } from "./api.js";
import { unlockAudio } from "./feedback.js";
import { clearSession, currentSession } from "./session.js";
import { showLookup } from "./views/lookup.js";
import { showSignIn } from "./views/signin.js";

const root = document.getElementById("app");
let view = null;

function show() {
  view?.destroy();
  root.replaceChildren();
  const session = currentSession();
  document.body.dataset.screen = session ? "lookup" : "signin";
  view = session
    ? showLookup(root, { session, onSignOut: signOut })
    : showSignIn(root, { onSignedIn: show });
}

async function signOut() {
  await api("/api/auth/logout", { method: "POST" }).catch(() => {});
  clearSession();
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
    await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    document.body.dataset.serviceWorker = "registered";
  } catch (error) {
    console.warn("the service worker did not register", error);
  }
}

window.addEventListener(SIGNED_OUT_EVENT, () => {
  clearSession();
  show();
});
// Starting audio takes the main thread for a moment: do it on a touch or on Enter, never
// in the middle of a wedge scanner's burst of keys.
window.addEventListener("pointerdown", unlockAudio, { capture: true, passive: true });
window.addEventListener("keyup", (event) => event.key === "Enter" && unlockAudio(), { capture: true });

show();
registerServiceWorker();
