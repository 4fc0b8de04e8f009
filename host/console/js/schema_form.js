// A form generated from a plugin's config JSON Schema (the subset manifests
// use: objects of numbers, integers, strings, booleans and enums, bounds,
// lengths, one-of-a-few-properties), with the schema's constraints as the
// validation messages people read beside each field. Fields left empty are
// left out of the config, so the plugin's own defaults apply; the host
// checks the config against the same schema again when it is sent.

import { h, uid } from "./dom.js";
import { t } from "./i18n.js";

const UNITS = { ms: "ms", pct: "%", c: "°C", kpa: "kPa", m: "m", min: "min" };

/**
 * A property name as a label: `rise-c-per-min` → "Rise °C per min",
 * `confirmation-window-ms` → "Confirmation window (ms)".
 */
export function humanize(key) {
  const words = key.split(/[-_]/);
  const last = words.length - 1;
  const unit = last > 0 && UNITS[words[last]] && words[last - 1] !== "per" ? UNITS[words.pop()] : null;
  const text = words.map((w) => UNITS[w] ?? w).join(" ") + (unit ? ` (${unit})` : "");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * Builds the form for `schema` filled with `value`; returns the element, a
 * `validate()` that marks every field and answers whether all are valid,
 * and a `read()` giving the config.
 */
export function schemaForm(schema, value = {}) {
  const root = node(schema, value, [], 0);
  return {
    element: h("div", { class: "schema-form" }, root.element),
    validate: () => root.validate(),
    read: () => root.read() ?? {},
  };
}

function node(schema, value, path, depth) {
  if (schema?.type === "object" && schema.properties) return objectNode(schema, value ?? {}, path, depth);
  if (schema?.enum) return enumNode(schema, value, path);
  if (schema?.type === "number" || schema?.type === "integer") return numberNode(schema, value, path);
  if (schema?.type === "string") return stringNode(schema, value, path);
  if (schema?.type === "boolean") return booleanNode(schema, value, path);
  return jsonNode(schema, value, path);
}

function label(path, schema) {
  return schema?.title ?? humanize(path[path.length - 1] ?? "config");
}

/** A control with its label, hint and error line, and the checks it makes. */
function leaf(path, schema, control, parse) {
  const id = uid(`config-${path.join("-")}`);
  control.id = id;
  control.dataset.config = path.join(".");
  const error = h("p", { class: "error", id: `${id}-error`, hidden: true });
  const hintText = constraints(schema);
  const hint = hintText ? h("p", { class: "hint", id: `${id}-hint` }, hintText) : null;
  control.setAttribute("aria-describedby", [hint?.id, error.id].filter(Boolean).join(" "));
  const validate = () => {
    const { problem } = parse();
    error.hidden = !problem;
    error.textContent = problem ?? "";
    control.setAttribute("aria-invalid", problem ? "true" : "false");
    return !problem;
  };
  control.addEventListener("change", validate);
  return {
    element: h("div", { class: "field" }, h("label", { for: id }, label(path, schema)), control, hint, error),
    validate,
    read: () => parse().value,
  };
}

/** The constraints of a schema as a hint: "1000 – 3600000, whole number". */
function constraints(schema) {
  const parts = [];
  if (schema.minimum !== undefined) parts.push(t("schema.from", { low: schema.minimum }));
  if (schema.exclusiveMinimum !== undefined) parts.push(t("schema.above", { low: schema.exclusiveMinimum }));
  if (schema.maximum !== undefined) parts.push(t("schema.upto", { high: schema.maximum }));
  if (schema.exclusiveMaximum !== undefined) parts.push(t("schema.below", { high: schema.exclusiveMaximum }));
  if (schema.type === "integer") parts.push(t("schema.integer"));
  if (schema.description) parts.push(schema.description);
  return parts.join(t("list.separator"));
}

function numberNode(schema, value, path) {
  const input = h("input", { type: "number", inputmode: "decimal", value: value ?? "" });
  if (schema.type === "integer") input.step = "1";
  else input.step = "any";
  return leaf(path, schema, input, () => {
    const text = input.value.trim();
    if (text === "") return input.validity.badInput ? { problem: t("schema.number") } : { value: undefined };
    const n = Number(text);
    if (!Number.isFinite(n)) return { problem: t("schema.number") };
    if (schema.type === "integer" && !Number.isInteger(n)) return { problem: t("schema.integer.problem") };
    if (schema.minimum !== undefined && n < schema.minimum) return { problem: t("schema.minimum", { limit: schema.minimum }) };
    if (schema.exclusiveMinimum !== undefined && n <= schema.exclusiveMinimum)
      return { problem: t("schema.exclusiveMinimum", { limit: schema.exclusiveMinimum }) };
    if (schema.maximum !== undefined && n > schema.maximum) return { problem: t("schema.maximum", { limit: schema.maximum }) };
    if (schema.exclusiveMaximum !== undefined && n >= schema.exclusiveMaximum)
      return { problem: t("schema.exclusiveMaximum", { limit: schema.exclusiveMaximum }) };
    return { value: n };
  });
}

function stringNode(schema, value, path) {
  const input = h("input", { type: "text", value: value ?? "" });
  return leaf(path, schema, input, () => {
    const text = input.value;
    if (text === "") return { value: undefined };
    if (schema.minLength !== undefined && text.length < schema.minLength)
      return { problem: t("schema.minLength", { limit: schema.minLength }) };
    if (schema.maxLength !== undefined && text.length > schema.maxLength)
      return { problem: t("schema.maxLength", { limit: schema.maxLength }) };
    if (schema.pattern && !new RegExp(schema.pattern, "u").test(text))
      return { problem: t("schema.pattern", { pattern: schema.pattern }) };
    return { value: text };
  });
}

function enumNode(schema, value, path) {
  const select = h(
    "select",
    {},
    h("option", { value: "" }, t("schema.default")),
    schema.enum.map((option) =>
      h("option", { value: JSON.stringify(option), selected: JSON.stringify(option) === JSON.stringify(value) }, String(option)),
    ),
  );
  return leaf(path, schema, select, () => ({ value: select.value === "" ? undefined : JSON.parse(select.value) }));
}

function booleanNode(schema, value, path) {
  const select = h(
    "select",
    {},
    h("option", { value: "" }, t("schema.default")),
    h("option", { value: "true", selected: value === true }, t("schema.yes")),
    h("option", { value: "false", selected: value === false }, t("schema.no")),
  );
  return leaf(path, schema, select, () => ({ value: select.value === "" ? undefined : select.value === "true" }));
}

/** Anything the form has no control for is edited as JSON. */
function jsonNode(schema, value, path) {
  const area = h("textarea", { rows: 3, spellcheck: "false" }, value === undefined ? "" : JSON.stringify(value));
  return leaf(path, { ...schema, description: t("schema.json") }, area, () => {
    const text = area.value.trim();
    if (text === "") return { value: undefined };
    try {
      const parsed = JSON.parse(text);
      if (schema?.type === "object" && (typeof parsed !== "object" || Array.isArray(parsed) || parsed === null))
        return { problem: t("schema.object") };
      return { value: parsed };
    } catch {
      return { problem: t("schema.json.problem") };
    }
  });
}

function objectNode(schema, value, path, depth) {
  const children = Object.entries(schema.properties).map(([key, child]) => ({
    key,
    node: node(child, value[key], [...path, key], depth + 1),
  }));
  const error = h("p", { class: "error", hidden: true });
  const read = () => {
    const out = {};
    for (const { key, node: child } of children) {
      const v = child.read();
      if (v !== undefined) out[key] = v;
    }
    return Object.keys(out).length ? out : undefined;
  };
  const validate = () => {
    let ok = children.map(({ node: child }) => child.validate()).every(Boolean);
    const count = Object.keys(read() ?? {}).length;
    let problem = null;
    if (count > 0 && schema.minProperties !== undefined && count < schema.minProperties)
      problem = t("schema.minProperties", { limit: schema.minProperties });
    if (schema.maxProperties !== undefined && count > schema.maxProperties)
      problem = t("schema.maxProperties", { limit: schema.maxProperties });
    error.hidden = !problem;
    error.textContent = problem ?? "";
    if (problem) ok = false;
    return ok;
  };
  const inner = [children.map((c) => c.node.element), error];
  const element =
    depth === 0
      ? h("div", { class: "schema-object" }, inner)
      : h("fieldset", { class: "schema-object" }, h("legend", {}, label(path, schema)), inner);
  return { element, validate, read };
}
