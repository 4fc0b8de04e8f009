// The ledger: accounts and entries, and receipts checked here in the
// browser against the host's public key (SHA-256 and Ed25519 in WebCrypto,
// receipt.js), so whoever holds a receipt need not trust this page's
// server. Staff see the whole community ledger; residents their own
// accounts and the entries that touch them.

import { api, session } from "../api.js";
import { h, fill, field, when } from "../dom.js";
import { problem } from "../feedback.js";
import { t } from "../i18n.js";
import { verifyReceipt } from "../receipt.js";

const SHOWN = 50;

/** The first value of `key` anywhere within `value`. */
function find(value, key) {
  if (!value || typeof value !== "object") return undefined;
  if (key in value) return value[key];
  for (const inner of Object.values(value)) {
    const found = find(inner, key);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** What an entry is about, read from its canonical JSON body. */
function summary(entry) {
  try {
    const body = JSON.parse(entry.body);
    const source = find(body, "source");
    const target = find(body, "target");
    const parts = [find(body, "plugin"), find(body, "record-kind"), find(body, "account")];
    if (typeof source === "string" && typeof target === "string") parts.push(`${source} → ${target}: ${find(body, "amount")}`);
    return parts.filter((p) => typeof p === "string").join(" · ");
  } catch {
    return entry.body.slice(0, 80);
  }
}

/** Shows the outcome of checking `receipt` in `output`. */
export async function showVerification(output, receipt, publicKey) {
  const result = await verifyReceipt(receipt, publicKey);
  output.dataset.verified = String(result.ok);
  fill(
    output,
    result.ok
      ? h("span", { class: "ok" }, "✓ ", t("receipt.ok", { index: receipt.entry?.index, size: receipt.checkpoint?.checkpoint?.size }))
      : h("span", { class: "bad" }, "✗ ", t("receipt.bad", { step: t(`receipt.step.${result.step}`), reason: result.reason })),
  );
  return result;
}

/** A button that fetches an entry's receipt and checks it beside itself. */
export function verifyButton(index, publicKey) {
  const output = h("span", { class: "verification", role: "status", dataset: { receiptFor: String(index) } });
  const button = h("button", { type: "button", dataset: { verify: String(index) }, "aria-label": t("receipt.verify.label", { index }) }, t("receipt.verify"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const receipt = await api.get(api.community(`/ledger/entries/${index}/receipt`));
      await showVerification(output, receipt, publicKey);
    } catch (e) {
      fill(output, h("span", { class: "bad" }, problem(e)));
    } finally {
      button.disabled = false;
    }
  });
  return h("span", { class: "verify" }, button, " ", output);
}

/** The table of `entries`, each with its receipt check. */
export function entryTable(entries, publicKey) {
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      { class: "entries" },
      h("thead", {}, h("tr", {}, ["index", "kind", "what", "when", "receipt"].map((c) => h("th", { scope: "col" }, t(`ledger.col.${c}`))))),
      h(
        "tbody",
        {},
        entries.map((e) =>
          h("tr", { dataset: { entry: String(e.index) } }, h("td", {}, String(e.index)), h("td", {}, e.kind), h("td", {}, summary(e)), h("td", {}, when(e.at)), h("td", {}, verifyButton(e.index, publicKey))),
        ),
      ),
    ),
  );
}

function accountTable(accounts) {
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      { class: "accounts" },
      h("thead", {}, h("tr", {}, ["account", "balance", "floor"].map((c) => h("th", { scope: "col" }, t(`ledger.col.${c}`))))),
      h("tbody", {}, accounts.map((a) => h("tr", { dataset: { account: a.name } }, h("td", {}, a.name), h("td", { class: "number" }, String(a.balance)), h("td", { class: "number" }, a.floor ?? "—")))),
    ),
  );
}

/** The form checking a receipt someone pasted (one they were given, or kept). */
export function receiptChecker(publicKey) {
  const area = h("textarea", { rows: 6, spellcheck: "false", id: "receipt-json" });
  const output = h("p", { class: "verification", role: "status", id: "receipt-result" });
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "check-title" },
    h("h2", { id: "check-title" }, t("receipt.check.title")),
    h("p", { class: "meta" }, t("receipt.check.intro", { key: publicKey })),
    field(t("receipt.check.label"), area),
    h("button", { type: "submit", id: "check-receipt" }, t("receipt.check.submit")),
    output,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let receipt;
    try {
      receipt = JSON.parse(area.value);
    } catch {
      output.dataset.verified = "false";
      fill(output, h("span", { class: "bad" }, t("receipt.check.notjson")));
      return;
    }
    await showVerification(output, receipt, publicKey);
  });
  return form;
}

export async function render(main, _params, _signal) {
  const { public_key: publicKey } = await api.get("/api/v1/ledger/public-key");
  if (session.me.role === "resident") {
    const accounts = await api.get("/api/v1/me/ledger/accounts");
    const sections = await Promise.all(
      accounts.map(async (a) => {
        const entries = await api.get(api.community(`/ledger/entries?account=${encodeURIComponent(a.name)}&limit=${SHOWN}`));
        return h("section", { class: "card" }, h("h2", {}, a.name, " · ", t("ledger.balance", { balance: a.balance })), entryTable(entries, publicKey));
      }),
    );
    fill(main, h("h1", {}, t("ledger.title")), sections.length ? sections : h("p", {}, t("ledger.mine.none")), receiptChecker(publicKey));
    return;
  }
  let checkpoint = null;
  try {
    checkpoint = await api.get(api.community("/ledger/checkpoint"));
  } catch (e) {
    if (e.status !== 404) throw e;
  }
  const size = checkpoint?.checkpoint.size ?? 0;
  const after = size > SHOWN ? `&after=${size - SHOWN - 1}` : "";
  const [accounts, entries] = await Promise.all([
    api.get(api.community("/ledger/accounts")),
    size ? api.get(api.community(`/ledger/entries?limit=${SHOWN}${after}`)) : [],
  ]);
  fill(
    main,
    h("h1", {}, t("ledger.title")),
    checkpoint ? h("p", { class: "meta" }, t("ledger.checkpoint", { size, when: when(checkpoint.checkpoint.timestamp_ms), key: checkpoint.key_id })) : null,
    h("section", { class: "card", "aria-labelledby": "entries-title" }, h("h2", { id: "entries-title" }, t("ledger.entries")), entries.length ? entryTable(entries.reverse(), publicKey) : h("p", {}, t("ledger.empty"))),
    h("section", { class: "card", "aria-labelledby": "accounts-title" }, h("h2", { id: "accounts-title" }, t("ledger.accounts")), accounts.length ? accountTable(accounts) : h("p", {}, t("ledger.accounts.none"))),
    receiptChecker(publicKey),
  );
}
