// Lookup: scan anything and see what it is. A lot shows its card (status big and in colour,
// expiry, stock by bin, recent history), a bin label shows the location, and a refused scan
// shows the server's message big, with the error tone.

import { h } from "../dom.js";
import { signal } from "../feedback.js";
import { expiryText, rejection, scanningScreen, sendScan, visible } from "./scanning-screen.js";

const HISTORY_SHOWN = 5;

const STATUS_LABELS = {
  released: "RELEASED",
  hold: "ON HOLD",
  quarantine: "QUARANTINE",
  recalled: "RECALLED",
  expired: "EXPIRED",
};

export function showLookup(root, { session, onSignOut, nav }) {
  let latest = 0;

  async function lookUp(scan) {
    const mine = ++latest;
    result.replaceChildren(h("p", { class: "pending" }, "Looking up…"), h("p", { class: "raw" }, visible(scan.raw)));
    try {
      const verdict = await sendScan("lookup", scan);
      if (mine !== latest) return;
      result.replaceChildren(...renderVerdict(verdict, scan));
      signal(verdict.feedback ?? (verdict.verdict === "accepted" ? "ok" : "error"));
    } catch (problem) {
      if (mine !== latest) return;
      result.replaceChildren(rejection(problem.message, problem.code, scan));
      signal("error");
    }
  }

  const screen = scanningScreen(root, {
    title: "Lookup",
    session,
    onSignOut,
    nav,
    contentId: "result",
    onScan: lookUp,
    onCameraError: (message) => {
      result.replaceChildren(rejection(message, "camera_unavailable"));
      signal("error");
    },
  });
  const result = screen.content;
  result.append(h("p", { class: "hint" }, "Scan a lot, a product or a bin."));
  return screen;
}

function renderVerdict(verdict, scan) {
  if (verdict.verdict !== "accepted") return [rejection(verdict.message, verdict.code, scan)];
  const parts = [];
  if (verdict.feedback === "warn" && verdict.message) parts.push(h("p", { class: "warning-message" }, verdict.message));
  if (verdict.lot) parts.push(lotCard(verdict.lot));
  else if (verdict.location) parts.push(locationCard(verdict.location));
  else if (verdict.lots) parts.push(productLots(verdict.product, verdict.lots));
  else parts.push(h("p", { class: "message" }, verdict.message ?? "Scanned."), parsedSummary(verdict.parsed));
  return parts;
}

function statusOf(lot) {
  return lot.expired && lot.status === "released" ? "expired" : lot.status;
}

function lotCard(lot) {
  const status = statusOf(lot);
  const onHand = lot.onHand ?? [];
  const history = [...(lot.history ?? [])].sort((a, b) => b.id - a.id).slice(0, HISTORY_SHOWN);
  return h("article", { class: "lot-card", id: "lot-card", "data-lot-id": lot.id },
    h("p", { class: "product-name" }, lot.productName ?? ""),
    h("p", { class: "sku" }, `SKU ${lot.sku}`),
    h("p", { class: "lot-code", id: "lot-code" }, lot.code),
    h("p", { class: `status status-${status}`, id: "lot-status", "data-status": status },
      STATUS_LABELS[status] ?? status.toUpperCase()),
    lot.expired && status !== "expired" ? h("p", { class: "status status-expired" }, STATUS_LABELS.expired) : null,
    lot.statusReason ? h("p", { class: "status-reason" }, lot.statusReason) : null,
    h("p", { class: `expiry${lot.expired ? " expired" : ""}`, id: "lot-expiry" }, expiryText(lot.expiry, lot.daysToExpiry)),
    h("h2", {}, `On hand${lot.onHandTotal !== undefined ? `: ${lot.onHandTotal}` : ""}`),
    onHand.length
      ? h("table", { class: "on-hand", id: "on-hand" },
          h("tbody", {}, onHand.map((row) =>
            h("tr", {}, h("th", { scope: "row" }, row.location), h("td", {}, String(row.quantity))))))
      : h("p", { class: "none" }, "None in stock"),
    h("h2", {}, "Recent history"),
    history.length
      ? h("ul", { class: "history", id: "history" }, history.map(historyEntry))
      : h("p", { class: "none" }, "No movements yet"));
}

function historyEntry(entry) {
  const where = [entry.from, entry.to].filter(Boolean).join(" → ");
  const when = entry.at ? new Date(entry.at).toLocaleString([], { dateStyle: "short", timeStyle: "short" }) : "";
  return h("li", {},
    h("span", { class: "history-kind" }, `${entry.kind} ${entry.quantity ?? ""}`.trim()),
    h("span", { class: "history-where" }, where),
    h("span", { class: "history-when" }, [when, entry.user].filter(Boolean).join(" · ")));
}

function locationCard(location) {
  const contents = location.contents ?? [];
  return h("article", { class: "location-card", id: "location-card" },
    h("p", { class: "kind-note" }, `Location · ${location.kind}${location.zone ? ` · zone ${location.zone}` : ""}`),
    h("p", { class: "location-code", id: "location-code" }, `${location.warehouse}/${location.code}`),
    h("h2", {}, "In this location"),
    contents.length
      ? h("table", { class: "on-hand" }, h("tbody", {}, contents.map((row) =>
          h("tr", {},
            h("th", { scope: "row" },
              h("span", { class: "row-title" }, `${row.lotCode} · ${row.sku}`),
              h("span", { class: `status-chip status-${row.lotStatus}` }, STATUS_LABELS[row.lotStatus] ?? row.lotStatus)),
            h("td", {}, String(row.quantity))))))
      : h("p", { class: "none" }, "Empty"));
}

function productLots(product, lots) {
  return h("article", { class: "product-lots", id: "product-lots" },
    h("p", { class: "product-name" }, product?.name ?? ""),
    product ? h("p", { class: "sku" }, `SKU ${product.sku}`) : null,
    h("h2", {}, `${lots.length} ${lots.length === 1 ? "lot" : "lots"}, soonest expiry first`),
    lots.length
      ? h("table", { class: "on-hand" }, h("tbody", {}, lots.map((lot) => {
          const status = statusOf(lot);
          return h("tr", {},
            h("th", { scope: "row" },
              h("span", { class: "row-title" }, lot.code),
              h("span", { class: `status-chip status-${status}` }, STATUS_LABELS[status] ?? status),
              h("span", { class: "row-note" }, lot.expiry ? ` ${lot.expiry}` : "")),
            h("td", {}, String(lot.onHandTotal)));
        })))
      : h("p", { class: "none" }, "No lots"));
}

function parsedSummary(parsed) {
  if (!parsed) return null;
  const rows = [
    ["Kind", parsed.kind],
    ["GTIN", parsed.gtin],
    ["Lot", parsed.lot],
    ["Serial", parsed.serial],
    ["Expiry", parsed.expiry],
    ["SSCC", parsed.sscc],
  ].filter(([, value]) => value);
  return h("table", { class: "parsed" }, h("tbody", {}, rows.map(([name, value]) =>
    h("tr", {}, h("th", { scope: "row" }, name), h("td", {}, String(value))))));
}
