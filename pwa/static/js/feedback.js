// What a scan feels like: a tone, a vibration and a full-screen colour flash, each distinct
// for ok, warn and error, so a picker knows the verdict without looking at the screen.

const TONES = {
  ok: [{ hz: 1320, seconds: 0.09, wave: "sine" }],
  warn: [
    { hz: 740, seconds: 0.12, wave: "triangle" },
    { hz: 740, seconds: 0.12, wave: "triangle", after: 0.06 },
  ],
  error: [
    { hz: 180, seconds: 0.25, wave: "square" },
    { hz: 140, seconds: 0.35, wave: "square", after: 0.04 },
  ],
};

const VIBRATIONS = { ok: [40], warn: [90, 60, 90], error: [300, 120, 300] };

let audio = null;

/** Browsers start audio only after a gesture: main.js calls this on the first touch or key. */
export function unlockAudio() {
  const AudioContext = window.AudioContext ?? window.webkitAudioContext;
  if (!audio && AudioContext) audio = new AudioContext();
  if (audio?.state === "suspended") audio.resume().catch(() => {});
}

function playTones(kind) {
  if (!audio || audio.state !== "running") return;
  let start = audio.currentTime + 0.01;
  for (const tone of TONES[kind]) {
    start += tone.after ?? 0;
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.type = tone.wave;
    oscillator.frequency.value = tone.hz;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.4, start + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + tone.seconds);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start(start);
    oscillator.stop(start + tone.seconds + 0.02);
    start += tone.seconds;
  }
}

function flash(kind) {
  const overlay = document.getElementById("flash");
  if (!overlay) return;
  overlay.className = "";
  void overlay.offsetWidth; // restart the animation when two scans come quickly
  overlay.className = `flash-${kind}`;
}

/** Signal a verdict: kind is the API's `feedback`, one of "ok", "warn", "error". */
export function signal(kind) {
  const known = kind in TONES ? kind : "error";
  document.body.dataset.feedback = known;
  playTones(known);
  try {
    navigator.vibrate?.(VIBRATIONS[known]);
  } catch {
    // Some browsers throw before the first gesture; the tone and flash still tell.
  }
  flash(known);
}
