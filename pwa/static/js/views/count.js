// Cycle counting, one bin at a time. The list shows the counter's open count tasks (a recount
// is one, made for someone other than the first counter); scanning a bin's label there opens
// its task. A task starts with the bin's label, then each lot's label and how many units of it
// are there, on a big number pad; a lot scanned again adds to its count, a line tapped is
// corrected, and Submit finishes the bin (lots not scanned count as none). A blind count never
// shows what the system expects: the screen shows only what the counter counted.
// Offline, the bin and each lot are checked on the handheld (offline.js: the task as last
// loaded and the warehouse snapshot) and queued, their lines shown as pending; a correction
// and Submit are queued behind them (keyed writes), and after the replay the task is reloaded.

import { api } from "../api.js";
import { h } from "../dom.js";
import { signal } from "../feedback.js";
import {
  checkCountOffline,
  countedOffline,
  hasQueued,
  isOffline,
  parseGs1,
  queueWriteOffline,
  withQueuedCounts,
} from "../offline.js";
import { uuid } from "../uuid.js";
import { acceptance, cameraErrorIn, rejection, scanningScreen, sendScan, tell } from "./scanning-screen.js";
import { taskScreen } from "./task-screen.js";

const MAX_COUNT = 1_000_000;

/** Replace `element`'s children; null ones (parts not shown) are left out. */
function fill(element, ...children) {
  element.replaceChildren(...children.filter(Boolean));
}

function isRecount(task) {
  return Boolean(task.recountOf);
}

/** Whether the counter has scanned the bin's label (the task's start). */
function started(task) {
  return Boolean(task.startedAt);
}

/** Expected quantities are shown only where the count says it is not blind. */
function showsExpected(task) {
  return task.blind === false;
}

export function showCountTasks(root, { session, onSignOut, go, nav, handoff }) {
  let tasks = [];
  const list = h("ol", { class: "task-list", id: "count-list" });
  const message = h("div", { class: "scan-message", id: "count-tasks-message" });

  const screen = scanningScreen(root, {
    title: "Count",
    session,
    onSignOut,
    nav,
    contentId: "count-tasks",
    entryLabel: "Bin label",
    onScan: scanned,
    onCameraError: cameraErrorIn(message),
  });
  const notice = handoff?.message ? h("p", { class: "done-message", id: "notice", role: "status" }, handoff.message) : null;
  screen.content.append(...[notice, message, h("h2", { class: "list-heading" }, "Bins to count"), list].filter(Boolean));

  /** A bin's label scanned here opens its task, and counts as that task's bin scan. */
  function scanned(scan) {
    const wanted = scan.raw.toUpperCase();
    const task = tasks.find((candidate) =>
      [candidate.bin.barcode, candidate.bin.code].some((value) => value && value.toUpperCase() === wanted));
    if (task) {
      go(`#/count/${task.id}`, { scan });
      return;
    }
    tell(message, rejection(tasks.length ? "No count task of yours is for that bin." : "You have no count tasks.", "no_count_task", scan));
    signal("error");
  }

  function render() {
    list.replaceChildren(...tasks.map((task) =>
      h("li", {},
        h("button", { type: "button", class: "task count-task", id: `count-task-${task.id}`, "data-task-id": task.id, onClick: () => go(`#/count/${task.id}`) },
          h("span", { class: "task-bin" }, task.bin.code),
          h("span", { class: "task-quantity" }, isRecount(task) ? "Recount" : started(task) ? "Started" : ""),
          task.note ? h("span", { class: "task-what" }, task.note) : null,
          h("span", { class: "task-order" }, `${task.bin.warehouse} · count ${task.countId} · ${task.assignee ?? "anyone"}`)))));
    if (!tasks.length) list.append(h("li", { class: "none", id: "no-count-tasks" }, "No bins to count."));
  }

  (async () => {
    try {
      tasks = (await withQueuedCounts(await api("/api/count-tasks"), session)).filter((task) => !task.submittedPending);
      render();
    } catch (problem) {
      tell(message, rejection(problem.message, problem.code));
      signal("error");
    }
  })();
  return screen;
}

