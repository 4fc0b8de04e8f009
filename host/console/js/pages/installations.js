// Installations: for each, its state, what it handled and failed on, how
// far behind it is, the dead letters it holds (with retry), the last lines
// it logged, suspend and resume, and a way to change or upgrade it.

import { api } from "../api.js";
import { h, fill, when } from "../dom.js";
import { actionButton, announce } from "../feedback.js";
import { t } from "../i18n.js";
import { compareVersions, publishedPlugins } from "./catalog.js";

function counts(map) {
  const entries = Object.entries(map ?? {});
  if (!entries.length) return t("installations.none");
  return entries.map(([reason, n]) => `${t(`reason.${reason}`, {}, reason)}: ${n}`).join(t("list.separator"));
}

async function card(installation, newest, refresh) {
  const base = api.community(`/installations/${encodeURIComponent(installation.id)}`);
  const [stats, log, letters] = await Promise.all([
    api.get(`${base}/stats`),
    api.get(`${base}/log?limit=20`),
    api.get(`${base}/dead-letters?limit=5`),
  ]);
  const suspended = installation.state === "suspended";
  const toggle = actionButton(
    { dataset: { action: suspended ? "resume" : "suspend" } },
    t(suspended ? "installations.resume" : "installations.suspend", { plugin: installation.plugin }),
    async () => {
      await api.patch(base, { state: suspended ? "active" : "suspended" });
      announce(t(suspended ? "installations.resumed" : "installations.suspended", { plugin: installation.plugin }));
      await refresh();
    },
  );
  const upgrade = newest && compareVersions(newest, installation.version) > 0
    ? h("a", { class: "button", href: `#/enable/${installation.plugin}/${newest}/${installation.id}` }, t("catalog.upgrade", { version: newest }))
    : h("a", { class: "button", href: `#/enable/${installation.plugin}/${installation.version}/${installation.id}` }, t("installations.change", { plugin: installation.plugin }));
  const retry = (letter) =>
    actionButton({}, t("installations.retry", { id: letter.id }), async () => {
      const outcome = await api.post(`${base}/dead-letters/${letter.id}/retry`);
      announce(t(`installations.retry.${outcome.outcome}`, { id: letter.id }));
      await refresh();
    });
  return h(
    "article",
    { class: "card installation", dataset: { installation: installation.id, plugin: installation.plugin }, "aria-labelledby": `inst-${installation.id}` },
    h("h2", { id: `inst-${installation.id}` }, `${installation.plugin} ${installation.version}`),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, t("installations.state")),
      h("dd", { class: `state ${installation.state}` }, t(`state.${installation.state}`), installation.state_reason ? ` — ${installation.state_reason}` : ""),
      h("dt", {}, t("installations.handled")),
      h("dd", { dataset: { stat: "events_handled" } }, String(stats.events_handled)),
      h("dt", {}, t("installations.failures")),
      h("dd", {}, counts(stats.failures)),
      h("dt", {}, t("installations.backlog")),
      h("dd", {}, t("installations.lag", { backlog: stats.backlog, seconds: stats.lag_seconds.toFixed(1) })),
      h("dt", {}, t("installations.dead")),
      h("dd", {}, counts(stats.dead_letters)),
    ),
    letters.length
      ? h(
          "details",
          {},
          h("summary", {}, t("installations.dead.recent")),
          h("ul", {}, letters.map((l) => h("li", {}, `${when(l.at)} · ${t(`reason.${l.reason}`, {}, l.reason)} · ${l.error.slice(0, 200)} `, retry(l)))),
        )
      : null,
    h(
      "details",
      { class: "log" },
      h("summary", {}, t("installations.log", { count: log.length })),
      log.length
        ? h("pre", { class: "log-lines" }, log.map((line) => `${new Date(line.at).toISOString()} ${line.level.toUpperCase().padEnd(5)} ${line.line}\n`))
        : h("p", { class: "meta" }, t("installations.log.empty")),
    ),
    h("div", { class: "actions" }, toggle, upgrade),
  );
}

export async function render(main, _params, _signal) {
  const refresh = async () => {
    const [list, plugins] = await Promise.all([api.get(api.community("/installations")), publishedPlugins()]);
    const cards = await Promise.all(list.map((i) => card(i, plugins.get(i.plugin)?.[0]?.version, refresh)));
    fill(
      main,
      h("h1", {}, t("installations.title")),
      cards.length ? h("div", { class: "cards" }, cards) : h("p", {}, t("installations.empty"), " ", h("a", { href: "#/catalog" }, t("nav.catalog"))),
    );
  };
  await refresh();
}
