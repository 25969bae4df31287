// Every way a barcode gets in: the camera, a keyboard-wedge scanner, or a person typing.
// Each delivers the same thing to its `onScan`: {raw, symbology, source}, where raw keeps GS
// separators as "\x1d" and symbology is the AIM identifier ("]d2", "]C1") when known.

import { h } from "./dom.js";

export const GS = "\x1d";

const STAND_INS_KEY = "lotline.gsStandIns";
const DEFAULT_STAND_INS = "|";

const WEDGE_MAX_GAP_MS = 40; // a scanner types a key every few ms; people take 100 ms or more
const WEDGE_HICCUP_MS = 250;
const WEDGE_MIN_LENGTH = 3;
const DUPLICATE_WINDOW_MS = 1500;
const FRAME_PAUSE_MS = 60;

const ZXING_MODULE = "/static/vendor/zxing-wasm/reader/index.js";
const ZXING_WASM = "/static/vendor/zxing-wasm/zxing_reader.wasm";
const FORMATS = ["DataMatrix", "QRCode", "Code128", "DataBar", "EANUPC", "ITF", "Code39"];
const NATIVE_FORMATS = ["data_matrix", "qr_code", "code_128", "ean_13", "ean_8", "upc_a", "upc_e", "itf", "code_39"];

/** Characters a scanner may be set to send in place of GS (it has no key); "|" by default. */
export function gsStandIns() {
  return localStorage.getItem(STAND_INS_KEY) ?? DEFAULT_STAND_INS;
}

export function setGsStandIns(characters) {
  localStorage.setItem(STAND_INS_KEY, characters);
}

/** Map GS stand-ins to "\x1d" and trim the ends; String.trim() leaves "\x1d" alone. */
export function normaliseScan(text, standIns = gsStandIns()) {
  let raw = "";
  for (const character of text) raw += standIns.includes(character) ? GS : character;
  return raw.trim();
}

function isEditable(element) {
  if (!element || element === document.body) return false;
  if (element.isContentEditable) return true;
  if (element.tagName === "TEXTAREA" || element.tagName === "SELECT") return true;
  if (element.tagName !== "INPUT") return false;
  return !["button", "submit", "reset", "checkbox", "radio", "range", "color", "file"].includes(element.type);
}

const MODIFIER_KEYS = new Set(["Shift", "Control", "Alt", "AltGraph", "Meta", "CapsLock"]);

/** The digit of a numeric-keypad key pressed with Alt held (Alt+0029 is how some scanners
 * type GS), or null. */
function altCodeDigit(event) {
  if (!event.altKey) return null;
  const match = /^Numpad(\d)$/.exec(event.code);
  return match ? match[1] : null;
}

function wedgeCharacter(event) {
  if (event.key === GS) return GS;
  if (event.ctrlKey && (event.key === "]" || event.code === "BracketRight")) return GS;
  if (event.ctrlKey || event.metaKey || event.altKey) return null;
  return event.key.length === 1 ? event.key : null;
}

/**
 * Listen for a keyboard-wedge scanner anywhere on the page while no field has the focus: a
 * burst of keys ending in Enter or Tab, WEDGE_MAX_GAP_MS apart on average and never more than
 * WEDGE_HICCUP_MS apart, is one scan (a busy handheld may stall one key; a person typing is
 * slower throughout). A field that has the focus gets the keys itself and its form handles
 * the Enter. Returns a function that stops listening.
 */
