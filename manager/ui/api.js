// The manager's API as the pages use it: JSON calls carrying the API token, errors with
// the API's own message, and an operation's event stream read with fetch (EventSource
// cannot send an Authorization header).

const TOKEN_KEY = "dm.apiToken";
// The API sits beside /ui/, so a manager served under a path prefix works too.
const BASE = new URL("..", document.baseURI);

/** An answer of the API that is not a success: its status and its message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }

  get needsToken() {
    return this.status === 401 || this.status === 403;
  }
}

/** Called with an ApiError when the API asks for a (better) token; set by the app. */
export const tokenHooks = {required: () => {}};

export function savedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra = {}) {
  const all = {Accept: "application/json", ...extra};
  const token = savedToken();
  if (token) all.Authorization = `Bearer ${token}`;
  return all;
}

function url(path) {
  return new URL(path.replace(/^\//, ""), BASE);
}

async function failure(response) {
  const text = await response.text();
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = JSON.parse(text);
    if (body && typeof body.message === "string") message = body.message;
  } catch {
    // Not the API's JSON (a proxy's page, say): keep the status line.
  }
  const error = new ApiError(response.status, message);
  if (error.needsToken) tokenHooks.required(error);
  return error;
}

async function send(method, path, body, signal, extra = {}) {
  const init = {method, headers: headers(extra), signal};
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url(path), init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, `cannot reach the manager: ${error.message}`);
  }
  if (!response.ok) throw await failure(response);
  const text = await response.text();
  return {data: text ? JSON.parse(text) : null, headers: response.headers};
}

/** GET a path; resolves to the parsed body. */
export async function get(path, signal) {
  return (await send("GET", path, undefined, signal)).data;
}

/** GET a path; resolves to {data, headers}. */
export function getWithHeaders(path, signal) {
  return send("GET", path, undefined, signal);
}

/** A change: resolves to the parsed answer (an Operation for 202s). With the
 * `fingerprint` of the deployment as shown, a change made since answers 409. */
export async function change(method, path, body, fingerprint) {
  const extra = fingerprint ? {"If-Match": `"${fingerprint}"`} : {};
  return (await send(method, path, body, undefined, extra)).data;
}

/** Follow `/operations/{id}/events`, calling `onEvent({type, id, data})` for each event
 * until the `end` event. A dropped connection resumes from the last event seen. */
export async function followOperation(id, onEvent, signal) {
  let last = "0";
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const response = await fetch(url(`/operations/${encodeURIComponent(id)}/events`), {
      headers: headers({Accept: "text/event-stream", "Last-Event-ID": last}),
      signal,
    });
    if (!response.ok) throw await failure(response);
    const ended = await readEvents(response.body, (event) => {
      if (event.id) last = event.id;
      onEvent(event);
    });
    if (ended) return;
    await new Promise((resolve) => setTimeout(resolve, 1000 * (attempt + 1)));
  }
  throw new ApiError(0, "lost the operation's event stream; reload to follow it again");
}

async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return false;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = parseEvent(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (!event) continue;
      onEvent(event);
      if (event.type === "end") {
        reader.cancel();
        return true;
      }
    }
  }
}

function parseEvent(block) {
  let type = "message";
  let id = null;
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") type = value;
    else if (field === "id") id = value;
    else if (field === "data") data.push(value);
  }
  return data.length ? {type, id, data: JSON.parse(data.join("\n"))} : null;
}
