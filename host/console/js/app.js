// The console's shell: the login form (a token, kept for this tab only),
// the pages a role may use, the language switch and the hash router. Every
// page is a module exporting `render(main, params, signal)`; `signal`
// aborts when the reader leaves the page, closing its live streams.

import { api, ApiError, session } from "./api.js";
import { h, fill, field } from "./dom.js";
import { announce, problem } from "./feedback.js";
import { language, setLanguage, t } from "./i18n.js";
import * as catalog from "./pages/catalog.js";
import * as enable from "./pages/enable.js";
import * as installations from "./pages/installations.js";
import * as compound from "./pages/compound.js";
import * as ledger from "./pages/ledger.js";
import * as resident from "./pages/resident.js";

/** Pages by route, with the roles that see them in the navigation. */
const PAGES = {
  catalog: { module: catalog, roles: ["platform-admin", "community-admin", "vendor"] },
  enable: { module: enable, roles: ["community-admin", "platform-admin"], hidden: true },
  installations: { module: installations, roles: ["community-admin", "platform-admin"] },
  compound: { module: compound, roles: ["community-admin", "platform-admin", "operator"] },
  ledger: { module: ledger, roles: ["community-admin", "platform-admin", "operator", "resident"] },
  resident: { module: resident, roles: ["resident", "operator"] },
};

const main = document.getElementById("main");
let leaving = new AbortController();

function route() {
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  return { name, params: rest.map(decodeURIComponent) };
}

function defaultPage() {
  const role = session.me?.role;
  if (role === "resident") return "resident";
  if (role === "operator") return "compound";
  return "catalog";
}

function renderNav() {
  const nav = document.getElementById("nav");
  nav.setAttribute("aria-label", t("nav.label"));
  if (!session.me) return fill(nav);
  const current = route().name || defaultPage();
  const links = Object.entries(PAGES)
    .filter(([, page]) => !page.hidden && page.roles.includes(session.me.role))
    .map(([name]) =>
      h("a", { href: `#/${name}`, "aria-current": name === current ? "page" : undefined }, t(`nav.${name}`)),
    );
  fill(nav, links, h("span", { class: "who" }, `${session.me.subject} · ${t(`role.${session.me.role}`)}${session.me.community ? ` · ${session.me.community}` : ""}`));
}

function renderChrome() {
  document.documentElement.lang = language() === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  document.getElementById("skip-link").textContent = t("skip");
  document.getElementById("language-label").textContent = t("language");
  document.getElementById("language").value = language();
  const logout = document.getElementById("logout");
  logout.textContent = t("logout");
  logout.hidden = !session.me;
  renderNav();
}

function renderLogin(message) {
  const token = h("input", { type: "password", autocomplete: "current-password", required: true, spellcheck: "false" });
  const error = h("p", { class: "error", role: "alert" }, message ?? "");
  const form = h(
    "form",
    { class: "card login", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, t("login.title")),
    h("p", {}, t("login.intro")),
    field(t("login.token"), token, t("login.hint")),
    error,
    h("button", { type: "submit", class: "primary" }, t("login.submit")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    session.token = token.value.trim();
    try {
      session.me = await api.get("/api/v1/me");
      location.hash = `#/${defaultPage()}`;
      await show();
    } catch (e) {
      session.token = null;
      error.textContent = e instanceof ApiError && e.status === 401 ? t("login.refused") : problem(e);
      token.focus();
    }
  });
  fill(main, form);
  token.focus();
}

/** A platform admin works in one community at a time, chosen here. */
async function chooseCommunity() {
  const communities = await api.get("/api/v1/communities");
  const select = h("select", {}, communities.map((c) => h("option", { value: c.id }, `${c.name} (${c.id})`)));
  return new Promise((resolve) => {
    const form = h(
      "form",
      { class: "card" },
      h("h1", {}, t("community.choose")),
      field(t("community.label"), select),
      h("button", { type: "submit", class: "primary" }, t("community.submit")),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      session.me.community = select.value;
      resolve();
    });
    fill(main, form);
    select.focus();
  });
}

async function show() {
  leaving.abort();
  leaving = new AbortController();
  // What was said on the last page is about the last page.
  announce("");
  renderChrome();
  if (!session.token) return renderLogin();
  if (!session.me) {
    try {
      session.me = await api.get("/api/v1/me");
    } catch (e) {
      session.token = null;
      session.me = null;
      renderChrome();
      return renderLogin(e instanceof ApiError && e.status === 401 ? t("login.refused") : problem(e));
    }
    renderChrome();
  }
  if (!session.me.community && session.me.role === "platform-admin") {
    await chooseCommunity();
    renderChrome();
  }
  const { name, params } = route();
  const page = PAGES[name] && PAGES[name].roles.includes(session.me.role) ? PAGES[name] : PAGES[defaultPage()];
  fill(main, h("p", { class: "loading" }, t("loading")));
  try {
    await page.module.render(main, params, leaving.signal);
  } catch (e) {
    fill(main, h("p", { class: "error", role: "alert" }, problem(e)));
  }
}

document.getElementById("language").addEventListener("change", (event) => {
  setLanguage(event.target.value);
  show();
});
document.getElementById("logout").addEventListener("click", () => {
  session.token = null;
  session.me = null;
  location.hash = "";
  show();
});
window.addEventListener("hashchange", () => {
  if (location.hash.startsWith("#/") || location.hash === "") show();
});
show();
