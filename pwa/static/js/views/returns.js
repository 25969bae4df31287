// Returns at the returns bench. The list finds the order a parcel came back for: its shipping
// label or packing slip scanned (or its number, the customer's name or email typed), then
// Open return. A return shows what shipped on the order, lot by lot, and every item scanned
// back: the clerk's reason and disposition stay chosen from one item to the next (restock asks
// for the bin to put it in), and each item's lot is judged by the server: back into its lot,
// forced to quarantine (amber: its lot is held, recalled or expired) or flagged (red: it did
// not ship on this order; nothing moves and the screen stays red until Continue is tapped).
// Offline, items are checked on the handheld (offline.js: the return as last loaded and the
// warehouse snapshot), queued (flagged ones too: the server keeps the flag) and shown at once
// as pending; Close waits in the queue behind them; after the replay the return is reloaded.

import { api } from "../api.js";
import { h } from "../dom.js";
import { signal } from "../feedback.js";
import {
  checkLookupOffline,
  checkReturnOffline,
  hasQueued,
  isOffline,
  queueWriteOffline,
  returnedOffline,
  withQueuedReturns,
} from "../offline.js";
import { uuid } from "../uuid.js";
import { acceptance, cameraErrorIn, oneAtATime, quantityStepper, rejection, scanningScreen, sendScan, tell } from "./scanning-screen.js";
import { refusalBlocker, taskScreen } from "./task-screen.js";

export const RETURN_REASONS = [
  ["damaged", "Damaged"],
  ["defective", "Defective"],
  ["wrong_item", "Wrong item"],
  ["not_wanted", "Not wanted"],
  ["expired", "Expired or short-dated"],
  ["other", "Other"],
];

export const DISPOSITIONS = [
  ["restock", "Restock"],
  ["quarantine", "Quarantine"],
  ["dispose", "Dispose"],
];

/** The clerk's reason and disposition are kept on the handheld: most parcels come in runs. */
const REASON_KEY = "lotline.returns.reason";
const DISPOSITION_KEY = "lotline.returns.disposition";

/** Refusals that mean the item is not this order's: it is flagged on the return for a supervisor. */
const FLAG_TITLES = {
  not_shipped_on_order: "Did not ship on this order",
  serial_not_shipped_on_order: "This serial did not ship on this order",
  return_exceeds_shipped: "More than shipped on this order",
};

/** Replace `element`'s children; null ones (parts not shown) are left out. */
function fill(element, ...children) {
  element.replaceChildren(...children.filter(Boolean));
}

function labelOf(choices, value) {
  return choices.find(([key]) => key === value)?.[1] ?? value;
}

function customerName(order) {
  return order?.customerName ?? "";
}

