// The node's local API, as the dashboard uses it: the bearer token, JSON calls,
// typed errors, and the live event stream (read with fetch so the token stays in
// a header and never in a URL).
import { t } from "./i18n.js";

const TOKEN_KEY = "fabcommons.token";

export function takeTokenFromFragment() {
  // `fabnode demo` / `fabnode dashboard` print a URL ending in #token=...: the
  // fragment never reaches a server. Keep it for this tab only, then drop it.
  const match = location.hash.match(/^#token=([A-Za-z0-9_\-]+)/);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, match[1]);
    history.replaceState(null, "", location.pathname + "#/designs");
  }
}

export function token() { return sessionStorage.getItem(TOKEN_KEY); }
export function setToken(value) { sessionStorage.setItem(TOKEN_KEY, value.trim()); }
export function forgetToken() { sessionStorage.removeItem(TOKEN_KEY); }

export class ApiError extends Error {
  constructor(status, code, message, field = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;  // the request field at fault, when the node names it
  }
}

export async function api(method, path, body, { raw = false, headers = {} } = {}) {
  const init = { method, headers: { Authorization: `Bearer ${token()}`, ...headers } };
  if (body !== undefined) {
    if (raw) {
      init.body = body;
    } else {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, "remote.node-unreachable", t("api.unreachable", { why: e.message }));
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || `http.${response.status}`,
      error.message || `HTTP ${response.status}`, error.field || null);
  }
  return data;
}

export const get = (path) => api("GET", path);

// An `entries` event for a large batch carries only its last rows: kinds unknown.
export const truncated = (event) => (event.detail.count || 0) > event.detail.entries.length;
export const post = (path, body) => api("POST", path, body === undefined ? {} : body);
const BYTES = { raw: true, headers: { "Content-Type": "application/octet-stream" } };

// A new upload session holding `files` (a FileList or an array of File), one PUT a file
// (POST /api/v1/uploads, PUT …/files/{name}): its id, to publish or seal from.
export async function uploadFiles(files) {
  const upload = await post("/api/v1/uploads");
  for (const file of files) {
    await api("PUT", `/api/v1/uploads/${upload.upload_id}/files/${encodeURIComponent(file.name)}`, file, BYTES);
  }
  return upload.upload_id;
}

// Each file stored as a plain blob on this node (POST /api/v1/blobs): their ids.
export async function uploadBlobs(files) {
  const ids = [];
  for (const file of files) ids.push((await api("POST", "/api/v1/blobs", file, BYTES)).blob);
  return ids;
}

// Does the node offer this route? (A feature not built into this node answers 404.)
export async function optional(path) {
  try {
    return await get(path);
  } catch (e) {
    if (e.status === 404 && e.code === "http.404") return null;
    throw e;
  }
}

// The live stream: dispatches `fab:<event>` on window; reconnects with backoff.
export function openEvents(onState) {
  let stopped = false;
  let delay = 1000;
  async function run() {
    while (!stopped) {
      try {
        const response = await fetch("/api/v1/events", {
          headers: { Authorization: `Bearer ${token()}`, Accept: "text/event-stream" },
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        onState("live");
        delay = 1000;
        await readStream(response.body);
      } catch (e) {
        onState("offline", e.message);
      }
      if (!stopped) await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
  }
  run();
  return () => { stopped = true; };
}

async function readStream(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      dispatchBlock(block);
    }
  }
}

function dispatchBlock(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  if (!data.length) return;
  let detail;
  try { detail = JSON.parse(data.join("\n")); } catch { return; }
  window.dispatchEvent(new CustomEvent(`fab:${name}`, { detail }));
}
