// The chat page: sends messages, follows each turn until it ends, and shows threads. A turn is followed on its
// events stream (GET /api/chat/{turn_id}/events: progress, the reply's text as the model writes it, the end),
// or, where EventSource is missing or the stream fails, by polling its status URL.
// Every text from the server or the model goes into the page as text (textContent or format.js), never as HTML.

import { api, ApiError, functionKey, setFunctionKey } from "./api.js";
import { renderCards, renderFiles } from "./cards.js";
import { renderText } from "./format.js";
import { lang, progressLine, t, toolLabel } from "./i18n.js";

const THREAD_STORAGE = "travelAssistant.threadId";
// How long to wait between status polls when the server gives no Retry-After, and how many failed polls in
// a row (network errors, 503s) to ride out before giving up on following a turn.
const DEFAULT_POLL_S = 1;
const MAX_POLL_FAILURES = 8;
// Failed connection attempts in a row (network errors: EventSource retries those by itself) after which the page
// stops using the stream for a turn and polls instead. A stream that ends by itself now and then is not a
// failure: EventSource reconnects (with Last-Event-ID), and each connection that opens resets the count.
const MAX_STREAM_FAILURES = 3;

const $ = (id) => document.getElementById(id);
const el = {
  threadsToggle: $("threads-toggle"), threads: $("threads"), backdrop: $("backdrop"), threadList: $("thread-list"),
  noThreads: $("no-threads"), newThread: $("new-thread"), deleteThread: $("delete-thread"), keyButton: $("key-button"),
  messages: $("messages"), welcome: $("welcome"), progress: $("progress"), progressText: $("progress-text"),
  progressTools: $("progress-tools"), cancel: $("cancel"), alert: $("alert"), alertText: $("alert-text"),
  alertClose: $("alert-close"), composer: $("composer"), message: $("message"), send: $("send"),
  keyDialog: $("key-dialog"), keyForm: $("key-form"), keyReason: $("key-reason"), keyInput: $("key-input"),
  keyClear: $("key-clear"), keyClose: $("key-close"),
};

const state = {
  threadId: null,
  turnId: null, // the turn being followed
  follow: 0, // bumps whenever following stops, so a stale poll loop ends
  cancelRequested: false,
  sending: false,
  closeStream: null, // closes the events stream of the turn being followed, if one is open
  draft: null, // the reply being written: { item, body, round, text, frame }
};

// --- small view helpers --------------------------------------------------------------------------------------

