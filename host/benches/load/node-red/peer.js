// The peer of benches/ingest_gateways.rs: ingest as a Node-RED flow would
// do it, with the validation of linli's `ingest/validate.rs` — the sender's
// devices, a kind of the catalogue that the device reports, a finite value
// of the kind's type within its range, a canonical or known unit, a time at
// most 5 minutes ahead and 30 days old, no unknown fields — and a report
// naming each bad item's index and field. The flow's function node hands
// each request to `ingest`.
//
// The catalogue and the devices come from the registry file the bench
// writes from the host's own catalogue and registrations. Valid readings
// are kept in memory (POST /ingest/memory) or appended to a log file with
// an fdatasync before the answer, so that a 202 there means what linli's
// does: durable — one batch after the other (POST /ingest/sync), or with
// the write and the sync off the event loop, batches overlapping (POST
// /ingest/sync-parallel).

const fs = require("fs");

const FIELDS = ["device", "kind", "value", "unit", "at"];
const MAX_FUTURE_MS = 5 * 60 * 1000;
const MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;
const MAX_TEXT_BYTES = 1024;
// Readings kept in memory before the oldest are dropped, so a long run does
// not grow the process without bound.
const MEMORY_LIMIT = 1000000;

module.exports = function peer(registryPath, logPath) {
  const registry = JSON.parse(fs.readFileSync(registryPath, "utf8"));
  const kinds = new Map(registry.catalogue.map((kind) => [kind.name, kind]));
  const senders = new Map();
  for (const [token, sender] of Object.entries(registry.senders)) {
    const devices = new Map();
    for (const [device, reported] of Object.entries(sender.devices)) {
      devices.set(device, new Set(reported));
    }
    senders.set(token, { id: sender.id, devices });
  }
  let memory = [];
  const log = fs.openSync(logPath, "a");

  function check(item, sender, now) {
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      return ["", "a reading must be a JSON object"];
    }
    for (const field of Object.keys(item)) {
      if (!FIELDS.includes(field)) {
        return [field, "unknown field; a reading has " + FIELDS.join(", ")];
      }
    }
    if (typeof item.device !== "string") {
      return ["device", item.device == null ? "is required" : "must be a string"];
    }
    const reported = sender.devices.get(item.device);
    if (!reported) {
      return ["device", `device "${item.device}" is not registered behind this token (${sender.id})`];
    }
    if (typeof item.kind !== "string") {
      return ["kind", item.kind == null ? "is required" : "must be a string"];
    }
    const kind = kinds.get(item.kind);
    if (!kind) return ["kind", `unknown reading kind "${item.kind}"`];
    if (!reported.has(kind.name)) {
      return ["kind", `device "${item.device}" does not report "${item.kind}"`];
    }
    const value = item.value;
    if (value == null) return ["value", "is required"];
    if (kind.type === "number") {
      if (typeof value !== "number" || !Number.isFinite(value)) {
        return ["value", `must be a finite number for ${kind.name}`];
      }
      if (kind.range && (value < kind.range[0] || value > kind.range[1])) {
        return ["value", `${value} is outside ${kind.range[0]}..=${kind.range[1]} for ${kind.name}`];
      }
    } else if (kind.type === "flag") {
      if (typeof value !== "boolean") return ["value", `must be true or false for ${kind.name}`];
    } else if (typeof value !== "string" || Buffer.byteLength(value) > MAX_TEXT_BYTES) {
      return ["value", `must be a string of at most ${MAX_TEXT_BYTES} bytes for ${kind.name}`];
    }
    let unit = kind.unit;
    if (item.unit != null) {
      if (typeof item.unit !== "string") return ["unit", "must be a string"];
      if (item.unit !== kind.unit && !kind.aliases.includes(item.unit)) {
        return ["unit", `${item.unit} is not a unit of ${kind.name}`];
      }
    }
    let at = now;
    if (item.at != null) {
      if (!Number.isInteger(item.at)) return ["at", "must be whole milliseconds since the epoch"];
      at = item.at;
    }
    if (at > now + MAX_FUTURE_MS) return ["at", `is ${at - now} ms ahead of the host clock`];
    if (at < now - MAX_AGE_MS) return ["at", "is more than 30 days old"];
    return { device: item.device, kind: kind.name, value, unit, at };
  }

  function ingest(msg, node) {
    const answer = (status, payload) => {
      msg.statusCode = status;
      msg.payload = payload;
      node.send(msg);
    };
    const header = msg.req.headers.authorization || "";
    const sender = senders.get(header.replace(/^Bearer /, ""));
    if (!sender) return answer(401, { error: { code: "unauthorized", message: "unknown token" } });
    const items = msg.payload;
    if (!Array.isArray(items)) {
      return answer(400, { error: { code: "invalid", message: "body: expected a JSON array of readings" } });
    }
    const now = Date.now();
    const valid = [];
    const errors = [];
    items.forEach((item, index) => {
      const checked = check(item, sender, now);
      if (Array.isArray(checked)) {
        errors.push({ index, field: checked[0], message: checked[1] });
      } else {
        checked.received_at = now;
        valid.push(checked);
      }
    });
    const report = { accepted: valid.length, rejected: errors.length, errors };
    const store = msg.req.path.split("/").pop();
    if (store === "memory") {
      if (memory.length + valid.length > MEMORY_LIMIT) memory = [];
      for (const reading of valid) memory.push(reading);
      return answer(202, report);
    }
    const lines = valid.map((reading) => JSON.stringify(reading)).join("\n") + "\n";
    if (store === "sync") {
      // Written and synced before the answer, one batch after the other.
      fs.writeSync(log, lines);
      fs.fdatasyncSync(log);
      return answer(202, report);
    }
    // `sync-parallel`: the same, off the event loop, so batches overlap
    // and the file system merges their syncs.
    fs.write(log, lines, (written) => {
      if (written) return answer(500, { error: { code: "unavailable", message: String(written) } });
      fs.fdatasync(log, (synced) => {
        if (synced) return answer(500, { error: { code: "unavailable", message: String(synced) } });
        answer(202, report);
      });
    });
  }

  return { ingest };
};