export function showCount(root, { session, onSignOut, go, taskId, handoff }) {
  let task = null;
  const pad = numberPad();

  const submit = h("button", { type: "button", class: "primary big", id: "submit-count", hidden: true }, "Submit count");
  const screen = taskScreen(root, {
    afterReplay: load,
    title: "Count",
    session,
    onSignOut,
    actions: h("div", { class: "dock-row" }, submit),
    back: { label: "Bins", onClick: () => go("#/count") },
    contentId: "count",
    card: { id: "count-card", class: "count-card", loading: "Loading the task…" },
    messageId: "count-message",
    sheet: { id: "count-sheet", class: "sheet count-sheet" },
    onScan: scanned,
  });
  const { card, message, sheet, inTurn } = screen;

  function counting() {
    return task && ["open", "counting"].includes(task.status);
  }

  function render() {
    const step = started(task) ? "lot" : "bin";
    const lines = task.lines ?? [];
    const expected = showsExpected(task);
    submit.hidden = !counting() || step === "bin";
    card.dataset.taskId = task.id;
    card.dataset.status = task.status;
    fill(card,
      h("div", { class: "pick-head" },
        h("p", { class: "step", id: "count-step", "data-step": step },
          !counting() ? "Submitted" : step === "bin" ? "1 · Scan the bin" : "2 · Scan each lot"),
        isRecount(task) ? h("p", { class: "status-chip recount-chip", id: "recount-chip" }, "RECOUNT") : null),
      h("div", { class: `pick-field pick-bin${step === "lot" ? " confirmed" : ""}` },
        h("span", { class: "field-label" }, step === "lot" ? "Bin ✓" : "Bin"),
        h("p", { class: "bin-code", id: "count-bin" }, task.bin.code)),
      task.note ? h("p", { class: "order-note" }, task.note) : null,
      step === "lot"
        ? h("p", { class: "hint" }, "Scan a unit of each lot in the bin and enter how many there are. Tap a line to correct it.")
        : null,
      h("h2", { class: "list-heading" }, `Counted (${lines.length} ${lines.length === 1 ? "lot" : "lots"})`),
      h("ul", { class: "count-lines", id: "count-lines" }, lines.map((line) =>
        h("li", {},
          h("button", {
            type: "button",
            class: `count-line${line.pending ? " pending" : ""}`,
            id: `count-line-${line.lotId}`,
            "data-lot-id": line.lotId,
            "data-counted": line.counted,
            "data-pending": String(Boolean(line.pending)),
            disabled: !counting(),
            onClick: () => correct(line),
          },
            h("span", { class: "row-title" }, line.lotCode),
            h("span", { class: "count-counted" }, String(line.counted)),
            h("span", { class: "row-note" }, [line.sku, line.productName, line.pending ? "queued" : null].filter(Boolean).join(" · ")),
            expected && line.expected !== undefined && line.expected !== null
              ? h("span", { class: "row-note count-expected" }, `System: ${line.expected}`)
              : null)))),
    );
    if (!lines.length) card.querySelector("#count-lines").append(h("li", { class: "none", id: "no-count-lines" }, "Nothing counted yet."));
  }

  /** The task from the server; offline, as last loaded, alone or in the list of tasks. */
  async function taskAsKnown() {
    try {
      return await api(`/api/count-tasks/${taskId}`);
    } catch (problem) {
      const listed = problem.code === "offline" ? (await api("/api/count-tasks")).find((candidate) => candidate.id === taskId) : null;
      if (!listed) throw problem;
      return listed;
    }
  }

  async function load() {
    try {
      task = await withQueuedCounts(await taskAsKnown(), session);
      render();
    } catch (problem) {
      card.replaceChildren(rejection(problem.message, problem.code));
      signal("error");
    }
  }

  /** The answer to a count scan: the task as the server now has it (or with the offline
   * check's effect on it), and the verdict felt. */
  function judged(verdict, scan) {
    signal(verdict.feedback);
    if (verdict.count) task = verdict.count;
    if (verdict.offline && verdict.effect) task = countedOffline(task, verdict.effect);
    render();
    if (verdict.verdict !== "accepted") {
      tell(message, rejection(verdict.message, verdict.code, scan));
      return;
    }
    tell(message, verdict.offline
      ? h("p", { class: "warning-message offline-check", id: "scan-queued", "data-code": verdict.code }, verdict.message)
      : acceptance(verdict, "count-accepted"));
  }

  async function send(scan, fields = {}) {
    tell(message, h("p", { class: "pending" }, "Checking…"));
    const seen = task;
    try {
      judged(await sendScan("count", scan, { countId: task.id, ...fields }, {
        offlineCheck: () => checkCountOffline(seen, scan, { quantity: fields.quantity ?? 1 }),
      }), scan);
    } catch (problem) {
      tell(message, rejection(problem.message, problem.code, scan));
      signal("error");
    }
  }

  /** The bin's label goes straight to the server; a lot's opens the pad for its count. */
  async function scanned(scan) {
    if (!task) return;
    if (!sheet.hidden) {
      tell(message, rejection("Enter the count on the pad first, or Cancel.", "pad_open", scan));
      signal("error");
      return;
    }
    if (!counting()) {
      tell(message, rejection("This count is submitted.", "count_submitted", scan));
      signal("error");
      return;
    }
    if (!started(task)) {
      await send(scan);
      return;
    }
    let parsed = null;
    try {
      const body = { raw: scan.raw };
      if (scan.symbology) body.symbology = scan.symbology;
      parsed = await api("/api/barcodes/parse", { method: "POST", body });
    } catch (problem) {
      // Offline the handheld reads the lot itself; otherwise the server judges the scan.
      parsed = problem.code === "offline" ? parseGs1(scan.raw) : null;
    }
    if (!parsed?.lot) {
      await send(scan);
      return;
    }
    const already = (task.lines ?? []).find((line) => line.lotCode === parsed.lot);
    signal("ok");
    openPad({
      title: `Lot ${parsed.lot}`,
      note: already ? `Adds to the ${already.counted} counted` : "How many units of this lot are in the bin?",
      confirm: "Count",
      allowZero: false,
      onConfirm: (quantity) => send(scan, { quantity }),
    });
  }

  function correct(line) {
    if (!counting()) return;
    openPad({
      title: `Lot ${line.lotCode}`,
      note: `Counted ${line.counted}. Enter the right count.`,
      confirm: "Set count",
      allowZero: true,
      onConfirm: (quantity) => setLine(line, quantity),
    });
  }

  async function setLine(line, quantity) {
    tell(message, h("p", { class: "pending" }, "Correcting…"));
    const path = `/api/count-tasks/${task.id}/lines/${line.lotId}`;
    const body = { quantity, idempotencyKey: uuid() };
    const queued = async () => {
      const effect = { countTaskId: task.id, lotId: line.lotId, set: quantity };
      await queueWriteOffline(path, body, { session, effect, done: { code: "count_corrected", message: `Lot ${line.lotCode}: ${quantity} in ${task.bin.code}.` } });
      task = countedOffline(task, effect);
      signal("warn");
      render();
      tell(message, h("p", { class: "warning-message offline-check", id: "count-corrected", "data-queued": "true" },
        `Lot ${line.lotCode}: ${quantity}. Queued until the server is back.`));
    };
    // Scans still queued go first: the correction waits behind them.
    if (isOffline() || (await hasQueued(session))) {
      await queued();
      return;
    }
    try {
      task = await api(path, { method: "POST", body });
    } catch (problem) {
      if (problem.code === "offline") {
        await queued();
        return;
      }
      tell(message, rejection(problem.message, problem.code));
      signal("error");
      return;
    }
    signal("ok");
    render();
    tell(message, h("p", { class: "ok-message", id: "count-corrected" }, `Lot ${line.lotCode}: ${quantity}.`));
  }

  function openPad({ title, note, confirm, allowZero, onConfirm }) {
    pad.reset();
    const ok = h("button", { type: "button", class: "primary big", id: "pad-ok" }, confirm);
    pad.onChange((value) => (ok.disabled = value === null || (!allowZero && value === 0)));
    ok.disabled = true;
    ok.addEventListener("click", () => {
      const value = pad.value;
      sheet.hidden = true;
      inTurn(() => onConfirm(value));
    });
    sheet.replaceChildren(
      h("p", { class: "sheet-title", id: "pad-title" }, title),
      h("p", { class: "pad-note" }, note),
      pad.element,
      ok,
      h("button", { type: "button", class: "link", id: "pad-cancel", onClick: () => (sheet.hidden = true) }, "Cancel"),
    );
    sheet.hidden = false;
  }

  // A retried Submit (its answer lost) submits once.
  const submitKey = uuid();

  submit.addEventListener("click", () => {
    const lines = task.lines ?? [];
    sheet.replaceChildren(
      h("p", { class: "sheet-title" }, `Submit the count of bin ${task.bin.code}?`),
      h("p", { class: "pad-note" },
        `${lines.length} ${lines.length === 1 ? "lot" : "lots"} counted. Any lot you did not scan counts as none in this bin.`),
      h("button", { type: "button", class: "primary big", id: "submit-confirm", onClick: () => inTurn(submitCount) }, "Submit"),
      h("button", { type: "button", class: "link", id: "submit-cancel", onClick: () => (sheet.hidden = true) }, "Keep counting"),
    );
    sheet.hidden = false;
  });

  async function submitCount() {
    sheet.hidden = true;
    submit.disabled = true;
    tell(message, h("p", { class: "pending" }, "Submitting…"));
    const path = `/api/count-tasks/${task.id}/submit`;
    const body = { idempotencyKey: submitKey };
    // Scans still queued go first: the submit waits behind them in the queue.
    let queued = isOffline() || (await hasQueued(session));
    try {
      if (!queued) task = await api(path, { method: "POST", body });
    } catch (problem) {
      if (problem.code !== "offline") {
        tell(message, rejection(problem.message, problem.code));
        signal("error");
        return;
      }
      queued = true;
    } finally {
      submit.disabled = false;
    }
    if (queued) {
      await queueWriteOffline(path, body, {
        session,
        effect: { countTaskId: task.id, submitted: true },
        done: { code: "count_submitted", message: `Count of bin ${task.bin.code} submitted.` },
      });
      signal("warn");
      go("#/count", { replace: true, message: `Bin ${task.bin.code} counted. The count is queued and sent when the server is back.` });
      return;
    }
    signal("ok");
    go("#/count", { replace: true, message: `Bin ${task.bin.code} counted. Thank you.` });
  }

  inTurn(load);
  if (handoff?.scan) inTurn(() => scanned(handoff.scan));
  return screen;
}

