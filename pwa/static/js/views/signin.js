// Signing in: scan the badge (camera, wedge scanner or typed) and enter the PIN, or use a
// username and password. The token lands in the session and main.js shows the work screens.

import { api } from "../api.js";
import { h } from "../dom.js";
import { signal } from "../feedback.js";
import { listenForWedge } from "../scanner.js";
import { deviceId, deviceName, saveSession } from "../session.js";
import { cameraPanel } from "./camera.js";

const HINTS = {
  badge: "Scan your badge, then enter your PIN.",
  password: "Enter your username and password.",
};

export function showSignIn(root, { onSignedIn }) {
  let mode = "badge";
  const hint = h("p", { class: "hint" }, HINTS.badge);
  const error = h("p", { id: "signin-error", class: "error-message", role: "alert", hidden: true });

  const badge = h("input", {
    id: "badge", name: "badge", type: "text", autocomplete: "off", autocapitalize: "characters",
    spellcheck: "false", placeholder: "Scan or type your badge",
  });
  const pin = h("input", {
    id: "pin", name: "pin", type: "password", inputmode: "numeric", autocomplete: "off",
    pattern: "[0-9]*", placeholder: "PIN",
  });
  const username = h("input", { id: "username", name: "username", type: "text", autocomplete: "username", autocapitalize: "none", placeholder: "Username" });
  const password = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", placeholder: "Password" });

  const badgeFields = h("div", { class: "fields", id: "badge-fields" },
    h("label", { for: "badge" }, "Badge"), badge,
    h("label", { for: "pin" }, "PIN"), pin);
  const passwordFields = h("div", { class: "fields", id: "password-fields", hidden: true },
    h("label", { for: "username" }, "Username"), username,
    h("label", { for: "password" }, "Password"), password);

  function badgeScanned({ raw }) {
    if (mode !== "badge") return;
    badge.value = raw;
    showError(null);
    signal("ok");
    camera.destroy();
    pin.focus();
  }
  const camera = cameraPanel({ onScan: badgeScanned, onError: (message) => showError(message) });

  const switchMode = h("button", { type: "button", class: "link", id: "switch-mode" }, "Use username and password");
  switchMode.addEventListener("click", () => {
    mode = mode === "badge" ? "password" : "badge";
    badgeFields.hidden = mode !== "badge";
    passwordFields.hidden = mode === "badge";
    camera.toggle.hidden = mode !== "badge";
    if (mode !== "badge") camera.destroy();
    switchMode.textContent = mode === "badge" ? "Use username and password" : "Use badge and PIN";
    hint.textContent = HINTS[mode];
    showError(null);
  });

  const submit = h("button", { type: "submit", class: "primary", id: "sign-in" }, "Sign in");
  const form = h("form", { class: "signin-form", novalidate: true },
    badgeFields, passwordFields, error,
    h("div", { class: "dock" }, camera.viewport, h("div", { class: "dock-row" }, camera.toggle, submit), switchMode));

  function showError(message) {
    error.hidden = !message;
    error.textContent = message ?? "";
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = mode === "badge"
      ? { badge: badge.value.trim(), pin: pin.value.trim() }
      : { username: username.value.trim(), password: password.value };
    if (Object.values(body).some((value) => !value)) {
      showError(mode === "badge" ? "Scan your badge and enter your PIN." : "Enter your username and password.");
      signal("error");
      return;
    }
    submit.disabled = true;
    try {
      const session = await api("/api/auth/login", {
        method: "POST",
        body: { ...body, deviceId: deviceId(), deviceName: deviceName() },
      });
      saveSession(session);
      signal("ok");
      onSignedIn();
    } catch (problem) {
      showError(problem.message);
      signal("error");
      pin.value = "";
      password.value = "";
    } finally {
      submit.disabled = false;
    }
  });

  const stopWedge = listenForWedge(badgeScanned);
  root.append(
    h("header", { class: "bar" }, h("h1", {}, "lotline"), h("span", { class: "bar-note" }, "Sign in")),
    h("section", { class: "content" }, hint, form),
  );
  return {
    destroy() {
      stopWedge();
      camera.destroy();
    },
  };
}
