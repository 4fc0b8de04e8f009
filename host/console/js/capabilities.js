// Capabilities as people read them: what a plugin asks to reach, in plain
// words instead of its manifest's tables; the grant form an admin narrows
// (never wider than the request, as the host also checks); and what an
// upgrade would ask for beyond what is granted.

import { h, uid } from "./dom.js";
import { t } from "./i18n.js";

/**
 * The capabilities in the order they are shown, with the list each scopes
 * by (`list`), a second list where it has one (`also`: the ledger's record
 * kinds published to every member) and a yes-or-no part (`flag`).
 */
const CAPABILITIES = [
  { name: "sensor", list: "kinds" },
  { name: "map", flag: "people" },
  { name: "alarm", list: "types" },
  { name: "notify", list: "topics", flag: "critical" },
  { name: "ledger", list: "namespaces", also: "public-records" },
  { name: "store" },
  { name: "timer" },
];

/** One word of a scope (a reading kind, an alarm type, a topic) as people say it. */
export function scopeWord(name) {
  if (name === "*") return t("scope.any");
  const word = t(`word.${name}`, {}, null);
  return word ?? name.replaceAll("-", " ");
}

function listWords(names) {
  return (names ?? []).map(scopeWord).join(t("list.separator"));
}

/** The sentence saying what `scope` of capability `name` lets a plugin do. */
export function describe(name, scope) {
  switch (name) {
    case "sensor":
      return t("cap.sensor", { list: listWords(scope.kinds) });
    case "map":
      return scope.people ? t("cap.map.people") : t("cap.map");
    case "alarm":
      return t("cap.alarm", { list: listWords(scope.types) });
    case "notify":
      return t(scope.critical ? "cap.notify.critical" : "cap.notify", { list: listWords(scope.topics) });
    case "ledger": {
      // Namespaces and record kinds are names on the ledger, shown as written.
      const kept = t("cap.ledger", { list: (scope.namespaces ?? []).join(t("list.separator")) });
      const published = scope["public-records"] ?? [];
      return published.length
        ? `${kept}${t("list.sentence")}${t("cap.ledger.public", { list: published.join(t("list.separator")) })}`
        : kept;
    }
    default:
      return t(`cap.${name}`, {}, name);
  }
}

/** A list of plain sentences for every requested capability. */
export function describeAll(capabilities, optional = []) {
  return h(
    "ul",
    { class: "capabilities" },
    CAPABILITIES.filter((c) => capabilities?.[c.name]).map((c) =>
      h(
        "li",
        { dataset: { capability: c.name } },
        describe(c.name, capabilities[c.name]),
        optional.includes(c.name) ? h("span", { class: "tag" }, t("grant.optional")) : null,
      ),
    ),
  );
}

/**
 * The grant form for `requested` capabilities: a checkbox per capability
 * (required ones cannot be left out) and one per word of its scope, all
 * starting as granted (or as `current` grants when changing an installation).
 * Returns the fieldsets and a function reading the chosen grants.
 */
