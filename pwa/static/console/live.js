// The dashboard's live activity: the live channel (docs/live-channel.md) of every warehouse,
// each message appended to the list as it arrives. The hello carries a one-minute ticket from
// POST /console/live-ticket, never the session token (an HttpOnly cookie scripts cannot read).

const list = document.getElementById("activity");
const state = document.getElementById("live-state");
const lastSeen = new Map(); // warehouse -> last seq shown; absent until the first welcome

function describe(message) {
  const d = message.data || {};
  switch (message.type) {
    case "lot.held":
      return `Lot ${d.lotCode} (${d.sku}) put on ${d.kind} by ${d.by}: ${d.reason}`;
    case "lot.released":
      return `Lot ${d.lotCode} (${d.sku}) released by ${d.by}: ${d.reason}`;
    case "task.reallocated":
      return d.newLot
        ? `Pick task ${d.taskId} of order ${d.orderExternalId} moved from lot ${d.oldLot.code} to ${d.newLot.code}`
        : `Pick task ${d.taskId} of order ${d.orderExternalId} short: lot ${d.oldLot.code} not eligible`;
    case "task.assigned":
      return `Order ${d.orderExternalId} assigned to ${d.assignee} (${(d.taskIds || []).length} tasks)`;
    case "lot.return_rate":
      return `Lot ${d.lotCode} (${d.sku}): ${d.returned} of ${d.shipped} returned`;
    case "scan.exception":
      return `Scan exception (${d.context}) by ${d.user}: ${d.code} — ${d.message}`;
    default:
      return message.type;
  }
}

function append(message) {
  const item = document.createElement("li");
  item.className = `live-${message.type.replace(/\W/g, "-")}`;
  const when = document.createElement("time");
  when.dateTime = message.at;
  when.textContent = new Date(message.at).toLocaleTimeString();
  const where = message.warehouse ? `${message.warehouse}: ` : "";
  item.append(when, document.createTextNode(where + describe(message)));
  const link = message.data && message.data.lotId;
  if (link) {
    const a = document.createElement("a");
    a.href = `/console/lots/${encodeURIComponent(link)}`;
    a.textContent = " (lot page)";
    item.append(a);
  }
  list.prepend(item);
}

async function ticket() {
  const response = await fetch("/console/live-ticket", { method: "POST", credentials: "same-origin" });
  if (response.redirected || !response.ok) throw new Error(`ticket ${response.status}`);
  return response.json();
}

function connect(warehouse, token) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws`);
  let startAt = lastSeen.get(warehouse);
  socket.addEventListener("open", () => {
    socket.send(JSON.stringify({
      type: "hello", token, deviceId: "console", warehouse, afterSeq: startAt ?? 0,
    }));
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "welcome") {
      if (startAt === undefined) { startAt = message.seq; lastSeen.set(warehouse, message.seq); }
      state.textContent = "Connected: new activity appears below.";
      state.dataset.connected = "true";
      return;
    }
    if (message.type === "error") { state.textContent = `Live activity stopped: ${message.message}`; return; }
    if (typeof message.seq !== "number" || message.seq <= (lastSeen.get(warehouse) ?? 0)) return;
    lastSeen.set(warehouse, message.seq);
    append(message);
  });
  socket.addEventListener("close", () => {
    state.dataset.connected = "false";
    setTimeout(() => start([warehouse]), 3000);
  });
}

async function start(only) {
  try {
    const answer = await ticket();
    for (const warehouse of only || answer.warehouses) connect(warehouse, answer.ticket);
    if (!answer.warehouses.length) state.textContent = "No warehouse yet.";
  } catch {
    state.textContent = "Live activity is not available; reload the page to try again.";
  }
}

// A dashboard narrowed to one warehouse follows that warehouse's channel only.
if (list) start(list.dataset.warehouse ? [list.dataset.warehouse] : undefined);