export function listenForWedge(onScan) {
  let burst = "";
  let startedAt = 0;
  let lastKeyAt = 0;
  let altCode = "";

  function onKeyDown(event) {
    if (MODIFIER_KEYS.has(event.key) || isEditable(document.activeElement)) return;
    const now = event.timeStamp || performance.now();
    if (now - lastKeyAt > WEDGE_HICCUP_MS) {
      burst = "";
      startedAt = now;
      altCode = "";
    }
    lastKeyAt = now;

    const digit = altCodeDigit(event);
    if (digit !== null) {
      if (!burst && !altCode) startedAt = now;
      altCode += digit;
      event.preventDefault();
      return;
    }

    if (event.key === "Enter" || event.key === "Tab") {
      const keys = burst.length + 1;
      const fast = keys > 1 && (now - startedAt) / (keys - 1) <= WEDGE_MAX_GAP_MS;
      const text = burst;
      burst = "";
      if (!fast || text.length < WEDGE_MIN_LENGTH) return;
      event.preventDefault();
      const raw = normaliseScan(text);
      if (raw) onScan({ raw, symbology: null, source: "wedge" });
      return;
    }
    const character = wedgeCharacter(event);
    if (character === null) return;
    if (!burst) startedAt = now;
    burst += character;
    if (event.ctrlKey) event.preventDefault();
  }

  // Alt+<digits on the keypad>, released: the character with that code (0029 is GS).
  function onKeyUp(event) {
    if (event.key !== "Alt" || !altCode) return;
    const code = Number.parseInt(altCode, 10);
    altCode = "";
    if (code === 29) burst += GS;
    else if (code >= 32 && code <= 126) burst += String.fromCharCode(code);
  }

  window.addEventListener("keydown", onKeyDown, true);
  window.addEventListener("keyup", onKeyUp, true);
  return () => {
    window.removeEventListener("keydown", onKeyDown, true);
    window.removeEventListener("keyup", onKeyUp, true);
  };
}

/** A field and a Scan button for typing a code (or for a wedge aimed at the field). */
export function typedEntry({ id, label, onScan, inputmode = "text" }) {
  const input = h("input", {
    id,
    name: id,
    type: "text",
    autocomplete: "off",
    autocapitalize: "characters",
    spellcheck: "false",
    inputmode,
    enterkeyhint: "go",
    "aria-label": label,
    placeholder: label,
  });
  const form = h(
    "form",
    {
      class: "typed-entry",
      onSubmit: (event) => {
        event.preventDefault();
        const raw = normaliseScan(input.value);
        if (!raw) return;
        input.value = "";
        onScan({ raw, symbology: null, source: "typed" });
      },
    },
    input,
    h("button", { type: "submit", class: "primary" }, "Scan"),
  );
  return form;
}

let zxingReady = null;

async function zxingDecoder() {
  zxingReady ??= import(ZXING_MODULE).then(async (zxing) => {
    // Without this override zxing-wasm fetches its wasm from a CDN; a handheld has no internet.
    await zxing.prepareZXingModule({
      overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? ZXING_WASM : prefix + path) },
      fireImmediately: true,
    });
    return zxing;
  });
  const zxing = await zxingReady;
  const options = { formats: FORMATS, textMode: "Plain", tryHarder: true, maxNumberOfSymbols: 1 };
  return async (imageData) => {
    const [hit] = await zxing.readBarcodes(imageData, options);
    return hit ? { raw: hit.text, symbology: hit.symbologyIdentifier || null } : null;
  };
}

/**
 * The native BarcodeDetector where the device has one, but only if what it reads carries a
 * symbology identifier: without one GS1-128 and plain Code 128 look alike. Today's
 * implementations give none, so the first read decides, and zxing-wasm takes over for good.
 */
async function chooseDecoder() {
  const fallback = zxingDecoder();
  if (!("BarcodeDetector" in window)) return fallback;
  let detector;
  try {
    const supported = await window.BarcodeDetector.getSupportedFormats();
    detector = new window.BarcodeDetector({ formats: NATIVE_FORMATS.filter((f) => supported.includes(f)) });
  } catch {
    return fallback;
  }
  let decided = null;
  return async (imageData) => {
    if (decided) return decided(imageData);
    const [hit] = await detector.detect(imageData);
    if (!hit) return null;
    if (typeof hit.symbologyIdentifier === "string") {
      decided = async (frame) => {
        const [next] = await detector.detect(frame);
        return next ? { raw: next.rawValue, symbology: next.symbologyIdentifier } : null;
      };
      return { raw: hit.rawValue, symbology: hit.symbologyIdentifier };
    }
    decided = await fallback;
    return decided(imageData);
  };
}