export function showReturnList(root, { session, onSignOut, go, nav }) {
  let found = null;
  const openKey = uuid();
  const inTurn = oneAtATime();
  const list = h("ol", { class: "order-list", id: "return-list" });
  const results = h("ol", { class: "order-list", id: "order-results" });
  const message = h("div", { class: "scan-message", id: "returns-message" });
  const preview = h("article", { class: "return-card", id: "order-preview", hidden: true });
  const heading = h("h2", { class: "list-heading" }, "Open returns");
  const open = h("button", { type: "button", class: "primary big", id: "open-return", hidden: true }, "Open return");
  const actions = h("div", { class: "dock-row" }, open);

  const screen = scanningScreen(root, {
    title: "Returns",
    session,
    onSignOut,
    nav,
    actions,
    contentId: "returns",
    entryLabel: "Order, name or email",
    onScan: (scan) => inTurn(() => findOrder(scan)),
    onCameraError: cameraErrorIn(message),
  });
  screen.content.append(
    h("p", { class: "hint", id: "returns-hint" }, "Scan the parcel's shipping label or packing slip, or type the order number, the customer's name or email."),
    message,
    preview,
    results,
    heading,
    list,
  );

  /** The label or slip names one order; typed text that names none is searched for. */
  async function findOrder(scan) {
    tell(message, h("p", { class: "pending" }, "Finding the order…"));
    results.replaceChildren();
    try {
      const body = { raw: scan.raw };
      if (scan.symbology) body.symbology = scan.symbology;
      showOrder(await api("/api/returns/find", { method: "POST", body }));
      tell(message);
      signal("ok");
      return;
    } catch (problem) {
      if (problem.code !== "order_not_found") {
        tell(message, rejection(problem.message, problem.code, scan));
        signal("error");
        return;
      }
    }
    let orders = [];
    try {
      orders = await api(`/api/returns/orders?q=${encodeURIComponent(scan.raw)}`);
    } catch (problem) {
      tell(message, rejection(problem.message, problem.code, scan));
      signal("error");
      return;
    }
    if (orders.length === 1) {
      showOrder(orders[0]);
      tell(message);
      signal("ok");
      return;
    }
    if (!orders.length) {
      clearOrder();
      tell(message, rejection(`No shipped order matches ${scan.raw}.`, "order_not_found", scan));
      signal("error");
      return;
    }
    clearOrder();
    tell(message, h("p", { class: "list-heading" }, `${orders.length} shipped orders match “${scan.raw}”`));
    results.replaceChildren(...orders.map((order) =>
      h("li", {},
        h("button", { type: "button", class: "order", id: `found-${order.id}`, onClick: () => showOrder(order) },
          h("span", { class: "order-id" }, order.externalId),
          h("span", { class: "order-units" }, order.shippedAt ? order.shippedAt.slice(0, 10) : ""),
          h("span", { class: "order-customer" }, customerName(order))))));
    signal("warn");
  }

  function showOrder(order) {
    found = order;
    results.replaceChildren();
    preview.hidden = false;
    open.hidden = false;
    open.textContent = order.openReturnId ? "Continue its return" : "Open return";
    preview.dataset.orderId = order.id;
    fill(preview,
      h("p", { class: "order-id", id: "preview-order" }, order.externalId),
      h("p", { class: "order-customer" }, [customerName(order), order.channel].filter(Boolean).join(" · ")),
      order.openReturnId ? h("p", { class: "warning-message", id: "return-already-open" }, "A return of this order is open: scanning continues it.") : null,
      order.shippedAt ? h("p", { class: "row-note" }, `Shipped ${order.shippedAt.slice(0, 10)}`) : null,
      h("ul", { class: "pack-lines" }, (order.lines ?? []).map((line) =>
        h("li", { class: "pack-line" },
          h("span", { class: "line-what" }, `${line.sku}${line.productName ? ` · ${line.productName}` : ""}`),
          h("span", { class: "line-counts" }, `${line.shipped} shipped${line.returned ? ` · ${line.returned} returned` : ""}`),
          h("span", { class: "row-note" }, (line.lots ?? []).map((lot) => `${lot.lotCode} × ${lot.shipped}`).join(", "))))),
    );
    preview.scrollIntoView({ block: "nearest" });
  }

  function clearOrder() {
    found = null;
    preview.hidden = true;
    open.hidden = true;
  }

  open.addEventListener("click", () => inTurn(async () => {
    if (!found) return;
    open.disabled = true;
    try {
      // The same key for every tap on this screen: a double tap opens one return.
      const opened = await api("/api/returns", { method: "POST", body: { orderId: found.id, idempotencyKey: openKey } });
      signal("ok");
      go(`#/returns/${opened.id}`);
    } catch (problem) {
      tell(message, rejection(problem.message, problem.code));
      signal("error");
    } finally {
      open.disabled = false;
    }
  }));

  (async () => {
    try {
      const returns = await api("/api/returns?status=open");
      list.replaceChildren(...returns.map((open) =>
        h("li", {},
          h("button", { type: "button", class: "order", id: `return-${open.id}`, onClick: () => go(`#/returns/${open.id}`) },
            h("span", { class: "order-id" }, open.order?.externalId ?? `Return ${open.id}`),
            h("span", { class: "order-units" }, `${(open.items ?? []).filter((item) => !item.flagged).length} in`),
            h("span", { class: "order-customer" }, customerName(open.order))))));
      if (!returns.length) list.append(h("li", { class: "none", id: "no-returns" }, "No returns open."));
    } catch (problem) {
      tell(message, rejection(problem.message, problem.code));
      signal("error");
    }
  })();
  return screen;
}

