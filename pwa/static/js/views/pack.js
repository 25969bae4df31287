// Packing at the bench. The list shows the orders ready to pack (every task picked or short);
// scanning or typing an order's number finds it. An order shows its lines with the lots picked
// for each; every unit scanned is checked by the server against the lots picked for the order,
// and a refusal blocks the screen in red until the packer has seen it. When every picked unit
// is packed, Ship moves them to the customer.

import { api } from "../api.js";
import { h } from "../dom.js";
import { signal } from "../feedback.js";
import { checkPackOffline, packedOffline, withQueuedPacks } from "../offline.js";
import { uuid } from "../uuid.js";
import { acceptance, cameraErrorIn, quantityStepper, rejection, scanningScreen, sendScan, tell } from "./scanning-screen.js";
import { refusalBlocker, taskScreen } from "./task-screen.js";

function sum(lines, field) {
  return lines.reduce((total, line) => total + (line[field] ?? 0), 0);
}

export function showPackList(root, { session, onSignOut, go, nav }) {
  let orders = [];
  let filter = "";
  const list = h("ol", { class: "order-list", id: "order-list" });
  const message = h("div", { class: "scan-message", id: "pack-message" });
  const heading = h("h2", { class: "list-heading" }, "Ready to pack");
  const clear = h("button", { type: "button", id: "clear-filter", hidden: true }, "Show all");
  const actions = h("div", { class: "dock-row" }, clear);

  const screen = scanningScreen(root, {
    title: "Pack",
    session,
    onSignOut,
    nav,
    actions,
    contentId: "pack-list",
    entryLabel: "Order number",
    onScan: findOrder,
    onCameraError: cameraErrorIn(message),
  });
  screen.content.append(heading, message, list);

  function matching() {
    const wanted = filter.toUpperCase();
    return orders.filter((order) => order.externalId.toUpperCase().includes(wanted));
  }

  /** An order number scanned or typed: the one order it names opens; several are listed. */
  function findOrder({ raw }) {
    filter = raw;
    const found = matching();
    const exact = found.filter((order) => order.externalId.toUpperCase() === raw.toUpperCase());
    if (exact.length === 1 || found.length === 1) {
      signal("ok");
      go(`#/pack/${(exact[0] ?? found[0]).id}`);
      return;
    }
    if (!found.length) {
      tell(message, rejection(`No order ready to pack has the number ${raw}.`, "no_such_order"));
      signal("error");
    } else {
      tell(message);
    }
    render();
  }

  function render() {
    const shown = filter ? matching() : orders;
    heading.textContent = filter ? `Ready to pack, matching “${filter}”` : "Ready to pack";
    clear.hidden = !filter;
    list.replaceChildren(...shown.map((order) =>
      h("li", {},
        h("button", { type: "button", class: "order", id: `order-${order.id}`, onClick: () => go(`#/pack/${order.id}`) },
          h("span", { class: "order-id" }, order.externalId),
          h("span", { class: "order-units" }, `${sum(order.lines, "picked")} units`),
          h("span", { class: "order-customer" }, order.customer?.name ?? ""),
          h("span", { class: "order-lines" },
            `${order.lines.length} ${order.lines.length === 1 ? "line" : "lines"}`)))));
    if (!shown.length && !filter) list.append(h("li", { class: "none", id: "no-orders" }, "No orders are ready to pack."));
  }

  clear.addEventListener("click", () => {
    filter = "";
    tell(message);
    render();
  });

  (async () => {
    try {
      orders = await api("/api/orders?status=picked");
      render();
    } catch (problem) {
      tell(message, rejection(problem.message, problem.code));
      signal("error");
    }
  })();
  return screen;
}

