// Picking one task: where to go (the bin, big), what (SKU and product), which lot (big, with
// its expiry and days left) and how many. Step 1 is scanning the bin's label, step 2 the lot's
// GS1 code; the server judges both, and its verdict is shown and felt (tone, vibration,
// flash). The stepper confirms several units with one scan; Short records units not there.
// A finished task gives way to the next in walking order, the last one to the task list.
// A hold on the task's lot marks it at once; the task the hold moved to another lot and bin
// (or made short) is reloaded from the server by itself.
// Offline, scans are checked on the handheld (offline.js: the task and the warehouse
// snapshot), accepted ones queued and the task advanced at once; after the queue is
// replayed the task is reloaded as the server has it.

import { api } from "../api.js";
import { h } from "../dom.js";
import { signal } from "../feedback.js";
import { onLive } from "../live.js";
import { checkPickOffline, withQueuedEffects } from "../offline.js";
import { deviceId } from "../session.js";
import { uuid } from "../uuid.js";
import { daysUntil, expiryText, quantityStepper, rejection, sendScan, tell } from "./scanning-screen.js";
import { taskScreen } from "./task-screen.js";

const SHORT_REASONS = [
  ["not_found", "Not found"],
  ["damaged", "Damaged"],
  ["short_in_bin", "Short in bin"],
  ["other", "Other"],
];

const WAVE_DONE = "Wave done: no pick tasks left.";

function remaining(task) {
  return task.quantity - task.picked - task.short;
}

/** A task with an offline scan's effect on it: its bin confirmed, or units picked. */
function applied(task, effect) {
  const updated = { ...task };
  if (effect.binConfirmed) updated.binConfirmed = true;
  if (effect.picked) updated.picked += effect.picked;
  return updated;
}

