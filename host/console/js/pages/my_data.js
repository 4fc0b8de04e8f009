// A person's rights over their own data: each separate consent with the
// exact words it was given on (given or withdrawn here, in force at once),
// who read their contact details, health or presence readings and why, and
// the archive of everything the host holds about them.

import { api, session } from "../api.js";
import { h, fill, when } from "../dom.js";
import { actionButton, announce, problem } from "../feedback.js";
import { t } from "../i18n.js";

const PURPOSES = ["health-monitoring", "presence-checks", "location-sharing"];

function consentRow(state, refresh) {
  const purpose = state.purpose;
  // The text a person agrees to is the one they were shown: stored with the decision.
  const text = t(`consent.${purpose}.text`);
  const given = state.given;
  return h(
    "li",
    { dataset: { purpose, given: String(given) } },
    h("h3", {}, t(`consent.${purpose}`)),
    h("p", { class: "consent-text" }, text),
    h("p", { class: "meta" }, given ? t("consent.given", { at: when(state.record.at), by: state.record.given_by }) : t("consent.not-given")),
    actionButton({ dataset: { action: given ? "withdraw" : "give", purpose } }, given ? t("consent.withdraw") : t("consent.give"), async () => {
      await api.put(api.community(`/people/${encodeURIComponent(session.me.person)}/consents/${purpose}`), { given: !given, text });
      announce(given ? t("consent.withdrawn", { purpose: t(`consent.${purpose}`) }) : t("consent.recorded", { purpose: t(`consent.${purpose}`) }));
      await refresh();
    }),
  );
}

async function consents(container) {
  const refresh = async () => {
    const { states } = await api.get("/api/v1/me/consents");
    const byPurpose = new Map(states.map((s) => [s.purpose, s]));
    fill(container, h("ul", { class: "consents", id: "consents" }, PURPOSES.map((p) => consentRow(byPurpose.get(p) ?? { purpose: p, given: false }, refresh))));
  };
  await refresh();
}

async function accessLog(container) {
  const log = await api.get("/api/v1/me/access-log");
  fill(
    container,
    log.length
      ? h(
          "table",
          { id: "access-log" },
          h("thead", {}, h("tr", {}, ["access.when", "access.who", "access.what", "access.why"].map((k) => h("th", {}, t(k))))),
          h(
            "tbody",
            {},
            log.map((e) => h("tr", { dataset: { category: e.category } }, h("td", {}, when(e.at)), h("td", {}, `${e.reader_person ?? e.reader} (${e.reader_role})`), h("td", {}, t(`access.${e.category}`)), h("td", {}, e.reason))),
          ),
        )
      : h("p", { class: "meta", id: "access-log" }, t("access.none")),
  );
}

/** Downloads the archive: it needs the token, so it is fetched, then saved. */
function download() {
  return actionButton({ id: "download-data" }, t("data.download"), async () => {
    const data = await api.get("/api/v1/me/data");
    const link = h("a", { href: URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" })), download: `linli-${data.community}-${data.person}.json` });
    link.click();
    URL.revokeObjectURL(link.href);
    announce(t("data.downloaded", { readings: data.readings.length, messages: data.inbox.length, entries: data.ledger_entries.length }));
  });
}

/** The section of a person's own page about their data. */
export async function myData(container) {
  if (!session.me.person) {
    fill(container, h("p", { class: "meta" }, t("data.no-person")));
    return;
  }
  const consentBox = h("div");
  const logBox = h("div");
  fill(container, h("h3", {}, t("consent.title")), consentBox, h("h3", {}, t("access.title")), logBox, h("p", {}, t("data.explain")), download());
  try {
    await Promise.all([consents(consentBox), accessLog(logBox)]);
  } catch (e) {
    fill(container, h("p", { class: "meta" }, problem(e)));
  }
}
