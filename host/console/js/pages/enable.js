// Enabling a plugin, or changing or upgrading an installation: the grant
// per capability and scope (checkboxes that can only narrow the request),
// the config form generated from the plugin's JSON Schema, and a
// confirmation that says what will change before anything is sent.
// Route: #/enable/<plugin>/<version>[/<installation>].

import { api, session } from "../api.js";
import { describe, diff, grantForm } from "../capabilities.js";
import { h, fill } from "../dom.js";
import { announce, problem } from "../feedback.js";
import { t } from "../i18n.js";
import { schemaForm } from "../schema_form.js";

const pluginPath = (id, version) => `/api/v1/plugins/${encodeURIComponent(id)}/versions/${encodeURIComponent(version)}`;

/** The sentences of a grant set. */
function sentences(grants) {
  return Object.entries(grants).map(([name, scope]) => describe(name, scope));
}

function list(items, empty) {
  return items.length ? h("ul", {}, items.map((i) => h("li", {}, i))) : h("p", { class: "meta" }, empty);
}

export async function render(main, [pluginId, version, installationId], _signal) {
  const plugin = await api.get(pluginPath(pluginId, version));
  const installation = installationId ? await api.get(api.community(`/installations/${encodeURIComponent(installationId)}`)) : null;
  const installed = installation ? await api.get(pluginPath(installation.plugin, installation.version)) : null;
  const optional = plugin["optional-capabilities"] ?? [];
  const grants = grantForm(plugin.capabilities, optional, installation?.grants ?? null);
  const config = schemaForm(plugin["config-schema"], installation?.config ?? {});
  const upgrading = installation && installation.version !== version;
  let title = t("enable.title", { plugin: pluginId, version });
  if (upgrading) title = t("enable.upgrade.title", { plugin: pluginId, from: installation.version, to: version });
  else if (installation) title = t("enable.change.title", { plugin: pluginId, version });

  const upgradeNotes = upgrading
    ? (() => {
        const change = diff(installed.capabilities, plugin.capabilities);
        return h(
          "section",
          { class: "card", "aria-labelledby": "upgrade-diff" },
          h("h2", { id: "upgrade-diff" }, t("enable.diff.title", { from: installed.version, to: version })),
          h("h3", {}, t("enable.diff.added")),
          list(change.added, t("enable.diff.none")),
          h("h3", {}, t("enable.diff.removed")),
          list(change.removed, t("enable.diff.none")),
        );
      })()
    : null;

  const errors = h("div", { class: "error", role: "alert" });
  const form = h(
    "form",
    { class: "enable", novalidate: true, "aria-labelledby": "enable-title" },
    h("section", { class: "card", "aria-labelledby": "grant-title" }, h("h2", { id: "grant-title" }, t("enable.grants")), h("p", { class: "meta" }, t("enable.grants.intro")), grants.sets),
    h("section", { class: "card", "aria-labelledby": "config-title" }, h("h2", { id: "config-title" }, t("enable.config")), h("p", { class: "meta" }, t("enable.config.intro")), config.element),
    errors,
    h("button", { type: "submit", class: "primary", id: "review" }, t("enable.review")),
  );
  const confirmation = h("section", { class: "card confirm", id: "confirmation", tabindex: "-1", hidden: true, "aria-labelledby": "confirm-title" });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    errors.textContent = "";
    if (!config.validate()) {
      errors.textContent = t("enable.invalid");
      form.querySelector("[aria-invalid=true]")?.focus();
      return;
    }
    const chosen = grants.read();
    const settings = config.read();
    const narrowed = diff(plugin.capabilities, chosen).removed;
    const before = installation ? diff(installation.grants, chosen) : null;
    const back = h("button", { type: "button" }, t("enable.back"));
    const apply = h("button", { type: "button", class: "primary", id: "confirm" }, installation ? t("enable.apply") : t("enable.confirm"));
    back.addEventListener("click", () => {
      confirmation.hidden = true;
      form.hidden = false;
      form.querySelector("#review").focus();
    });
    apply.addEventListener("click", async () => {
      apply.disabled = true;
      try {
        const saved = installation
          ? await api.patch(api.community(`/installations/${encodeURIComponent(installation.id)}`), { version, grants: chosen, config: settings })
          : await api.post(api.community("/installations"), { plugin: pluginId, version, grants: chosen, config: settings });
        announce(t("enable.done", { plugin: pluginId }));
        fill(
          confirmation,
          h("h2", { id: "confirm-title" }, t("enable.done", { plugin: pluginId })),
          h("p", { dataset: { installation: saved.id } }, t("enable.done.detail", { id: saved.id, state: t(`state.${saved.state}`) })),
          h("a", { class: "button primary", href: "#/installations", id: "to-installations" }, t("nav.installations")),
        );
        confirmation.querySelector("a").focus();
      } catch (e) {
        apply.disabled = false;
        errors.textContent = problem(e);
        confirmation.hidden = true;
        form.hidden = false;
        errors.focus?.();
      }
    });
    fill(
      confirmation,
      h("h2", { id: "confirm-title" }, t("enable.confirm.title")),
      h("p", {}, t(upgrading ? "enable.confirm.upgrade" : installation ? "enable.confirm.change" : "enable.confirm.intro", { plugin: pluginId, version, from: installation?.version, to: version, community: session.me.community })),
      h("h3", {}, t("enable.confirm.granted")),
      list(sentences(chosen), t("enable.diff.none")),
      h("h3", {}, t("enable.confirm.withheld")),
      list(narrowed, t("enable.confirm.nothing.withheld")),
      before ? [h("h3", {}, t("enable.confirm.more")), list(before.added, t("enable.diff.none")), h("h3", {}, t("enable.confirm.less")), list(before.removed, t("enable.diff.none"))] : null,
      h("h3", {}, t("enable.confirm.config")),
      Object.keys(settings).length ? h("pre", { class: "json", id: "confirm-config" }, JSON.stringify(settings, null, 2)) : h("p", { class: "meta" }, t("enable.confirm.defaults")),
      h("div", { class: "actions" }, back, apply),
    );
    form.hidden = true;
    confirmation.hidden = false;
    apply.focus();
  });

  fill(main, h("h1", { id: "enable-title" }, title), h("p", {}, plugin.description), upgradeNotes, form, confirmation);
}
