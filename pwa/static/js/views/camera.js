// The camera panel both screens share: the live picture, the scan window drawn over it, the
// torch button where the camera has a torch, and a button that turns the camera on and off.

import { h } from "../dom.js";
import { CameraScanner } from "../scanner.js";

const PREFERENCE_KEY = "lotline.camera";

export function cameraPanel({ onScan, onError }) {
  const video = h("video", { playsinline: true, muted: true, autoplay: true, "aria-label": "Camera picture" });
  video.muted = true;
  const scanWindow = h("div", { class: "scan-window", "aria-hidden": "true" });
  const torch = h("button", { type: "button", class: "torch", hidden: true, "aria-pressed": "false" }, "Torch");
  const viewport = h("div", { class: "camera", hidden: true }, video, scanWindow, torch);
  const toggle = h("button", { type: "button", class: "camera-toggle", "aria-pressed": "false" }, "Camera");
  const scanner = new CameraScanner(video, scanWindow, onScan);

  async function start() {
    viewport.hidden = false;
    toggle.setAttribute("aria-pressed", "true");
    toggle.textContent = "Stop camera";
    localStorage.setItem(PREFERENCE_KEY, "on");
    try {
      await scanner.start();
      torch.hidden = !scanner.torchAvailable;
      viewport.dataset.state = "scanning";
    } catch (error) {
      stop();
      onError?.(`The camera did not start: ${error.message}`);
    }
  }

  function stop({ remember = true } = {}) {
    scanner.stop();
    viewport.hidden = true;
    delete viewport.dataset.state;
    torch.hidden = true;
    toggle.setAttribute("aria-pressed", "false");
    toggle.textContent = "Camera";
    if (remember) localStorage.setItem(PREFERENCE_KEY, "off");
  }

  toggle.addEventListener("click", () => (scanner.running ? stop() : start()));
  torch.addEventListener("click", async () => {
    const on = await scanner.setTorch(!scanner.torchOn).catch(() => false);
    torch.setAttribute("aria-pressed", String(on));
  });

  return {
    viewport,
    toggle,
    /** Turn the camera on if it was on when this handheld last used it. */
    resume: () => localStorage.getItem(PREFERENCE_KEY) === "on" && start(),
    destroy: () => stop({ remember: false }),
  };
}