function node(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

function translatePage() {
  document.documentElement.lang = lang;
  document.title = t.appTitle;
  for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = t[element.dataset.i18n];
  for (const element of document.querySelectorAll("[data-i18n-label]")) {
    element.setAttribute("aria-label", t[element.dataset.i18nLabel]);
    element.title = t[element.dataset.i18nLabel];
  }
  for (const element of document.querySelectorAll("[data-i18n-placeholder]")) {
    element.placeholder = t[element.dataset.i18nPlaceholder];
  }
}

function showAlert(text) {
  el.alertText.textContent = text;
  el.alert.hidden = false;
}

function hideAlert() {
  el.alert.hidden = true;
  el.alertText.textContent = "";
}

function errorText(prefix, error) {
  if (error.status === 0) return t.networkError;
  if (error.code === "unauthenticated") return t.signInRequired;
  if (error.code === "turn_active") return t.turnActive;
  if (error.code === "thread_not_found") return t.threadGone;
  const detail = `${error.message} (${error.code})`;
  return prefix ? `${prefix}: ${detail}` : detail;
}

// Every API failure ends here: a missing function key opens the key dialog, anything else is shown.
function reportError(error, prefix) {
  if (!(error instanceof ApiError)) throw error;
  if (error.needsFunctionKey) {
    openKeyDialog(t.keyRequired);
    return;
  }
  showAlert(errorText(prefix, error));
}

function scrollToEnd() {
  el.messages.lastElementChild?.scrollIntoView({ block: "end" });
}

function addMessage(role, text, extraClass) {
  const item = node("li", `message ${role}${extraClass ? ` ${extraClass}` : ""}`);
  item.append(node("span", "who", role === "user" ? t.you : t.assistant));
  const body = node("div", "body");
  if (role === "assistant") body.append(renderText(text));
  else body.textContent = text;
  item.append(body);
  el.messages.append(item);
  el.welcome.hidden = true;
  scrollToEnd();
  return item;
}

function addNotice(text, kind) {
  const item = node("li", `message notice ${kind}`);
  item.append(node("div", "body", text));
  el.messages.append(item);
  scrollToEnd();
  return item;
}

function toolChips(calls) {
  const list = node("ul", "chips");
  for (const call of calls) {
    const failed = call.ok === false;
    const chip = node("li", `chip${failed ? " failed" : ""}`,
      `${failed ? "✗" : "✓"} ${toolLabel(call.name)}${failed ? ` (${t.toolFailed})` : ""}`);
    chip.dataset.tool = call.name;
    list.append(chip);
  }
  return list;
}

function setBusy(busy) {
  el.send.disabled = busy;
  el.message.setAttribute("aria-busy", String(busy));
}

// --- following a turn ----------------------------------------------------------------------------------------

function showProgress(progress) {
  el.progress.hidden = false;
  el.progressText.textContent = state.cancelRequested && progress?.phase !== "done" ? t.phase.cancelling
    : progressLine(progress);
  el.progressTools.replaceChildren();
  const done = progress?.tools?.done || [];
  if (done.length) el.progressTools.append(...toolChips(done).children);
  el.cancel.disabled = state.cancelRequested;
}

function stopFollowing() {
  state.follow += 1;
  state.closeStream?.();
  state.closeStream = null;
  state.turnId = null;
  state.cancelRequested = false;
  el.progress.hidden = true;
  setBusy(false);
}

function sleep(seconds) {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}

// --- the reply as it is written -------------------------------------------------------------------------------

// The streamed text of the current model round, rendered with the same renderText as the final reply (so the
// same escaping holds), at most once per animation frame. A new round (after tool calls) starts a new text.
function showDraft(round, delta) {
  if (!state.draft || state.draft.round !== round) {
    removeDraft();
    const item = addMessage("assistant", "", "draft");
    item.setAttribute("aria-busy", "true"); // screen readers wait for the finished reply
    state.draft = { item, body: item.querySelector(".body"), round, text: "", frame: 0 };
  }
  const draft = state.draft;
  draft.text += delta;
  if (draft.frame) return;
  draft.frame = requestAnimationFrame(() => {
    draft.frame = 0;
    draft.body.replaceChildren(renderText(draft.text));
    scrollToEnd();
  });
}

function removeDraft() {
  if (!state.draft) return;
  cancelAnimationFrame(state.draft.frame);
  state.draft.item.remove();
  state.draft = null;
}

// --- following a turn ----------------------------------------------------------------------------------------

// ownMessage: this page sent the turn's message and shows it already. A turn sent elsewhere (another tab, or
// found running when a thread opens) ends with the thread reloaded, so its question shows with its answer.
async function followTurn(turnId, { ownMessage = true } = {}) {
  stopFollowing();
  const ticket = state.follow;
  state.turnId = turnId;
  setBusy(true);
  showProgress(null);
  let turn = typeof EventSource === "function" ? await streamTurn(turnId, ticket) : null;
  if (ticket !== state.follow) return;
  if (!turn) turn = await pollTurn(turnId, ticket);
  if (!turn || ticket !== state.follow) return;
  stopFollowing();
  if (!ownMessage && turn.thread_id === state.threadId) {
    await openThread(turn.thread_id, { followActive: false });
    if (turn.status !== "completed") showTurnEnd(turn);
  } else {
    showTurnEnd(turn);
  }
  refreshThreads();
}

// Follows the turn on its events stream. Resolves with the finished turn (the `done` event's data: the status
// route's body), or null when the page should poll instead: the stream answered `error`, could not be opened
// (EventSource gives up by itself on an HTTP error, e.g. 401 or 404: polling then reports it as usual), or
// failed to connect MAX_STREAM_FAILURES times in a row.
function streamTurn(turnId, ticket) {
  return new Promise((resolve) => {
    const source = api.turnEvents(turnId);
    let failures = 0;
    const end = (turn) => {
      source.close();
      if (state.closeStream === close) state.closeStream = null;
      resolve(turn);
    };
    const close = () => end(null);
    state.closeStream = close;
    const data = (event) => JSON.parse(event.data);
    source.addEventListener("open", () => {
      failures = 0; // connected: a connection that ends later and reconnects is not a failure
    });
    source.addEventListener("progress", (event) => {
      if (ticket === state.follow) showProgress(data(event));
    });
    source.addEventListener("text.delta", (event) => {
      const { round, delta } = data(event);
      if (ticket === state.follow && typeof delta === "string") showDraft(round, delta);
    });
    source.addEventListener("done", (event) => end(data(event)));
    source.addEventListener("error", (event) => {
      // The server's `error` event carries data; a connection error is a plain Event.
      if (event instanceof MessageEvent || source.readyState === EventSource.CLOSED) end(null);
      else if (++failures >= MAX_STREAM_FAILURES) end(null);
    });
  });
}

// Follows the turn on its status URL. Resolves with the finished turn, or null when following stopped (the
// failure is reported).
async function pollTurn(turnId, ticket) {
  let failures = 0;
  let delay = 0.3; // the first phases change quickly
  while (ticket === state.follow) {
    await sleep(delay);
    if (ticket !== state.follow) return null;
    let turn;
    try {
      const result = await api.getTurn(turnId);
      turn = result.data;
      delay = result.retryAfterS ?? DEFAULT_POLL_S;
      failures = 0;
    } catch (error) {
      if (ticket !== state.follow) return null;
      const transient = error instanceof ApiError && (error.status === 0 || error.status >= 500);
      if (transient && ++failures < MAX_POLL_FAILURES) {
        el.progressText.textContent = t.retrying;
        delay = error.retryAfterS ?? Math.min(8, 2 ** failures);
        continue;
      }
      stopFollowing();
      reportError(error, t.failed);
      return null;
    }
    if (ticket !== state.follow) return null;
    if (turn.status !== "running") return turn;
    showProgress(turn.progress);
  }
  return null;
}

function showTurnEnd(turn) {
  removeDraft(); // the finished reply replaces the text streamed so far
  if (turn.status === "completed" && turn.reply) {
    const item = addMessage("assistant", turn.reply.text || "");
    const cards = renderCards(turn.reply.cards);
    if (cards.childElementCount) item.append(cards);
    const files = turn.reply.files || [];
    if (files.length) {
      item.append(renderFiles(files, (fileId) => api.getFile(turn.turn_id, fileId),
        (error) => reportError(error, t.fileFailed)));
    }
    const calls = turn.reply.tool_calls || [];
    if (calls.length) {
      const used = node("div", "used-tools");
      used.append(node("span", "muted", `${t.usedTools}:`), toolChips(calls));
      item.append(used);
    }
  } else if (turn.status === "cancelled") {
    addNotice(t.cancelled, "cancelled");
  } else {
    const error = turn.error || {};
    addNotice(`${t.failed}: ${error.message || ""} (${error.code || turn.status})`, "failed");
  }
  scrollToEnd();
}

async function cancelTurn() {
  const turnId = state.turnId;
  if (!turnId || state.cancelRequested) return;
  state.cancelRequested = true;
  el.cancel.disabled = true;
  el.progressText.textContent = t.phase.cancelling;
  try {
    await api.cancelTurn(turnId);
  } catch (error) {
    // turn_finished: it ended on its own just now; the next poll shows how.
    if (error instanceof ApiError && error.code === "turn_finished") return;
    state.cancelRequested = false;
    el.cancel.disabled = false;
    reportError(error);
  }
}

// --- sending -------------------------------------------------------------------------------------------------

async function sendMessage(text) {
  if (state.sending || state.turnId) return;
  state.sending = true;
  setBusy(true);
  hideAlert();
  const bubble = addMessage("user", text);
  el.message.value = "";
  try {
    const { status, data } = await api.postMessage(text, state.threadId);
    selectThreadId(data.thread_id);
    if (status === 200) showTurnEnd(data);
    else followTurn(data.turn_id);
    refreshThreads();
  } catch (error) {
    bubble.remove();
    el.message.value = text; // not sent: keep it for the user to send again
    setBusy(false);
    if (error instanceof ApiError && error.code === "turn_active" && error.details.turn_id) {
      showAlert(t.turnActive);
      followTurn(error.details.turn_id, { ownMessage: false }); // show the answer the thread is busy with
    } else {
      reportError(error, t.sendFailed);
    }
  } finally {
    state.sending = false;
  }
}

// --- threads -------------------------------------------------------------------------------------------------

function selectThreadId(threadId) {
  state.threadId = threadId;
  el.deleteThread.hidden = !threadId;
  if (threadId) localStorage.setItem(THREAD_STORAGE, threadId);
  else localStorage.removeItem(THREAD_STORAGE);
  for (const item of el.threadList.querySelectorAll("button[data-thread-id]")) {
    item.setAttribute("aria-current", String(item.dataset.threadId === threadId));
  }
}

function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(lang, { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" })
    .format(date);
}

let threadsById = new Map();

async function refreshThreads() {
  let threads;
  try {
    threads = (await api.listThreads()).data.threads;
  } catch (error) {
    reportError(error);
    return;
  }
  threadsById = new Map(threads.map((thread) => [thread.thread_id, thread]));
  el.threadList.replaceChildren(...threads.map((thread) => {
    const item = node("li");
    const button = node("button", "thread");
    button.type = "button";
    button.dataset.threadId = thread.thread_id;
    button.setAttribute("aria-current", String(thread.thread_id === state.threadId));
    button.append(node("span", "title", thread.title || thread.thread_id),
      node("span", "time", formatTime(thread.last_active_at)));
    if (thread.active_turn_id) button.append(node("span", "busy-dot"));
    button.addEventListener("click", () => openThread(thread.thread_id));
    item.append(button);
    return item;
  }));
  el.noThreads.hidden = threads.length > 0;
}

function clearConversation() {
  removeDraft();
  el.messages.replaceChildren();
  el.welcome.hidden = false;
  hideAlert();
}

// followActive: follow the thread's running turn, if the thread list says it has one. Not when reloading a
// thread because its turn just ended: a claim that outlived its turn would send the page round in a loop.
async function openThread(threadId, { followActive = true } = {}) {
  closeDrawer();
  stopFollowing();
  clearConversation();
  selectThreadId(threadId);
  const loading = addNotice(t.loading, "loading");
  let messages;
  try {
    messages = (await api.listMessages(threadId)).data.messages;
  } catch (error) {
    loading.remove();
    if (error instanceof ApiError && error.code === "thread_not_found") selectThreadId(null);
    reportError(error);
    return;
  }
  if (state.threadId !== threadId) return; // the user moved on meanwhile
  loading.remove();
  for (const message of messages) addMessage(message.role, message.text);
  const active = threadsById.get(threadId)?.active_turn_id;
  if (active && followActive) followTurn(active, { ownMessage: false });
}

function newThread() {
  closeDrawer();
  stopFollowing();
  clearConversation();
  selectThreadId(null);
  el.message.focus();
}

async function deleteThread() {
  const threadId = state.threadId;
  if (!threadId || !window.confirm(t.confirmDelete)) return;
  try {
    await api.deleteThread(threadId);
  } catch (error) {
    reportError(error);
    return;
  }
  newThread();
  refreshThreads();
}

// --- the drawer (phones) and the key dialog ------------------------------------------------------------------

function openDrawer() {
  el.threads.classList.add("open");
  el.backdrop.hidden = false;
  el.threadsToggle.setAttribute("aria-expanded", "true");
}

function closeDrawer() {
  el.threads.classList.remove("open");
  el.backdrop.hidden = true;
  el.threadsToggle.setAttribute("aria-expanded", "false");
}

function openKeyDialog(reason) {
  el.keyReason.textContent = reason || "";
  el.keyReason.hidden = !reason;
  el.keyInput.value = functionKey();
  if (!el.keyDialog.open) el.keyDialog.showModal();
  el.keyInput.focus();
}

function saveKey(key) {
  setFunctionKey(key.trim());
  el.keyDialog.close();
  hideAlert();
  addNotice(key.trim() ? t.keySaved : t.keyCleared, "info");
  refreshThreads();
}

// --- wiring --------------------------------------------------------------------------------------------------

function wire() {
  el.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = el.message.value.trim();
    if (text) sendMessage(text);
  });
  el.message.addEventListener("keydown", (event) => {
    // Enter sends, Shift+Enter breaks the line; Enter that confirms a Japanese IME conversion does neither.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      el.composer.requestSubmit();
    }
  });
  el.cancel.addEventListener("click", cancelTurn);
  el.newThread.addEventListener("click", newThread);
  el.deleteThread.addEventListener("click", deleteThread);
  el.threadsToggle.addEventListener("click", () => (el.threads.classList.contains("open") ? closeDrawer() : openDrawer()));
  el.backdrop.addEventListener("click", closeDrawer);
  el.alertClose.addEventListener("click", hideAlert);
  el.keyButton.addEventListener("click", () => openKeyDialog(""));
  el.keyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    saveKey(el.keyInput.value);
  });
  el.keyClear.addEventListener("click", () => saveKey(""));
  el.keyClose.addEventListener("click", () => el.keyDialog.close());
}

async function start() {
  translatePage();
  wire();
  const saved = localStorage.getItem(THREAD_STORAGE);
  await refreshThreads();
  if (saved && threadsById.has(saved)) await openThread(saved);
  else selectThreadId(null);
  document.body.dataset.ready = "true"; // for people and tests: the page has wired itself up
}

start();