export function showReturn(root, { session, onSignOut, go, returnId }) {
  let returned = null;
  let reason = localStorage.getItem(REASON_KEY);
  let disposition = localStorage.getItem(DISPOSITION_KEY);
  let bin = null;
  let awaitingBin = false;
  let pendingScan = null;

  const stepper = quantityStepper({ id: "return-quantity", label: "Units per scan" });
  const choice = h("button", { type: "button", class: "return-choice", id: "return-choice" });
  const binButton = h("button", { type: "button", class: "return-bin", id: "return-bin" });
  // A refusal covers the screen, red, until tapped away: the item in hand goes aside.
  const blocker = refusalBlocker();
  const screen = taskScreen(root, {
    afterReplay: load,
    title: "Return",
    session,
    onSignOut,
    actions: h("div", { class: "return-actions" },
      h("div", { class: "dock-row" }, choice, binButton),
      h("div", { class: "dock-row" }, stepper.element)),
    back: { label: "List", onClick: () => go("#/returns") },
    contentId: "return",
    card: { id: "return-card", class: "return-card", loading: "Loading the return…" },
    messageId: "return-message",
    sheet: { id: "return-sheet", class: "sheet" },
    overlays: [blocker.element],
    onScan: scanned,
  });
  const { card, message, sheet, inTurn } = screen;

  function isOpen() {
    return returned?.status === "open";
  }

  function renderChoice() {
    choice.replaceChildren(
      h("span", { class: "choice-reason", id: "chosen-reason" }, reason ? labelOf(RETURN_REASONS, reason) : "Reason?"),
      h("span", { class: "choice-disposition", id: "chosen-disposition", "data-disposition": disposition ?? "" },
        disposition ? labelOf(DISPOSITIONS, disposition) : "Where to?"));
    choice.classList.toggle("unset", !reason || !disposition);
    binButton.hidden = disposition !== "restock";
    binButton.classList.toggle("unset", !bin);
    binButton.replaceChildren(
      h("span", { class: "field-label" }, awaitingBin ? "Scan the bin" : "Bin"),
      h("span", { class: "bin-code", id: "restock-bin" }, bin ? bin.code : "—"));
  }

  function render() {
    renderChoice();
    const lines = returned.lines ?? [];
    const items = returned.items ?? [];
    stepper.setMax(Math.max(1, ...lines.map((line) => line.shipped - line.returned)));
    card.dataset.status = returned.status;
    fill(card,
      h("p", { class: "order-id", id: "return-order" }, returned.order?.externalId ?? ""),
      h("p", { class: "order-customer" }, [customerName(returned.order), returned.order?.channel].filter(Boolean).join(" · ")),
      isOpen()
        ? h("p", { class: "step", id: "return-step" }, awaitingBin ? "Scan the bin to restock into" : "Scan each item")
        : h("p", { class: "status status-released", id: "return-closed" }, "CLOSED"),
      h("h2", { class: "list-heading" }, "Shipped on the order"),
      h("ul", { class: "return-lines", id: "return-lines" }, lines.map((line) =>
        h("li", { class: `return-line${line.returned >= line.shipped ? " done" : ""}`, "data-lot-code": line.lotCode, "data-returned": line.returned, "data-shipped": line.shipped },
          h("span", { class: "line-what" }, `${line.sku}${line.productName ? ` · ${line.productName}` : ""}`),
          h("span", { class: "row-title" }, line.lotCode),
          h("span", { class: "line-counts" }, `${line.returned} of ${line.shipped} returned`),
          line.serials?.length ? h("span", { class: "row-note" }, `Serials ${line.serials.join(", ")}`) : null))),
      h("h2", { class: "list-heading" }, `Items scanned (${items.length})`),
      h("ol", { class: "return-items", id: "return-items" }, [...items].reverse().map(itemEntry)),
      isOpen() ? h("button", { type: "button", class: "close-return", id: "close-return", onClick: () => inTurn(closeReturn) }, "Close return") : null,
    );
  }

  async function scanned(scan) {
    if (!returned) return;
    if (blocker.blocked || !sheet.hidden) {
      signal("error");
      return;
    }
    if (!isOpen()) {
      tell(message, rejection("This return is closed.", "return_closed", scan));
      signal("error");
      return;
    }
    if (awaitingBin || scan.raw.startsWith("LOC-")) {
      await chooseBin(scan);
      return;
    }
    if (!reason || !disposition || (disposition === "restock" && !bin)) {
      pendingScan = scan;
      if (disposition === "restock" && reason && !bin) {
        awaitingBin = true;
        render();
        tell(message, h("p", { class: "warning-message", id: "need-bin" }, "Scan the bin to restock into, then the item again."));
        signal("warn");
        return;
      }
      openSheet();
      signal("warn");
      return;
    }
    await sendItem(scan);
  }

  async function sendItem(scan) {
    const fields = { returnId: returned.id, reason, disposition, quantity: stepper.value };
    if (disposition === "restock") fields.location = bin.barcode;
    tell(message, h("p", { class: "pending" }, "Checking…"));
    let verdict;
    const judged = returned;
    const chosen = { quantity: fields.quantity, reason, disposition, binCode: bin?.code ?? null };
    try {
      verdict = await sendScan("return", scan, fields, {
        offlineCheck: () => checkReturnOffline(judged, scan, chosen),
      });
    } catch (problem) {
      tell(message);
      blocker.block(problem.message, problem.code, { scan });
      return;
    }
    if (verdict.return) returned = verdict.return;
    if (verdict.offline && verdict.effect) returned = returnedOffline(returned, verdict.effect);
    render();
    if (verdict.verdict !== "accepted") {
      tell(message);
      blocker.block(verdict.message, verdict.code, { scan, feedback: verdict.feedback, title: FLAG_TITLES[verdict.code] ?? null });
      return;
    }
    signal(verdict.feedback);
    stepper.reset();
    tell(message, verdict.offline
      ? h("p", { class: "warning-message offline-check", id: "scan-queued", "data-code": verdict.code }, verdict.message)
      : acceptance(verdict, "item-accepted"));
  }

  /** The bin restocked items go into: a bin label scanned, checked with a lookup. */
  async function chooseBin(scan) {
    let verdict;
    try {
      verdict = await sendScan("lookup", scan, {}, { offlineCheck: () => checkLookupOffline(scan) });
    } catch (problem) {
      tell(message, rejection(problem.message, problem.code, scan));
      signal("error");
      return;
    }
    const location = verdict.location;
    if (verdict.verdict !== "accepted" || !location || location.kind !== "bin") {
      tell(message, rejection(location ? `${location.code} is not a bin: restock goes into a bin.` : "That is not a bin label.", verdict.code, scan));
      signal("error");
      return;
    }
    bin = { code: location.code, barcode: location.barcode ?? scan.raw };
    awaitingBin = false;
    if (disposition !== "restock") {
      disposition = "restock";
      localStorage.setItem(DISPOSITION_KEY, disposition);
    }
    render();
    tell(message, h("p", { class: "ok-message", id: "bin-chosen" }, `Restocking into bin ${bin.code}.`));
    signal("ok");
    await sendPending();
  }

  async function sendPending() {
    const scan = pendingScan;
    pendingScan = null;
    if (scan && reason && disposition && (disposition !== "restock" || bin)) await sendItem(scan);
  }

  function openSheet() {
    const reasonButtons = RETURN_REASONS.map(([key, label]) =>
      h("button", {
        type: "button",
        class: "reason",
        id: `reason-${key}`,
        "aria-pressed": String(reason === key),
        onClick: () => {
          reason = key;
          localStorage.setItem(REASON_KEY, key);
          openSheet();
        },
      }, label));
    const dispositionButtons = DISPOSITIONS.map(([key, label]) =>
      h("button", {
        type: "button",
        class: `disposition disposition-${key}`,
        id: `disposition-${key}`,
        "aria-pressed": String(disposition === key),
        onClick: () => {
          disposition = key;
          localStorage.setItem(DISPOSITION_KEY, key);
          openSheet();
        },
      }, label));
    const done = h("button", {
      type: "button",
      class: "primary big",
      id: "choice-done",
      disabled: !reason || !disposition,
      onClick: () => inTurn(closeSheet),
    }, pendingScan ? "Done: check the item" : "Done");
    sheet.replaceChildren(
      h("p", { class: "sheet-title" }, "Why did it come back?"),
      h("div", { class: "choice-grid" }, reasonButtons),
      h("p", { class: "sheet-title" }, "Where does it go?"),
      h("div", { class: "dock-row" }, dispositionButtons),
      done,
      h("button", { type: "button", class: "link", id: "choice-cancel", onClick: () => cancelSheet() }, "Cancel"),
    );
    sheet.hidden = false;
  }

  async function closeSheet() {
    sheet.hidden = true;
    if (disposition === "restock" && !bin) {
      awaitingBin = true;
      render();
      tell(message, h("p", { class: "warning-message", id: "need-bin" },
        pendingScan ? "Scan the bin to restock into, then the item is checked." : "Scan the bin to restock into."));
      return;
    }
    awaitingBin = false;
    render();
    await sendPending();
  }

  function cancelSheet() {
    sheet.hidden = true;
    pendingScan = null;
    render();
  }

  choice.addEventListener("click", () => isOpen() && openSheet());
  binButton.addEventListener("click", () => {
    if (!isOpen()) return;
    awaitingBin = !awaitingBin || !bin;
    render();
    tell(message, awaitingBin ? h("p", { class: "warning-message", id: "need-bin" }, "Scan the bin to restock into.") : null);
  });

  // One key per return screen: a retried Close closes once.
  const closeKey = uuid();

  async function closeReturn() {
    // Items still queued go first: the close waits behind them in the queue.
    if (isOffline() || (await hasQueued(session))) {
      await closeQueued();
      return;
    }
    try {
      returned = await api(`/api/returns/${returned.id}/close`, { method: "POST", body: { idempotencyKey: closeKey } });
    } catch (problem) {
      if (problem.code === "offline") {
        await closeQueued();
        return;
      }
      tell(message, rejection(problem.message, problem.code));
      signal("error");
      return;
    }
    signal("ok");
    render();
    tell(message, h("p", { class: "ok-message", id: "return-done" }, `Return of order ${returned.order?.externalId ?? ""} closed.`));
  }

  async function closeQueued() {
    const order = returned.order?.externalId ?? "";
    const effect = { returnId: returned.id, closed: true };
    await queueWriteOffline(`/api/returns/${returned.id}/close`, { idempotencyKey: closeKey }, {
      session,
      effect,
      done: { code: "return_closed", message: `Return of order ${order} closed.` },
    });
    returned = returnedOffline(returned, effect);
    signal("warn");
    render();
    tell(message, h("p", { class: "warning-message offline-check", id: "return-done", "data-queued": "true" },
      `Return of order ${order}: closing is queued behind its items, sent when the server is back.`));
  }

  async function load() {
    try {
      returned = await withQueuedReturns(await api(`/api/returns/${returnId}`), session);
      render();
      if (isOpen() && (!reason || !disposition)) openSheet();
    } catch (problem) {
      card.replaceChildren(rejection(problem.message, problem.code));
      signal("error");
    }
  }
  inTurn(load);
  return screen;
}

function itemEntry(item) {
  return h("li", {
    class: `return-item${item.flagged ? " flagged" : ""}${item.pending ? " pending" : ""}`,
    "data-flagged": String(Boolean(item.flagged)),
    "data-pending": String(Boolean(item.pending)),
    "data-disposition": item.flagged ? "" : item.forced ? "quarantine" : item.disposition ?? "",
    "data-lot-code": item.lotCode ?? "",
  },
    h("span", { class: "row-title" }, `${item.quantity} × ${item.lotCode ?? item.sku}${item.serial ? ` · ${item.serial}` : ""}`),
    item.flagged
      ? h("span", { class: "item-flag" }, `FLAGGED · ${FLAG_TITLES[item.flagCode] ?? item.flagCode ?? ""}${item.pending ? " · queued" : ""}`)
      : h("span", { class: "row-note" },
          [item.forced ? "Forced to quarantine" : labelOf(DISPOSITIONS, item.disposition), item.destination, labelOf(RETURN_REASONS, item.reason),
            item.pending ? "queued" : null]
            .filter(Boolean).join(" · ")));
}
