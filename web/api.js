// The page's client of the HTTP API (openapi/openapi.json). Same origin only (the page's CSP allows nothing
// else), so status URLs are followed by turn id: the origin the app sees behind a proxy may not be the page's.

const KEY_STORAGE = "travelAssistant.functionKey";

export class ApiError extends Error {
  // status: the HTTP status (0 when the server could not be reached); code and details from the error body.
  constructor(status, code, message, details, retryAfterS) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
    this.retryAfterS = retryAfterS;
  }

  // The Functions host answers a missing or wrong function key with 401 and an empty body; the app's own
  // 401 (App Service sign-in required) has a JSON error body with code "unauthenticated".
  get needsFunctionKey() {
    return this.status === 401 && this.code !== "unauthenticated";
  }
}

export function functionKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return ""; // storage disabled: the page still works where no key is needed
  }
}

export function setFunctionKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

function retryAfter(response) {
  const value = Number(response.headers.get("Retry-After"));
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  const key = functionKey();
  if (key) headers["x-functions-key"] = key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "same-origin", // App Service authentication's session cookie
    });
  } catch (error) {
    throw new ApiError(0, "network_error", String(error && error.message ? error.message : error));
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null; // a proxy's HTML error page, say: report the status instead
    }
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    const { code, message, ...details } = error;
    throw new ApiError(response.status, code || `http_${response.status}`, message || `HTTP ${response.status}`,
      details, retryAfter(response));
  }
  return { status: response.status, data, retryAfterS: retryAfter(response) };
}

// A file the code interpreter wrote, as a Blob (the route answers the file's bytes, or the usual JSON error).
async function fetchFile(path) {
  const headers = {};
  const key = functionKey();
  if (key) headers["x-functions-key"] = key;
  let response;
  try {
    response = await fetch(path, { headers, cache: "no-store", credentials: "same-origin" });
  } catch (error) {
    throw new ApiError(0, "network_error", String(error && error.message ? error.message : error));
  }
  if (!response.ok) {
    let error = {};
    try {
      error = (await response.json()).error || {};
    } catch {
      error = {};
    }
    throw new ApiError(response.status, error.code || `http_${response.status}`, error.message || `HTTP ${response.status}`);
  }
  return response.blob();
}

const segment = encodeURIComponent;

// The events stream of a turn (Server-Sent Events). EventSource cannot send headers, so the function key goes
// in the `code` query parameter, which the Functions host accepts as well as the header. The URL is handed to
// EventSource only: never logged, never put in the page.
function eventsUrl(turnId) {
  const path = `/api/chat/${segment(turnId)}/events`;
  const key = functionKey();
  return key ? `${path}?${new URLSearchParams({ code: key })}` : path;
}

export const api = {
  postMessage: (message, threadId) => call("POST", "/api/chat", threadId ? { message, thread_id: threadId } : { message }),
  getTurn: (turnId) => call("GET", `/api/chat/${segment(turnId)}`),
  cancelTurn: (turnId) => call("POST", `/api/chat/${segment(turnId)}/cancel`),
  turnEvents: (turnId) => new EventSource(eventsUrl(turnId)), // same origin: the session cookie goes along
  getFile: (turnId, fileId) => fetchFile(`/api/chat/${segment(turnId)}/files/${segment(fileId)}`),
  listThreads: () => call("GET", "/api/threads?limit=50"),
  listMessages: (threadId) => call("GET", `/api/threads/${segment(threadId)}/messages`),
  deleteThread: (threadId) => call("DELETE", `/api/threads/${segment(threadId)}`),
};
