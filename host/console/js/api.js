// The console's one way to the host: the public HTTP API with the bearer
// token typed at login, kept in sessionStorage (gone when the tab closes),
// and its Server-Sent Event streams read through fetch, since EventSource
// cannot send an Authorization header.

const TOKEN_KEY = "linli.token";

/** An error answer of the API: `{"error": {"code", "message"}}`. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
  /** Who the token stands for (`GET /api/v1/me`), once logged in. */
  me: null,
};

async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    const error = parsed?.error ?? {};
    throw new ApiError(response.status, error.code ?? "unknown", error.message ?? text);
  }
  return parsed;
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, body = {}) => request("POST", path, body),
  put: (path, body) => request("PUT", path, body),
  patch: (path, body) => request("PATCH", path, body),
  /** The path of a community's resource. */
  community: (rest = "") => `/api/v1/communities/${encodeURIComponent(session.me.community)}${rest}`,
  /** Runs a scene command as the logged-in person. */
  command: (plugin, name, input = {}) =>
    request("POST", `/api/v1/communities/${encodeURIComponent(session.me.community)}/plugins/${encodeURIComponent(plugin)}/commands/${encodeURIComponent(name)}`, input),
};

/**
 * Follows an SSE stream until `signal` aborts, calling `onEvent(type, data)`
 * for each event and `onOpen()` each time the stream is (re)connected;
 * reconnects after a pause, resuming after the last id seen.
 */
export async function follow(path, onEvent, signal, onOpen = () => {}) {
  let lastId = null;
  while (!signal.aborted) {
    try {
      const headers = { Accept: "text/event-stream", Authorization: `Bearer ${session.token}` };
      if (lastId !== null) headers["Last-Event-ID"] = lastId;
      const response = await fetch(path, { headers, signal });
      if (!response.ok) throw new ApiError(response.status, "stream", await response.text());
      onOpen();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replaceAll("\r\n", "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = parseEvent(block);
          if (event.id !== null) lastId = event.id;
          if (event.data !== null) onEvent(event.type, safeJson(event.data));
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      console.warn("event stream interrupted", error);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function parseEvent(block) {
  const event = { type: "message", data: null, id: null };
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (name === "event") event.type = value;
    else if (name === "data") event.data = event.data === null ? value : `${event.data}\n${value}`;
    else if (name === "id") event.id = value;
  }
  return event;
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
