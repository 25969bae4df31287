// A hold's page: which handhelds acknowledged it, kept up to date without a reload. Polls the
// page's own cookie-authenticated GET /console/holds/{id}/acks.json about once a second and
// announces each device that acknowledges (or appears) in an aria-live region.

const section = document.getElementById("acks-section");
const body = document.querySelector("#acks tbody");
const summary = document.getElementById("acks-summary");
const changes = document.getElementById("acks-changes");
const EVERY_MS = 1000;

function key(device) {
  return `${device.warehouse ?? ""}\u0000${device.deviceId}`;
}

function label(device) {
  return device.name ? `${device.name} (${device.deviceId.slice(0, 8)})` : device.deviceId;
}

function stateOf(device) {
  if (device.acknowledged) return "Acknowledged";
  return device.warehouse ? "Pending" : "Pending (signed in, nothing acknowledged yet)";
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function row(device) {
  const tr = document.createElement("tr");
  tr.dataset.device = device.deviceId;
  tr.dataset.warehouse = device.warehouse ?? "";
  tr.dataset.state = device.acknowledged ? "acknowledged" : "pending";
  const when = cell("—", "date");
  if (device.ackedAt) {
    const time = document.createElement("time");
    time.dateTime = device.ackedAt;
    // As the server writes it: UTC, to the second (the column says so).
    time.textContent = new Date(device.ackedAt).toISOString().slice(0, 19).replace("T", " ");
    when.replaceChildren(time);
  }
  tr.append(
    cell(label(device)),
    cell(device.warehouse ?? "—"),
    cell(device.username ?? "—"),
    cell(stateOf(device), "ack-state"),
    when,
  );
  return tr;
}

function known() {
  const states = new Map();
  for (const tr of body.querySelectorAll("tr[data-device]")) {
    states.set(`${tr.dataset.warehouse}\u0000${tr.dataset.device}`, tr.dataset.state);
  }
  return states;
}

function render(answer) {
  const before = known();
  const news = [];
  for (const device of answer.devices) {
    const was = before.get(key(device));
    const now = device.acknowledged ? "acknowledged" : "pending";
    const where = device.warehouse ? ` in ${device.warehouse}` : "";
    if (was === undefined) news.push(`Device ${label(device)}${where} added: ${now}.`);
    else if (was !== now) news.push(`Device ${label(device)}${where} ${now}.`);
  }
  if (!news.length && before.size === answer.devices.length) return;
  const rows = answer.devices.map(row);
  if (!rows.length) {
    const tr = document.createElement("tr");
    tr.className = "none";
    const td = cell("No handheld has been on these warehouses' live channel yet.");
    td.colSpan = 5;
    tr.append(td);
    rows.push(tr);
  }
  body.replaceChildren(...rows);
  summary.textContent = `${answer.acknowledged} acknowledged, ${answer.pending} pending.`;
  if (news.length) changes.textContent = news.join(" ");
}

async function poll() {
  if (!document.hidden) {
    try {
      const response = await fetch(`/console/holds/${encodeURIComponent(section.dataset.hold)}/acks.json`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (response.ok && !response.redirected) render(await response.json());
    } catch {
      // A dropped request: the next poll tries again.
    }
  }
  setTimeout(poll, EVERY_MS);
}

if (section && body) {
  section.dataset.live = "polling";
  setTimeout(poll, EVERY_MS);
}
