// The catalog: every published plugin, newest version first, with who made
// it, whether its package is signed, and what it asks to reach in plain
// words; enabling or upgrading starts here.

import { api, session } from "../api.js";
import { describeAll } from "../capabilities.js";
import { h, fill, when } from "../dom.js";
import { t } from "../i18n.js";

/** Versions compared as semver (pre-releases after their release's predecessors). */
export function compareVersions(a, b) {
  const parse = (v) => {
    const [core, pre] = v.split("-", 2);
    return { parts: core.split(".").map(Number), pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i += 1) if (x.parts[i] !== y.parts[i]) return x.parts[i] - y.parts[i];
  if (x.pre === y.pre) return 0;
  if (!x.pre) return 1;
  if (!y.pre) return -1;
  return x.pre < y.pre ? -1 : 1;
}

/** Published versions grouped by plugin, newest first. */
export async function publishedPlugins() {
  const versions = await api.get("/api/v1/plugins");
  const byPlugin = new Map();
  for (const v of versions) {
    if (!byPlugin.has(v.id)) byPlugin.set(v.id, []);
    byPlugin.get(v.id).push(v);
  }
  for (const list of byPlugin.values()) list.sort((a, b) => compareVersions(b.version, a.version));
  return byPlugin;
}

function signature(version) {
  const signed = version.signed_by;
  if (!signed) return h("span", { class: "tag warn" }, t("catalog.unsigned"));
  return h("span", { class: "tag ok" }, t("catalog.signed", { vendor: signed.vendor, key: signed.key.slice(0, 16) }));
}

export async function render(main, _params, _signal) {
  const plugins = await publishedPlugins();
  // A vendor reads the catalog outside any community.
  const installations = session.me.community ? await api.get(api.community("/installations")) : [];
  const installed = new Map(installations.map((i) => [i.plugin, i]));
  const cards = [...plugins.entries()].map(([id, versions]) => {
    const latest = versions[0];
    const installation = installed.get(id);
    let action;
    if (!installation) {
      action = h("a", { class: "button primary", href: `#/enable/${id}/${latest.version}` }, t("catalog.enable", { plugin: id }));
    } else if (compareVersions(latest.version, installation.version) > 0) {
      action = h("a", { class: "button primary", href: `#/enable/${id}/${latest.version}/${installation.id}` }, t("catalog.upgrade", { version: latest.version }));
    } else {
      action = h("span", { class: "tag ok" }, t("catalog.installed", { version: installation.version }));
    }
    return h(
      "article",
      { class: "card plugin", dataset: { plugin: id }, "aria-labelledby": `plugin-${id}` },
      h("h2", { id: `plugin-${id}` }, id),
      h("p", { class: "meta" }, t("catalog.vendor", { vendor: latest.vendor }), " · ", signature(latest), " · ", t("catalog.published", { when: when(latest.uploaded_at) })),
      h("p", {}, latest.description),
      h("h3", {}, t("catalog.asks")),
      describeAll(latest.capabilities, latest["optional-capabilities"]),
      h("p", { class: "meta" }, t("catalog.versions"), " ", versions.map((v) => v.version).join(", ")),
      session.me.role === "community-admin" || session.me.role === "platform-admin" ? action : null,
    );
  });
  fill(main, h("h1", {}, t("catalog.title")), cards.length ? h("div", { class: "cards" }, cards) : h("p", {}, t("catalog.empty")));
}
