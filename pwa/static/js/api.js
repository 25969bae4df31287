// Talking to the lotline API: JSON in and out, the signed-in token on every call, and
// problem+json errors (RFC 9457) turned into ApiError with the server's stable `code`.
// The task screens' GETs are kept in IndexedDB as last answered, and given back when the
// network fails, so a handheld reloaded offline still shows its task (docs: pwa/README.md).

import { cachedEntry, keep } from "./outbox.js";
import { currentSession } from "./session.js";

/** GETs whose last answer is kept for offline use: the pick, pack, return and count data. */
const KEPT_GETS = [/^\/api\/pick-tasks/, /^\/api\/orders/, /^\/api\/returns/, /^\/api\/count-tasks/];

function keptAs(path, method, session) {
  if (method !== "GET" || !session || !KEPT_GETS.some((pattern) => pattern.test(path))) return null;
  return `get ${session.user?.username} ${path}`;
}

/** When each answer was known at the server (ms): now for a fresh one, when it was kept for
 * one given back offline. Screens add queued scans' effects only to data older than them. */
const ANSWERED_AT = new WeakMap();

/** When the server gave `payload` (api()'s answer), or undefined. */
export function answeredAt(payload) {
  return payload !== null && typeof payload === "object" ? ANSWERED_AT.get(payload) : undefined;
}

function stamped(payload, at) {
  if (payload !== null && typeof payload === "object") ANSWERED_AT.set(payload, at);
  return payload;
}

/** Fired on window when the server no longer accepts this handheld's token. */
export const SIGNED_OUT_EVENT = "lotline:signed-out";

export class ApiError extends Error {
  constructor(status, code, detail, problem = null) {
    super(detail);
    this.status = status;
    this.code = code;
    this.problem = problem;
  }
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json, application/problem+json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const session = currentSession();
  const token = session?.token;
  const kept = keptAs(path, method, session);
  if (token) headers.Authorization = `Bearer ${token}`;

  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    const last = kept ? await cachedEntry(kept).catch(() => undefined) : undefined;
    if (last !== undefined) return stamped(last.value, last.at ?? 0);
    throw new ApiError(0, "offline", "No connection to the server. Check the Wi-Fi and scan again.");
  }

  const type = response.headers.get("content-type") ?? "";
  const payload = type.includes("json") ? await response.json().catch(() => null) : null;
  if (response.ok) {
    if (kept) keep(kept, payload).catch(() => {});
    return stamped(payload, Date.now());
  }

  const problem = payload ?? {};
  const error = new ApiError(
    response.status,
    problem.code ?? `http_${response.status}`,
    problem.detail ?? problem.title ?? `The server answered ${response.status}.`,
    payload,
  );
  if (response.status === 401 && token) window.dispatchEvent(new CustomEvent(SIGNED_OUT_EVENT));
  throw error;
}