/** A big number pad: digits, delete, clear; `value` is null until a digit is tapped. */
function numberPad() {
  let digits = "";
  let changed = () => {};
  const shown = h("output", { class: "pad-value", id: "pad-value", "aria-live": "polite" }, "");

  function set(next) {
    digits = next.replace(/^0+(?=\d)/, "");
    if (Number(digits) > MAX_COUNT) digits = String(MAX_COUNT);
    shown.textContent = digits || "0";
    shown.classList.toggle("empty", !digits);
    changed(digits ? Number(digits) : null);
  }

  const key = (label, id, onClick, extra = {}) =>
    h("button", { type: "button", class: "pad-key", id, onClick, ...extra }, label);
  const keys = [
    ..."123456789".split("").map((digit) => key(digit, `pad-${digit}`, () => set(digits + digit))),
    key("C", "pad-clear", () => set(""), { "aria-label": "Clear" }),
    key("0", "pad-0", () => set(digits + "0")),
    key("⌫", "pad-back", () => set(digits.slice(0, -1)), { "aria-label": "Delete a digit" }),
  ];
  return {
    element: h("div", { class: "number-pad" }, shown, h("div", { class: "pad-keys" }, keys)),
    get value() {
      return digits ? Number(digits) : null;
    },
    reset() {
      set("");
    },
    onChange(listener) {
      changed = listener;
    },
  };
}
