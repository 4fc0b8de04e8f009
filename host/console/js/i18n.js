// Chinese and English labels. The language follows the browser's until
// someone picks one with the switch (kept in localStorage); a label missing
// in Chinese falls back to English, a word missing in both to its name.

import { en } from "./labels/en.js";
import { zh } from "./labels/zh.js";

const STORAGE_KEY = "linli.language";

const LABELS = { en, zh };

function browserLanguage() {
  const preferred = navigator.languages?.[0] ?? navigator.language ?? "en";
  return preferred.toLowerCase().startsWith("zh") ? "zh" : "en";
}

let current = localStorage.getItem(STORAGE_KEY) ?? browserLanguage();
if (!LABELS[current]) current = "en";

/** The language labels are shown in: `en` or `zh`. */
export function language() {
  return current;
}

/** Switches the language and remembers the choice. */
export function setLanguage(lang) {
  if (!LABELS[lang]) return;
  current = lang;
  localStorage.setItem(STORAGE_KEY, lang);
}

/**
 * The label `key` with `{name}` filled from `vars`; without a label in
 * either language, `fallback` when one is given, else the key itself.
 */
export function t(key, vars = {}, fallback = undefined) {
  const text = LABELS[current][key] ?? en[key];
  if (text === undefined) return fallback === undefined ? key : fallback;
  return text.replace(/\{(\w+)\}/g, (_, name) => (vars[name] === undefined ? `{${name}}` : String(vars[name])));
}