/**
 * Continuous scanning from the back camera. Only the part of the picture inside `scanWindow`
 * (an element drawn over the video) is decoded, so the code the user aims at is the one read.
 * The same value seen again within DUPLICATE_WINDOW_MS of its last sighting is ignored, so a
 * label held in view counts once.
 */
export class CameraScanner {
  constructor(video, scanWindow, onScan) {
    this.video = video;
    this.scanWindow = scanWindow;
    this.onScan = onScan;
    this.canvas = document.createElement("canvas");
    this.stream = null;
    this.running = false;
    this.torchOn = false;
    this.lastRaw = null;
    this.lastSeenAt = 0;
  }

  get torchAvailable() {
    const track = this.stream?.getVideoTracks()[0];
    return Boolean(track?.getCapabilities?.().torch);
  }

  async start() {
    if (this.running) return;
    if (!navigator.mediaDevices?.getUserMedia) throw new Error("This browser gives no camera access.");
    this.running = true;
    try {
      const decoderReady = chooseDecoder();
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      });
      this.video.srcObject = this.stream;
      await this.video.play();
      this.decode = await decoderReady;
    } catch (error) {
      this.stop();
      throw error;
    }
    if (this.running) this.loop();
  }

  stop() {
    this.running = false;
    this.stream?.getTracks().forEach((track) => track.stop());
    this.stream = null;
    this.video.srcObject = null;
    this.torchOn = false;
  }

  async setTorch(on) {
    const track = this.stream?.getVideoTracks()[0];
    if (!track || !this.torchAvailable) return false;
    await track.applyConstraints({ advanced: [{ torch: on }] });
    this.torchOn = on;
    return on;
  }

  /** The scan window in video pixels, allowing for object-fit: cover cropping the picture. */
  cropRectangle() {
    const { videoWidth, videoHeight } = this.video;
    const shown = this.video.getBoundingClientRect();
    const target = this.scanWindow.getBoundingClientRect();
    const scale = Math.max(shown.width / videoWidth, shown.height / videoHeight);
    const offsetX = (shown.width - videoWidth * scale) / 2;
    const offsetY = (shown.height - videoHeight * scale) / 2;
    const x = Math.max(0, (target.left - shown.left - offsetX) / scale);
    const y = Math.max(0, (target.top - shown.top - offsetY) / scale);
    const width = Math.min(videoWidth - x, target.width / scale);
    const height = Math.min(videoHeight - y, target.height / scale);
    return { x: Math.round(x), y: Math.round(y), width: Math.round(width), height: Math.round(height) };
  }

  async loop() {
    const context = this.canvas.getContext("2d", { willReadFrequently: true });
    while (this.running) {
      if (this.video.readyState >= 2 && this.video.videoWidth > 0) {
        const crop = this.cropRectangle();
        if (crop.width > 0 && crop.height > 0) {
          this.canvas.width = crop.width;
          this.canvas.height = crop.height;
          context.drawImage(this.video, crop.x, crop.y, crop.width, crop.height, 0, 0, crop.width, crop.height);
          try {
            const hit = await this.decode(context.getImageData(0, 0, crop.width, crop.height));
            if (hit && this.running) this.sighted(hit);
          } catch (error) {
            console.warn("decoding a camera frame failed", error);
          }
        }
      }
      await new Promise((resolve) => setTimeout(resolve, FRAME_PAUSE_MS));
    }
  }

  sighted({ raw, symbology }) {
    const now = performance.now();
    const duplicate = raw === this.lastRaw && now - this.lastSeenAt < DUPLICATE_WINDOW_MS;
    this.lastRaw = raw;
    this.lastSeenAt = now;
    if (!duplicate) this.onScan({ raw, symbology, source: "camera" });
  }
}
