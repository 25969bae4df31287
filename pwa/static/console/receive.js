// The receive page's scan field without a reload: GET /console/receive-scan reads the scan with
// the server's barcode parser and this fills only the fields it names, so a location typed
// before a supplier's label (or a bin label scanned after it) is kept. Without this script, or
// when the call fails, the scan form's own GET fills the form on the server instead.

const form = document.querySelector("form.scan-label");
const input = document.getElementById("scan");
const status = document.getElementById("scan-filled");
const productName = document.getElementById("product-name");

// What a supplier's label says: a new label replaces all of it, even facts it does not carry.
const LABEL_FIELDS = ["product", "supplierLotCode", "expiry", "bestBefore", "productionDate", "quantity"];

function showProblem(text) {
  let problem = document.getElementById("scan-problem");
  if (!problem) {
    problem = document.createElement("p");
    problem.id = "scan-problem";
    problem.className = "problem";
    problem.setAttribute("role", "alert");
    form.append(problem);
  }
  problem.textContent = text;
}

function clearProblem() {
  document.getElementById("scan-problem")?.remove();
  document.getElementById("receive-error")?.remove();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const scan = input.value;
  if (!scan.trim()) return;
  let response;
  try {
    response = await fetch(`/console/receive-scan?scan=${encodeURIComponent(scan)}`, {
      headers: { Accept: "application/json" },
    });
  } catch {
    form.submit();
    return;
  }
  // Signed out, or refused: the ordinary GET shows the sign-in or 403 page.
  if (response.redirected || !(response.headers.get("content-type") || "").includes("json")) {
    form.submit();
    return;
  }
  const body = await response.json();
  clearProblem();
  if (!response.ok) {
    status.textContent = "";
    showProblem(body.detail);
    input.select();
    return;
  }
  if ("product" in body.values) {
    for (const name of LABEL_FIELDS) document.getElementById(name).value = "";
    productName.textContent = body.productName || "";
  }
  for (const [name, value] of Object.entries(body.values)) {
    const field = document.getElementById(name);
    if (field) field.value = value;
  }
  // Supplier and location as this product's last receipt, where nothing is typed yet.
  for (const [name, value] of Object.entries(body.usual || {})) {
    const field = document.getElementById(name);
    if (field && !field.value) field.value = value;
  }
  status.textContent = body.message;
  input.value = "";
  input.focus();
});
