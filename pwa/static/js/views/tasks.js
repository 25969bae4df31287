// The picker's task list: the open pick tasks assigned to them, in walking order, each showing
// the bin, the product, the lot and how many. "Get work" claims the next unassigned order's
// tasks when the list is empty; tapping a task, or "Start picking", or simply scanning the
// first bin's label, opens the pick screen. The list reloads itself when the live channel
// says a task of theirs was moved by a hold or a new one was given to them.

import { api } from "../api.js";
import { h } from "../dom.js";
import { signal } from "../feedback.js";
import { onLive } from "../live.js";
import { REPLAYED_EVENT, withQueuedEffects } from "../offline.js";
import { uuid } from "../uuid.js";
import { cameraErrorIn, rejection, scanningScreen, tell } from "./scanning-screen.js";

export function showTasks(root, { session, onSignOut, go, nav, handoff }) {
  let tasks = [];
  let loads = 0;
  const getWork = h("button", { type: "button", class: "primary big", id: "get-work", hidden: true }, "Get work");
  const start = h("button", { type: "button", class: "primary big", id: "start-picking", hidden: true }, "Start picking");
  const actions = h("div", { class: "dock-row" }, getWork, start);
  const list = h("ol", { class: "task-list", id: "task-list" });
  const message = h("div", { class: "scan-message", id: "tasks-message" });

  const screen = scanningScreen(root, {
    title: "Tasks",
    session,
    onSignOut,
    nav,
    actions,
    contentId: "tasks",
    onScan: scanned,
    onCameraError: cameraErrorIn(message),
  });
  const notice = handoff?.message ? h("p", { class: "done-message", id: "notice", role: "status" }, handoff.message) : null;
  screen.content.append(...[notice, message, list].filter(Boolean));

  function open(task, scan = null) {
    go(`#/pick/${task.id}`, { scan });
  }

  /** A scan here is the picker at the first bin: the pick screen judges it as that task's. */
  function scanned(scan) {
    if (tasks.length) {
      open(tasks[0], scan);
      return;
    }
    tell(message, rejection("You have no pick tasks. Tap Get work.", "no_tasks", scan));
    signal("error");
  }

  function render() {
    getWork.hidden = tasks.length > 0;
    start.hidden = tasks.length === 0;
    list.replaceChildren(...tasks.map((task) =>
      h("li", {},
        h("button", { type: "button", class: "task", id: `task-${task.id}`, "data-task-id": task.id, onClick: () => open(task) },
          h("span", { class: "task-bin" }, task.bin.code),
          h("span", { class: "task-quantity" }, `${task.quantity - task.picked - task.short}`),
          h("span", { class: "task-what" }, `${task.sku} · ${task.productName}`),
          h("span", { class: "task-lot" }, `Lot ${task.lotCode}${task.expiry ? ` · exp ${task.expiry}` : ""}`),
          h("span", { class: "task-order" }, `Order ${task.orderExternalId}`)))));
    if (!tasks.length && !notice?.isConnected) {
      list.append(h("li", { class: "none", id: "no-tasks" }, "No tasks assigned to you."));
    }
  }

  async function load() {
    const attempt = ++loads;
    try {
      // Tasks picked to the end offline, their scans still queued, are done here already.
      const loaded = (await withQueuedEffects(await api("/api/pick-tasks?assignee=me"), session))
        .filter((task) => task.quantity - task.picked - task.short > 0);
      if (attempt !== loads) return; // a later reload is on its way
      tasks = loaded;
      render();
    } catch (problem) {
      tell(message, rejection(problem.message, problem.code));
      signal("error");
    }
  }

  getWork.addEventListener("click", async () => {
    getWork.disabled = true;
    tell(message, h("p", { class: "pending" }, "Finding work…"));
    loads += 1; // a list asked for before the claim would be older than its answer
    try {
      // The answer is all the caller's open tasks, the ones just claimed among them.
      // Keyed like every write, so a retried claim takes one order, not two.
      tasks = await api("/api/pick-tasks/claim", { method: "POST", body: { idempotencyKey: uuid() } });
      if (tasks.length) {
        tell(message);
        signal("ok");
      } else {
        tell(message, h("p", { class: "warning-message", id: "no-work" }, "No work waiting. Try again in a moment."));
        signal("warn");
      }
      notice?.remove();
      render();
    } catch (problem) {
      tell(message, rejection(problem.message, problem.code));
      signal("error");
    } finally {
      getWork.disabled = false;
    }
  });
  start.addEventListener("click", () => tasks.length && open(tasks[0]));

  const mine = ({ data }) => data?.assignee === session.user?.username;
  // Tasks claimed here are in the claim's answer: reloading would move the list under a thumb.
  const unlisted = ({ data }) =>
    !getWork.disabled && (data.taskIds ?? [data.taskId]).some((id) => !tasks.some((task) => task.id === id));
  window.addEventListener(REPLAYED_EVENT, load);
  const stopListening = [
    () => window.removeEventListener(REPLAYED_EVENT, load),
    onLive("task.reallocated", (live) => mine(live) && load()),
    onLive("task.assigned", (live) => mine(live) && unlisted(live) && load()),
  ];

  load();
  return {
    destroy() {
      stopListening.forEach((stop) => stop());
      screen.destroy();
    },
  };
}