export function showPackOrder(root, { session, onSignOut, go, orderId }) {
  let order = null;

  const stepper = quantityStepper({ id: "pack-quantity" });
  const ship = h("button", { type: "button", class: "primary big", id: "ship", hidden: true }, "Ship");
  const next = h("button", { type: "button", class: "primary big", id: "next-order", hidden: true }, "Next order");
  const stepperRow = h("div", { class: "dock-row" }, stepper.element);
  // A refusal covers the screen, red, until tapped away: the unit in hand must not go in.
  const blocker = refusalBlocker();
  const screen = taskScreen(root, {
    afterReplay: load,
    title: "Pack",
    session,
    onSignOut,
    actions: h("div", { class: "pack-actions" }, stepperRow, ship, next),
    back: { label: "Orders", onClick: () => go("#/pack") },
    contentId: "pack-order",
    card: { id: "pack-card", class: "pack-card", loading: "Loading the order…" },
    messageId: "pack-message",
    overlays: [blocker.element],
    onScan: scanned,
  });
  const { card: summary, message, inTurn } = screen;

  function render() {
    const picked = sum(order.lines, "picked");
    const packed = sum(order.lines, "packed");
    const shipped = order.status === "shipped";
    ship.hidden = order.status !== "packed";
    next.hidden = !shipped;
    stepperRow.hidden = shipped || order.status === "packed";
    stepper.setMax(Math.max(1, ...order.lines.map((line) => line.picked - line.packed)));
    summary.dataset.status = order.status;
    summary.replaceChildren(
      h("p", { class: "order-id", id: "pack-order-id" }, order.externalId),
      h("p", { class: "order-customer" }, order.customer?.name ?? ""),
      shipped
        ? h("p", { class: "status status-released", id: "shipped" }, "SHIPPED")
        : h("p", { class: "pack-progress", id: "pack-progress", "data-packed": packed, "data-picked": picked },
            h("span", { class: "count-big" }, `${packed} / ${picked}`), " packed"),
      h("ul", { class: "pack-lines", id: "pack-lines" }, order.lines.map(lineEntry)),
    );
  }

  async function scanned(scan) {
    if (!order) return;
    if (blocker.blocked) {
      signal("error");
      return;
    }
    tell(message, h("p", { class: "pending" }, "Checking…"));
    let verdict;
    const judged = order;
    const quantity = stepper.value;
    try {
      verdict = await sendScan("pack", scan, { orderId: order.id, quantity }, {
        offlineCheck: () => checkPackOffline(judged, scan, { quantity }),
      });
    } catch (problem) {
      tell(message);
      blocker.block(problem.message, problem.code, { scan });
      return;
    }
    if (verdict.order) order = verdict.order;
    if (verdict.offline && verdict.effect) order = packedOffline(order, verdict.effect);
    render();
    if (verdict.verdict !== "accepted") {
      tell(message);
      blocker.block(verdict.message, verdict.code, { scan, feedback: verdict.feedback });
      return;
    }
    signal(verdict.feedback);
    if (verdict.offline) {
      stepper.reset();
      tell(message, h("p", { class: "warning-message offline-check", id: "scan-queued", "data-code": verdict.code }, verdict.message));
      return;
    }
    stepper.reset();
    tell(message, acceptance(verdict, "scan-accepted"));
  }

  // A retry after a lost answer reuses the key, so the order ships once; after a refusal (a
  // lot put on hold, say) the next tap is a new attempt.
  let shipKey = uuid();

  async function shipOrder() {
    ship.disabled = true;
    tell(message, h("p", { class: "pending" }, "Shipping…"));
    try {
      order = await api(`/api/orders/${order.id}/ship`, { method: "POST", body: { idempotencyKey: shipKey } });
    } catch (problem) {
      if (problem.status) shipKey = uuid();
      tell(message);
      blocker.block(problem.message, problem.code);
      return;
    } finally {
      ship.disabled = false;
    }
    signal("ok");
    tell(message, h("p", { class: "ok-message", id: "ship-done" }, `Order ${order.externalId} shipped.`));
    render();
  }

  ship.addEventListener("click", () => inTurn(shipOrder));
  next.addEventListener("click", () => go("#/pack"));

  async function load() {
    try {
      order = await withQueuedPacks(await api(`/api/orders/${orderId}`), session);
      render();
    } catch (problem) {
      summary.replaceChildren(rejection(problem.message, problem.code));
      signal("error");
    }
  }
  inTurn(load);
  return screen;
}

function lineEntry(line) {
  const done = line.picked > 0 && line.packed >= line.picked;
  return h("li", { class: `pack-line${done ? " done" : ""}`, id: `line-${line.id}`, "data-packed": line.packed, "data-picked": line.picked },
    h("span", { class: "line-what" }, `${line.sku}${line.productName ? ` · ${line.productName}` : ""}`),
    h("span", { class: "line-counts" },
      `${line.packed} of ${line.picked} packed · ${line.quantity} ordered${line.short ? ` · ${line.short} short` : ""}`),
    h("ul", { class: "line-lots" }, (line.lots ?? []).map((lot) =>
      h("li", { class: "line-lot", "data-lot-code": lot.lotCode },
        h("span", { class: "row-title" }, lot.lotCode),
        h("span", { class: "row-note" },
          [`picked ${lot.picked}`, `packed ${lot.packed}`, lot.shipped ? `shipped ${lot.shipped}` : null,
            lot.expiry ? `exp ${lot.expiry}` : null].filter(Boolean).join(" · "))))));
}
