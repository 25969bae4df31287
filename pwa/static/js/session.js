// Who is signed in on this handheld (token and user, in localStorage so a reload keeps the
// shift going, and in IndexedDB for the service worker's replay) and the handheld's own
// stable id, sent with every sign-in and scan.

import { forgetSession, keepSession } from "./outbox.js";
import { uuid } from "./uuid.js";

const SESSION_KEY = "lotline.session";
const DEVICE_KEY = "lotline.deviceId";

/** What kind of handheld this is ("Android phone · Chrome"), sent at sign-in so a supervisor
 * can tell devices apart in the console (a lost one to revoke, who acknowledged a hold). */
export function deviceName() {
  const agent = navigator.userAgent;
  const kind = /iPad/.test(agent) ? "iPad"
    : /iPhone/.test(agent) ? "iPhone"
    : /Android/.test(agent) ? (/Mobile/.test(agent) ? "Android phone" : "Android tablet")
    : /Windows/.test(agent) ? "Windows PC"
    : /Macintosh/.test(agent) ? "Mac"
    : /CrOS/.test(agent) ? "Chromebook"
    : /Linux/.test(agent) ? "Linux"
    : "Device";
  const browser = /Edg\//.test(agent) ? "Edge"
    : /Firefox\//.test(agent) ? "Firefox"
    : /(Chrome|Chromium|CriOS)\//.test(agent) ? "Chrome"
    : /Safari\//.test(agent) ? "Safari"
    : "browser";
  return `${kind} · ${browser}`;
}

export function deviceId() {
  let id = localStorage.getItem(DEVICE_KEY);
  if (!id) {
    id = uuid();
    localStorage.setItem(DEVICE_KEY, id);
  }
  return id;
}

/** The signed-in {token, expiresAt, user}, or null when nobody is or the token has expired. */
export function currentSession() {
  let session;
  try {
    session = JSON.parse(localStorage.getItem(SESSION_KEY) ?? "null");
  } catch {
    session = null;
  }
  if (!session?.token) return null;
  if (session.expiresAt && Date.parse(session.expiresAt) <= Date.now()) {
    clearSession();
    return null;
  }
  return session;
}

export function saveSession({ token, expiresAt, user }) {
  localStorage.setItem(SESSION_KEY, JSON.stringify({ token, expiresAt, user }));
  shareSession({ token, expiresAt, user });
}

/** The session where the service worker can read it (it has no localStorage). */
export function shareSession({ token, expiresAt, user }) {
  keepSession({ token, expiresAt, user, deviceId: deviceId() }).catch(() => {});
}

export function clearSession() {
  localStorage.removeItem(SESSION_KEY);
  forgetSession().catch(() => {});
}