export function grantForm(requested, optional = [], current = null) {
  const readers = [];
  const sets = CAPABILITIES.filter((c) => requested?.[c.name]).map((c) => {
    const asked = requested[c.name];
    const had = current ? current[c.name] : asked;
    const required = !optional.includes(c.name);
    const legendId = uid(`grant-${c.name}`);
    const whole = h("input", {
      type: "checkbox",
      id: uid(`grant-${c.name}`),
      checked: required || Boolean(had),
      disabled: required,
      dataset: { grant: c.name },
    });
    // One checkbox per word of a list the capability is scoped by.
    const boxes = (list) =>
      (asked[list] ?? []).map((word) => ({
        word,
        box: h("input", {
          type: "checkbox",
          id: uid(`grant-${c.name}-item`),
          checked: !had || (had[list] ?? []).includes(word) || (had[list] ?? []).includes("*"),
          dataset: { grant: c.name, item: word },
        }),
      }));
    const items = c.list ? boxes(c.list) : [];
    const also = c.also ? boxes(c.also) : [];
    let flagBox = null;
    if (c.flag && asked[c.flag]) {
      flagBox = h("input", {
        type: "checkbox",
        id: uid(`grant-${c.name}-${c.flag}`),
        checked: had ? Boolean(had[c.flag]) : true,
        dataset: { grant: c.name, flag: c.flag },
      });
    }
    const sync = () => {
      for (const { box } of [...items, ...also]) box.disabled = !whole.checked;
      if (flagBox) flagBox.disabled = !whole.checked;
    };
    whole.addEventListener("change", sync);
    sync();
    readers.push(() => {
      if (!whole.checked) return [c.name, undefined];
      const scope = {};
      if (c.list) scope[c.list] = items.filter((i) => i.box.checked).map((i) => i.word);
      if (c.also && also.length) scope[c.also] = also.filter((i) => i.box.checked).map((i) => i.word);
      if (c.flag) scope[c.flag] = Boolean(flagBox?.checked);
      return [c.name, scope];
    });
    return h(
      "fieldset",
      { class: "grant", "aria-labelledby": legendId },
      h("legend", { id: legendId }, t(`cap.name.${c.name}`)),
      h(
        "div",
        { class: "check" },
        whole,
        h("label", { for: whole.id }, describe(c.name, asked)),
        required ? h("span", { class: "tag" }, t("grant.required")) : h("span", { class: "tag" }, t("grant.optional")),
      ),
      items.length
        ? h(
            "div",
            { class: "items", role: "group", "aria-label": t("grant.items", { capability: t(`cap.name.${c.name}`) }) },
            items.map(({ word, box }) =>
              h("div", { class: "check" }, box, h("label", { for: box.id }, c.name === "ledger" ? word : scopeWord(word))),
            ),
          )
        : null,
      also.length
        ? h(
            "div",
            { class: "items", role: "group", "aria-label": t(`grant.also.${c.also}`) },
            h("p", { class: "hint" }, t(`grant.also.${c.also}`)),
            also.map(({ word, box }) => h("div", { class: "check" }, box, h("label", { for: box.id }, word))),
          )
        : null,
      flagBox
        ? h("div", { class: "check" }, flagBox, h("label", { for: flagBox.id }, t(`grant.flag.${c.flag}`)))
        : null,
    );
  });
  const read = () => {
    const grants = {};
    for (const reader of readers) {
      const [name, scope] = reader();
      if (scope) grants[name] = scope;
    }
    return grants;
  };
  return { sets, read };
}

/**
 * What `after` asks for that `before` did not, and what it no longer asks
 * for: `{added: [sentence], removed: [sentence]}` by capability and word.
 */
export function diff(before = {}, after = {}) {
  const added = [];
  const removed = [];
  for (const c of CAPABILITIES) {
    const was = before[c.name];
    const now = after[c.name];
    if (!was && now) added.push(describe(c.name, now));
    else if (was && !now) removed.push(describe(c.name, was));
    else if (was && now) {
      for (const list of [c.list, c.also].filter(Boolean)) {
        const more = (now[list] ?? []).filter((w) => !(was[list] ?? []).includes(w));
        const less = (was[list] ?? []).filter((w) => !(now[list] ?? []).includes(w));
        // Only the words that changed, in the sentence of their own list.
        const only = (scope, words) => ({ [list]: words, ...(list === c.also ? { [c.list]: scope[c.list] } : {}) });
        if (more.length) added.push(describe(c.name, only(now, more)));
        if (less.length) removed.push(describe(c.name, only(was, less)));
      }
      if (c.flag && Boolean(now[c.flag]) !== Boolean(was[c.flag])) {
        (now[c.flag] ? added : removed).push(t(`grant.flag.${c.flag}`));
      }
    }
  }
  return { added, removed };
}