export function showPick(root, { session, onSignOut, go, taskId, handoff }) {
  let task = null;
  let tasks = [];
  const heldLots = new Set();

  const stepper = quantityStepper({ id: "pick-quantity" });
  const shortButton = h("button", { type: "button", class: "short", id: "short" }, "Short");
  const screen = taskScreen(root, {
    afterReplay: replayed,
    title: "Pick",
    session,
    onSignOut,
    actions: h("div", { class: "dock-row pick-actions" }, stepper.element, shortButton),
    back: { label: "Tasks", onClick: () => go("#/tasks") },
    contentId: "pick",
    card: { id: "pick-card", class: "pick-card", loading: "Loading the task…" },
    messageId: "pick-message",
    sheet: { id: "short-sheet", class: "sheet" },
    onScan: scanned,
  });
  const { card, message, sheet, inTurn } = screen;

  function render() {
    const step = task.binConfirmed ? "lot" : "bin";
    const held = heldLots.has(task.lotId);
    const position = tasks.findIndex((candidate) => candidate.id === task.id);
    stepper.setMax(remaining(task));
    card.dataset.taskId = task.id;
    card.replaceChildren(
      h("div", { class: "pick-head" },
        h("p", { class: "step", id: "pick-step", "data-step": step },
          step === "bin" ? "1 · Scan the bin" : "2 · Scan the lot"),
        h("p", { class: "pick-count", id: "pick-count", "data-picked": task.picked, "data-quantity": task.quantity },
          h("span", { class: "count-big" }, `${task.picked}/${task.quantity}`),
          h("span", { class: "count-word" }, " picked"),
          task.short ? h("span", { class: "count-short" }, ` ${task.short} short`) : null)),
      h("div", { class: `pick-field pick-bin${task.binConfirmed ? " confirmed" : ""}` },
        h("span", { class: "field-label" }, task.binConfirmed ? "Bin ✓" : "Bin"),
        h("p", { class: "bin-code", id: "pick-bin" }, task.bin.code)),
      h("p", { class: "pick-what", id: "pick-product" },
        h("span", { class: "product-name" }, task.productName),
        h("span", { class: "sku" }, ` · ${task.sku}`)),
      h("div", { class: `pick-field pick-lot${held ? " held" : ""}` },
        h("span", { class: "field-label" }, held ? "Lot on hold" : "Lot"),
        h("p", { class: "lot-code", id: "pick-lot" }, task.lotCode),
        h("p", { class: "expiry", id: "pick-expiry" },
          expiryText(task.expiry, task.expiry ? daysUntil(task.expiry) : null))),
      h("p", { class: "order-note" },
        `Order ${task.orderExternalId}${position >= 0 ? ` · task ${position + 1} of ${tasks.length}` : ""}`),
    );
  }

  /** The picker's open tasks, with what their queued offline scans did to them. */
  async function myTasks() {
    return withQueuedEffects(await api("/api/pick-tasks?assignee=me"), session);
  }

  async function load() {
    try {
      tasks = await myTasks();
    } catch (problem) {
      card.replaceChildren(rejection(problem.message, problem.code));
      signal("error");
      return;
    }
    task = tasks.find((candidate) => candidate.id === taskId) ?? null;
    if (task && remaining(task) > 0) render();
    else moveOn(null);
  }

  /** The next open task in walking order on this same screen, or the list when none is left. */
  function moveOn(doneText) {
    const following = tasks.find((candidate) => candidate.id !== task?.id && remaining(candidate) > 0);
    if (!following) {
      go("#/tasks", { replace: true, message: WAVE_DONE });
      return;
    }
    task = following;
    history.replaceState(null, "", `#/pick/${task.id}`);
    stepper.reset();
    render();
    tell(message, doneText
      ? h("p", { class: "ok-message", id: "task-done" }, `${doneText} Next: bin ${task.bin.code}.`)
      : null);
  }

  async function finished(doneText) {
    try {
      tasks = await myTasks();
    } catch (problem) {
      tell(message, rejection(problem.message, problem.code));
      signal("error");
      return;
    }
    moveOn(doneText);
  }

  /** The task as the server now has it. A lot substituted after some units were picked
   * continues as a new task, which takes the old one's place here and in the URL. */
  function replaceTask(updated) {
    const index = tasks.findIndex((candidate) => candidate.id === task.id);
    if (index >= 0) tasks[index] = updated;
    if (updated.id !== task.id) history.replaceState(null, "", `#/pick/${updated.id}`);
    task = updated;
  }

  async function scanned(scan) {
    if (!task) return;
    const fields = { taskId: task.id };
    if (task.binConfirmed) fields.quantity = stepper.value;
    tell(message, h("p", { class: "pending" }, "Checking…"));
    let verdict;
    const judged = task;
    try {
      verdict = await sendScan("pick", scan, fields, {
        offlineCheck: () => checkPickOffline(judged, scan, { quantity: fields.quantity ?? 1, heldLots }),
      });
    } catch (problem) {
      tell(message, rejection(problem.message, problem.code, scan));
      signal("error");
      return;
    }
    signal(verdict.feedback);
    if (verdict.task) replaceTask(verdict.task);
    if (verdict.offline && verdict.effect) replaceTask(applied(task, verdict.effect));
    render();

    if (verdict.verdict !== "accepted") {
      tell(message, rejection(verdict.message, verdict.code, scan));
      return;
    }
    if (verdict.offline) {
      tell(message, h("p", { class: "warning-message offline-check", id: "scan-queued", "data-code": verdict.code }, verdict.message));
      if (verdict.code === "picked") stepper.reset();
      if (remaining(task) <= 0) await finished("Task done (queued).");
      return;
    }
    tell(message, verdict.feedback === "warn"
      ? h("p", { class: "warning-message", id: "scan-warning", "data-code": verdict.code }, verdict.message)
      : h("p", { class: "ok-message", id: "scan-accepted", "data-code": verdict.code }, verdict.message));
    if (verdict.code === "picked" || verdict.code === "lot_substituted") stepper.reset();
    if (remaining(task) <= 0) await finished("Task done.");
  }

  async function reportShort(reason, idempotencyKey) {
    sheet.hidden = true;
    tell(message, h("p", { class: "pending" }, "Recording the shortage…"));
    try {
      replaceTask(await api(`/api/pick-tasks/${task.id}/short`, {
        method: "POST",
        body: { idempotencyKey, reason, deviceId: deviceId() },
      }));
    } catch (problem) {
      tell(message, rejection(problem.message, problem.code));
      signal("error");
      return;
    }
    signal("warn");
    render();
    await finished(`${task.short} short recorded.`);
  }

  /** The lot on screen just went on hold: its task is about to move, and the server refuses
   * the lot meanwhile. */
  function lotHeld({ data }) {
    heldLots.add(data.lotId);
    if (task?.lotId !== data.lotId) return;
    render();
    tell(message, h("p", { class: "error-message", id: "lot-held", role: "alert" },
      `Lot ${data.lotCode} is on hold: do not pick it.`));
  }

  function lotReleased({ data }) {
    heldLots.delete(data.lotId);
    if (task?.lotId === data.lotId) render();
  }

  /** A hold moved one of this picker's tasks: the one on screen is reloaded as the server now
   * has it (another lot and bin, its bin to scan again, or done because it went short). */
  async function reallocated({ data }) {
    if (!task || data.assignee !== session.user?.username) return;
    let updated = null;
    try {
      tasks = await api("/api/pick-tasks?assignee=me");
      if (data.taskId === task.id) updated = await api(`/api/pick-tasks/${data.newTaskId ?? data.taskId}`);
    } catch (problem) {
      tell(message, rejection(problem.message, problem.code));
      signal("error");
      return;
    }
    if (!updated) {
      render();
      return;
    }
    if (updated.status !== "open" || remaining(updated) <= 0) {
      moveOn(`Lot ${data.oldLot.code} is on hold: task short.`);
      return;
    }
    replaceTask(updated);
    stepper.reset();
    render();
    tell(message, h("p", { class: "warning-message", id: "task-moved" },
      `Lot ${data.oldLot.code} is on hold: pick lot ${task.lotCode} from bin ${task.bin.code}.`));
  }

  /** The queue was replayed: the task as the server now has it (a refused scan undone). */
  async function replayed() {
    if (!task) return;
    try {
      tasks = await myTasks();
    } catch {
      return;
    }
    const current = tasks.find((candidate) => candidate.id === task.id);
    if (!current || remaining(current) <= 0) {
      moveOn(null);
      return;
    }
    task = current;
    stepper.setMax(remaining(task));
    render();
  }
  const stopListening = [
    onLive("lot.held", lotHeld),
    onLive("lot.released", lotReleased),
    onLive("task.reallocated", (live) => inTurn(() => reallocated(live))),
  ];

  shortButton.addEventListener("click", () => {
    if (!task) return;
    // One key per opening of the sheet: a double tap on a reason shorts the units once.
    const idempotencyKey = uuid();
    sheet.replaceChildren(
      h("p", { class: "sheet-title" },
        `${remaining(task)} of ${task.sku}, lot ${task.lotCode}, not picked from ${task.bin.code}. Why?`),
      ...SHORT_REASONS.map(([reason, label]) =>
        h("button", {
          type: "button",
          class: "reason",
          id: `short-${reason}`,
          onClick: () => inTurn(() => reportShort(reason, idempotencyKey)),
        }, label)),
      h("button", { type: "button", class: "link", id: "short-cancel", onClick: () => (sheet.hidden = true) }, "Cancel"),
    );
    sheet.hidden = false;
  });

  inTurn(load);
  if (handoff?.scan) inTurn(() => scanned(handoff.scan));
  return {
    destroy() {
      stopListening.forEach((stop) => stop());
      screen.destroy();
    },
  };
}
