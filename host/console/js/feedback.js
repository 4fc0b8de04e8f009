// Telling people what happened: the status line (read out by screen
// readers), the wording of a failed call, and the buttons that act.

import { ApiError } from "./api.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";

/** How long a message stays in the status line. */
const SHOWN_MS = 6000;
let hiding = null;

/** Shows a short message in the status line for a few seconds. */
export function announce(message) {
  document.getElementById("status").textContent = message;
  clearTimeout(hiding);
  if (message) hiding = setTimeout(() => announce(""), SHOWN_MS);
}

/** The message people read for a failed call: the API names the field. */
export function problem(error) {
  if (error instanceof ApiError) return t("error.api", { status: error.status, message: error.message });
  return String(error?.message ?? error);
}

/**
 * A button that runs `action` when pressed: disabled while it runs (a
 * second press cannot repeat it), and on failure saying why.
 */
export function actionButton(attrs, label, action) {
  const button = h("button", { type: "button", ...attrs }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await action();
    } catch (e) {
      announce(problem(e));
    } finally {
      button.disabled = false;
    }
  });
  return button;
}
