// The customer chat page: one conversation over Socket.IO (namespace /customer),
// speaking only docs/PROTOCOL.md.
//
// - The signed token lives in localStorage, so a reload, a second tab or a
//   dropped network resumes the same conversation: connect with it, then
//   customer:join {token, last_message_id} and merge the returned messages
//   (deduplicated by id, shown in id order). Every join answers with a
//   fresh token (tokens expire when left unused), which replaces the stored one.
// - Replays come a page at a time: resuming after an id, the page fetches
//   the pages after it (messages:fetch {after_id}) until it is up to date;
//   a fresh page load shows the latest page and a "Show earlier messages"
//   button that fetches the page before the first shown (before_id).
// - "Start a new chat" after an end starts over as a new visitor: the start
//   form again, then customer:join {new_chat: true, token: <the previous
//   one>, name...}, which revokes the previous visitor's token on the
//   server. On a shared computer the next visitor cannot resume it.
// - Messages are written to a localStorage outbox first, each with a
//   client_id, and sent one at a time, oldest first, whenever the socket is
//   joined. An item leaves the outbox only when the server acknowledged it;
//   the server stores a client_id once, so resending after a lost ack is safe.
// - Files (the paperclip, a drop on the conversation, an image pasted into
//   the composer) are uploaded first (lib/uploads.js, with the customer's
//   token), then sent as a message of their own with empty text, through the
//   outbox like any other: the outbox item keeps the attachment, and its
//   attachment_id goes with every resend.
// - Message text is only ever set with textContent, never parsed as HTML.
// - Every text is in the page's language (<html lang>, which Django chose
//   from the language cookie or Accept-Language): this script's through
//   lib/i18n.js and the page's script catalog, the server's (system messages,
//   error messages) by connecting with auth.lang. The language switcher
//   reloads the page in the other language; the token resumes the chat.
// - The ended screen asks for a rating (lib/rating.js, customer:rating), or
//   thanks for the one given (the join's Conversation.rating).

import { emitWithAck, failure } from "./lib/acks.js";
import { pageLimits } from "./lib/attachments.js";
import { el } from "./lib/dom.js";
import { endReasonText } from "./lib/end_reasons.js";
import { formatNumber, gettext, interpolate, ngettext, pageLanguage } from "./lib/i18n.js";
import { newClientId } from "./lib/ids.js";
import { RatingPanel } from "./lib/rating.js";
import {
  advanceTicks,
  bubbleKind,
  hasMessage,
  insertInIdOrder,
  isBefore,
  messageBubble,
  messageElement,
} from "./lib/messages.js";
import { TypingSignal } from "./lib/typing.js";
import { Uploader } from "./lib/uploads.js";

const TOKEN_KEY = "cs.customer.token";
const OUTBOX_KEY = "cs.customer.outbox";
// The id of an ended conversation the customer chose to leave behind with
// "Start a new chat": it is not shown again, even after a reload.
const DISMISSED_KEY = "cs.customer.dismissed";
// The token of the visitor who chose "Start a new chat", until the next
// start revokes it on the server.
const PREVIOUS_KEY = "cs.customer.previous";

const AGENT_TYPING_MAX_MS = 8000;
const RETRY_MS = 1500;
const MAX_ATTEMPTS = 5;
const TRANSIENT = new Set(["rate_limited", "overloaded", "conflict", "internal"]);

const byId = (id) => document.getElementById(id);
const ui = {
  card: byId("chat"),
  title: byId("head-title"),
  sub: byId("head-sub"),
  avatar: byId("avatar"),
  endChat: byId("end-chat"),
  endConfirm: byId("end-confirm"),
  endConfirmText: byId("end-confirm-text"),
  endYes: byId("end-yes"),
  endCancel: byId("end-cancel"),
  offline: byId("offline-banner"),
  queue: byId("queue-banner"),
  startForm: byId("start-form"),
  startName: byId("start-name"),
  startEmail: byId("start-email"),
  startTopic: byId("start-topic"),
  startError: byId("start-error"),
  startButton: byId("start-button"),
  conversation: byId("conversation"),
  list: byId("messages"),
  earlier: byId("earlier"),
  emptyHint: byId("empty-hint"),
  typing: byId("typing"),
  ended: byId("ended"),
  endedText: byId("ended-text"),
  restart: byId("restart"),
  composer: byId("composer"),
  input: byId("composer-text"),
};

const store = {
  get(key) {
    try {
      return localStorage.getItem(key);
    } catch (e) {
      return null;
    }
  },
  set(key, value) {
    try {
      localStorage.setItem(key, value);
    } catch (e) {
      /* storage full or disabled: the page still works, it just forgets */
    }
  },
  remove(key) {
    try {
      localStorage.removeItem(key);
    } catch (e) {
      /* as above */
    }
  },
};

const state = {
  token: store.get(TOKEN_KEY),
  previousToken: store.get(PREVIOUS_KEY),
  socket: null,
  joined: false,
  joining: false,
  rejoin: false,
  pendingStart: null, // the start form's payload until its join is answered
  conversationId: null,
  dismissedId: Number(store.get(DISMISSED_KEY)) || 0,
  status: null, // "queued" | "active" | "ended" | "new" (after "Start a new chat")
  agentName: null,
  queue: { position: null, estimate: null },
  maxId: 0, // highest stored message id shown (or skipped as dismissed)
  readUpTo: 0, // highest agent/system id we told the server we read
  ticks: { delivered: 0, read: 0 }, // highest up_to_id per message:status
  pumping: false,
  pumpAgain: false,
  pumpTimer: null,
  agentTypingTimer: null,
  waiting: new Set(), // resolvers of requests in flight
};

// The ended screen's rating form and thank-you (lib/rating.js).
const rating = new RatingPanel(ui.ended, (payload) => request("customer:rating", payload));

// A small hook for tests and debugging: the live socket and the state.
window.__chat = {
  get socket() {
    return state.socket;
  },
  state,
};

// --- outbox --------------------------------------------------------------

function loadOutbox() {
  try {
    const items = JSON.parse(store.get(OUTBOX_KEY) || "[]");
    return Array.isArray(items) ? items.filter((item) => item && item.client_id && (item.text || item.attachment)) : [];
  } catch (e) {
    return [];
  }
}

function saveOutbox(items) {
  if (items.length) store.set(OUTBOX_KEY, JSON.stringify(items));
  else store.remove(OUTBOX_KEY);
}

function dropFromOutbox(clientId) {
  saveOutbox(loadOutbox().filter((item) => item.client_id !== clientId));
}

// --- rendering -----------------------------------------------------------

function nearBottom() {
  const list = ui.list;
  return list.scrollHeight - list.scrollTop - list.clientHeight < 120;
}

function scrollDown() {
  ui.list.scrollTop = ui.list.scrollHeight;
}

function updateEmpty() {
  const empty = ui.list.children.length === 0 && state.status !== "ended";
  ui.emptyHint.classList.toggle("hidden", !empty);
}

// The status a stored message of ours should show, given what we were told.
function statusFor(id, status) {
  if (id <= state.ticks.read) return "read";
  if (id <= state.ticks.delivered && isBefore(status, "delivered")) return "delivered";
  return status;
}

// Show a stored message once, in id order (pending ones stay last).
// `older`: loaded above what is shown ("Show earlier messages"): no scrolling.
function showMessage(message, older = false) {
  const list = ui.list;
  state.maxId = Math.max(state.maxId, message.id);
  if (hasMessage(list, message.id)) return;
  const follow = !older && (nearBottom() || message.sender === "customer");
  if (message.client_id) {
    const pending = list.querySelector(`li.pending[data-client-id="${CSS.escape(message.client_id)}"]`);
    if (pending) pending.remove();
  }
  const kind = bubbleKind(message.sender, "customer");
  const li = messageElement(message, {
    side: "customer",
    who: kind === "theirs" ? message.sender_name : null,
    status: kind === "mine" ? statusFor(message.id, message.status) : message.status,
    timeStyle: "locale",
  });
  insertInIdOrder(list, li);
  updateEmpty();
  if (follow) scrollDown();
}

function showPending(item) {
  if (ui.list.querySelector(`li[data-client-id="${CSS.escape(item.client_id)}"]`)) return;
  const { text, attachment } = item;
  const li = messageBubble({ kind: "mine", text, attachment, time: item.created_at, timeStyle: "locale", tick: "pending" });
  li.classList.add("pending");
  li.dataset.clientId = item.client_id;
  li.dataset.status = "pending";
  ui.list.append(li);
  updateEmpty();
  scrollDown();
}

function failPending(clientId, reason) {
  const li = ui.list.querySelector(`li.pending[data-client-id="${CSS.escape(clientId)}"]`);
  if (!li) return;
  li.classList.replace("pending", "failed");
  li.dataset.status = "failed";
  const tick = li.querySelector(".tick");
  if (tick) tick.remove();
  const text = reason
    ? interpolate(gettext("Not sent: %(reason)s"), { reason }, true)
    : gettext("Not sent: the server refused this message.");
  li.append(el("span", "fail", text));
}

function setTicks(upToId, status) {
  if (!(status in state.ticks)) return;
  state.ticks[status] = Math.max(state.ticks[status], upToId);
  advanceTicks(ui.list, "customer", upToId, status);
}

function setAgentTyping(name) {
  clearTimeout(state.agentTypingTimer);
  ui.typing.textContent = name ? interpolate(gettext("%(name)s is typing…"), { name }, true) : "";
  if (name) state.agentTypingTimer = setTimeout(() => setAgentTyping(null), AGENT_TYPING_MAX_MS);
}

// The queue banner: the place in the queue, and the wait when the server
// estimates one (none while no agent is online).
function queueText(position, seconds) {
  const values = { position: formatNumber(position) };
  if (seconds === null || seconds === undefined) {
    return interpolate(gettext("Waiting for an agent — you are number %(position)s"), values, true);
  }
  if (seconds < 60) {
    return interpolate(gettext("Waiting for an agent — you are number %(position)s (less than a minute)"), values, true);
  }
  const minutes = Math.round(seconds / 60);
  values.minutes = formatNumber(minutes);
  return interpolate(
    ngettext(
      "Waiting for an agent — you are number %(position)s (about %(minutes)s minute)",
      "Waiting for an agent — you are number %(position)s (about %(minutes)s minutes)",
      minutes,
    ),
    values,
    true,
  );
}

function setQueue(position, estimate) {
  state.queue = { position: position || null, estimate: position ? estimate : null };
  ui.queue.textContent = position ? queueText(position, estimate) : "";
  ui.queue.classList.toggle("hidden", !position || state.status !== "queued");
}

// The first letter of a name, for the avatar (a whole character, also
// outside the Basic Multilingual Plane).
function initial(name) {
  const [first] = name.trim();
  return first ? first.toUpperCase() : "?";
}

function setHeader() {
  const { status, agentName } = state;
  let title = gettext("Chat with us");
  let sub = gettext("We usually answer within minutes.");
  let avatar = "?";
  const live = status === "active" && !!agentName;
  if (live) {
    title = interpolate(gettext("You're chatting with %(name)s"), { name: agentName }, true);
    sub = gettext("Online now");
    avatar = initial(agentName);
  } else if (status === "active" || status === "queued") {
    sub = gettext("The next free agent will answer you here.");
    avatar = "…";
  } else if (status === "ended") {
    title = gettext("Chat ended");
    sub = gettext("Thanks for getting in touch.");
    avatar = agentName ? initial(agentName) : "?";
  } else if (status === "new") {
    sub = gettext("Write a message to start a new chat.");
  } else if (state.token && !state.joined) {
    sub = gettext("Connecting…");
  }
  ui.title.textContent = title;
  ui.sub.textContent = sub;
  ui.avatar.textContent = avatar;
  ui.avatar.classList.toggle("live", live);
  const open = status === "active" || status === "queued";
  ui.endChat.classList.toggle("hidden", !open);
  if (!open) ui.endConfirm.classList.add("hidden");
  ui.queue.classList.toggle("hidden", status !== "queued" || !ui.queue.textContent);
}

function showOffline(offline) {
  const visible = offline && !ui.conversation.classList.contains("hidden");
  ui.offline.classList.toggle("hidden", !visible);
  ui.card.classList.toggle("is-offline", visible);
}

function showConversation() {
  ui.card.classList.remove("is-start");
  ui.startForm.classList.add("hidden");
  ui.conversation.classList.remove("hidden");
  setHeader();
}

function showStart(error) {
  state.status = null;
  state.agentName = null;
  ui.card.classList.add("is-start");
  ui.conversation.classList.add("hidden");
  ui.startForm.classList.remove("hidden");
  ui.offline.classList.add("hidden");
  ui.startButton.disabled = false;
  ui.startButton.textContent = gettext("Start chat");
  setQueue(null);
  setHeader();
  showStartError(error);
  ui.startName.focus();
}

function showStartError(error) {
  ui.startError.textContent = error || "";
  ui.startError.classList.toggle("hidden", !error);
}

// Remove every stored message (pending ones stay: they belong to what comes next).
function clearWindow() {
  for (const li of ui.list.querySelectorAll("li:not(.pending)")) li.remove();
  ui.ended.classList.add("hidden");
  rating.hide();
  ui.composer.classList.remove("hidden");
  state.agentName = null;
  setAgentTyping(null);
  setQueue(null);
  updateEmpty();
}

// `rated`: the conversation's rating (Conversation.rating), null if none yet.
function setEnded(reason, rated = null) {
  const already = state.status === "ended";
  state.status = "ended";
  typingSignal.stop(false);
  setAgentTyping(null);
  ui.endedText.textContent = endReasonText(reason, "customer");
  // A second word of the same end (the ack, then session:end) keeps what is being written.
  if (rated || !already || ui.ended.classList.contains("hidden")) rating.show(rated);
  ui.ended.classList.remove("hidden");
  ui.composer.classList.add("hidden");
  setQueue(null);
  setHeader();
  updateEmpty();
  scrollDown();
}

// The window after "Start a new chat": empty, with the composer; the next
// message opens a new conversation on the server.
function enterFresh() {
  clearWindow();
  state.status = "new";
  setHeader();
  updateEmpty();
}

function applyConversation(conversation, queuePosition) {
  state.status = conversation.status;
  state.agentName = conversation.agent ? conversation.agent.name : null;
  if (conversation.status === "ended") {
    setEnded(conversation.end_reason, conversation.rating || null);
    return;
  }
  ui.ended.classList.add("hidden");
  ui.composer.classList.remove("hidden");
  const position = conversation.status === "queued" ? queuePosition : null;
  setQueue(position, position === state.queue.position ? state.queue.estimate : null);
  setHeader();
  updateEmpty();
}

// Is `id` the conversation this window shows? A newer one replaces it: it
// was opened by writing after an end (here or in another tab), and its
// events may come before the ack that names it.
function adopt(id, fromEvent) {
  if (!id || id <= state.dismissedId) return false;
  if (state.conversationId === null || id > state.conversationId) {
    const switching = state.conversationId !== null;
    state.conversationId = id;
    if (switching) {
      clearWindow();
      state.status = null;
      setHeader();
      // Re-join so this socket follows the new conversation on the server
      // (its typing and read receipts would otherwise name the old one).
      if (fromEvent) join();
    }
  }
  return id === state.conversationId;
}

// --- the socket ----------------------------------------------------------

// The server's answer (lib/acks.js), or "offline" at once without a link.
function request(event, payload) {
  const socket = state.socket;
  if (!socket || !socket.connected) return Promise.resolve(failure("offline", gettext("Not connected.")));
  return new Promise((resolve) => {
    const done = (answer) => {
      if (state.waiting.delete(done)) resolve(answer);
    };
    state.waiting.add(done);
    emitWithAck(socket, event, payload).then(done);
  });
}

// A dropped link will never answer: give up on what is in flight at once
// (messages stay in the outbox and go again after the re-join).
function abandonRequests() {
  for (const done of Array.from(state.waiting)) {
    done(failure("timeout", gettext("Disconnected.")));
  }
}

// The handshake's auth: the page's language, and the token once we have one.
function authFor(token) {
  // What the server words for us (system messages, errors) comes in the
  // page's language (docs/PROTOCOL.md, auth.lang).
  return token ? { token, lang: pageLanguage } : { lang: pageLanguage };
}

function connect() {
  if (state.socket) {
    state.socket.auth = authFor(state.token);
    if (!state.socket.connected) state.socket.connect();
    return;
  }
  const socket = io("/customer", { auth: authFor(state.token) });
  state.socket = socket;

  socket.on("connect", () => {
    showOffline(false);
    join();
  });
  socket.on("disconnect", (reason) => {
    state.joined = false;
    typingSignal.stop(false);
    abandonRequests();
    setAgentTyping(null);
    showOffline(true);
    setHeader();
    // The server closed this socket: socket.io does not retry by itself.
    if (reason === "io server disconnect") setTimeout(() => state.socket && connect(), RETRY_MS);
  });
  socket.on("connect_error", (err) => {
    if (err && err.data && err.data.code === "invalid_token") {
      forgetToken();
      showStart(gettext("We couldn't find your previous chat. Please start a new one."));
    } else if (state.pendingStart) {
      showStartError(gettext("We can't reach the chat right now. Still trying…"));
    } else {
      showOffline(true);
    }
  });

  socket.on("agent:message", (message) => {
    if (!adopt(message.conversation_id, true)) return;
    showMessage(message);
    if (message.sender !== "customer") {
      if (message.sender === "agent") setAgentTyping(null);
      markRead();
    }
  });
  socket.on("agent:assigned", (data) => {
    if (!adopt(data.conversation_id, true) || state.status === "ended") return;
    state.status = "active";
    state.agentName = data.agent.name;
    setAgentTyping(null);
    setQueue(null);
    setHeader();
  });
  socket.on("agent:typing", (data) => {
    if (!adopt(data.conversation_id, true) || state.status === "ended") return;
    setAgentTyping(data.is_typing ? data.agent.name : null);
  });
  socket.on("queue:position", (data) => {
    if (!adopt(data.conversation_id, true) || state.status === "ended") return;
    state.status = "queued";
    setQueue(data.position, data.estimated_wait_s);
    setHeader();
  });
  socket.on("message:status", (data) => {
    setTicks(data.up_to_id, data.status);
  });
  socket.on("session:end", (data) => {
    if (adopt(data.conversation_id, true)) setEnded(data.reason);
  });
}

async function join() {
  const socket = state.socket;
  if (!socket || !socket.connected) return;
  if (state.joining) {
    state.rejoin = true; // the answer on its way may predate what we just learnt
    return;
  }
  let payload;
  if (state.token) {
    payload = { token: state.token };
    if (state.maxId) payload.last_message_id = state.maxId;
  } else if (state.pendingStart) {
    payload = Object.assign({}, state.pendingStart);
    if (state.previousToken) {
      payload.token = state.previousToken;
      payload.new_chat = true;
    }
  } else {
    return;
  }
  state.joining = true;
  state.rejoin = false;
  const ack = await request("customer:join", payload);
  state.joining = false;
  if (state.rejoin && ack.ok) setTimeout(join, 0);
  if (socket !== state.socket || !socket.connected) return;
  if (!ack.ok) {
    const code = ack.error && ack.error.code;
    if (code === "timeout" || TRANSIENT.has(code)) {
      setTimeout(join, RETRY_MS);
    } else if (payload.new_chat) {
      state.pendingStart = null;
      forgetPrevious();
      showStart((ack.error && ack.error.message) || gettext("That didn't work. Please try again."));
    } else if (payload.token) {
      forgetToken();
      showStart(gettext("We couldn't find your previous chat. Please start a new one."));
    } else {
      state.pendingStart = null;
      showStart((ack.error && ack.error.message) || gettext("That didn't work. Please try again."));
    }
    return;
  }
  const fresh = !payload.token || payload.new_chat;
  state.pendingStart = null;
  if (payload.new_chat) forgetPrevious();
  setToken(ack.token);
  state.joined = true;
  showConversation();

  const conversation = ack.conversation;
  const messages = Array.isArray(ack.messages) ? ack.messages : [];
  if (conversation.status === "ended" && conversation.id <= state.dismissedId) {
    // The customer already chose "Start a new chat" after this one.
    for (const message of messages) state.maxId = Math.max(state.maxId, message.id);
    if (state.status !== "new") enterFresh();
  } else {
    adopt(conversation.id, false);
    for (const message of messages) {
      if (message.conversation_id === conversation.id) showMessage(message);
    }
    applyConversation(conversation, ack.queue_position);
    if (payload.last_message_id) {
      if (ack.has_more) await catchUp(socket, conversation.id);
    } else {
      setEarlier(Boolean(ack.has_more));
    }
  }
  for (const item of loadOutbox()) showPending(item);
  updateEmpty();
  if (fresh) ui.input.focus();
  pump();
  markRead();
}

// Resuming: the pages after the last message shown, until up to date.
async function catchUp(socket, conversationId) {
  let more = true;
  while (more && socket === state.socket && socket.connected) {
    const page = await request("messages:fetch", { after_id: state.maxId });
    if (!page.ok) {
      // Rate limited or offline: the next join (reconnect) goes on from here.
      if (page.error && TRANSIENT.has(page.error.code)) setTimeout(join, RETRY_MS);
      return;
    }
    for (const message of page.messages) {
      if (message.conversation_id === conversationId) showMessage(message);
    }
    more = page.has_more && page.messages.length > 0;
  }
}

function setEarlier(shown) {
  ui.earlier.classList.toggle("hidden", !shown);
  ui.earlier.disabled = false;
}

// "Show earlier messages": the page before the first one shown.
async function showEarlier() {
  const first = ui.list.querySelector("li[data-id]");
  if (!first) return setEarlier(false);
  ui.earlier.disabled = true;
  const page = await request("messages:fetch", { before_id: Number(first.dataset.id) });
  if (!page.ok) {
    ui.earlier.disabled = false;
    return;
  }
  const list = ui.list;
  const fromBottom = list.scrollHeight - list.scrollTop;
  for (const message of page.messages) showMessage(message, true);
  list.scrollTop = list.scrollHeight - fromBottom; // keep what was in view where it was
  setEarlier(page.has_more && page.messages.length > 0);
}

function setToken(token) {
  state.token = token;
  store.set(TOKEN_KEY, token);
  if (state.socket) state.socket.auth = authFor(token);
}

function forgetPrevious() {
  state.previousToken = null;
  store.remove(PREVIOUS_KEY);
}

// Forget this page's conversation. What is stored is shared with the other
// tabs: it goes only if it is still this token's (another tab may have
// started a new chat meanwhile).
function forgetToken() {
  const forgotten = state.token;
  const stored = store.get(TOKEN_KEY);
  state.token = null;
  state.joined = false;
  state.conversationId = null;
  state.dismissedId = 0;
  state.maxId = 0;
  state.readUpTo = 0;
  if (!stored || stored === forgotten) {
    store.remove(TOKEN_KEY);
    store.remove(OUTBOX_KEY);
    store.remove(DISMISSED_KEY);
  }
  if (state.socket) state.socket.auth = authFor(null);
  ui.list.replaceChildren();
}

// Send the outbox, oldest first, one at a time so that order survives
// retries. Only an acknowledged message leaves the outbox.
async function pump() {
  if (state.pumping) {
    state.pumpAgain = true;
    return;
  }
  state.pumping = true;
  clearTimeout(state.pumpTimer);
  try {
    do {
      state.pumpAgain = false;
      while (state.joined && state.socket.connected) {
        const item = loadOutbox()[0];
        if (!item) break;
        const payload = { text: item.text, client_id: item.client_id };
        if (item.attachment) payload.attachment_id = item.attachment.id;
        const ack = await request("customer:message", payload);
        if (ack.ok) {
          dropFromOutbox(item.client_id);
          if (adopt(ack.message.conversation_id, false)) showMessage(ack.message);
          continue;
        }
        const code = ack.error && ack.error.code;
        if (code === "timeout" || code === "offline" || code === "not_joined") {
          if (state.joined && state.socket.connected) state.pumpTimer = setTimeout(pump, RETRY_MS);
          break; // kept: it goes again after the re-join
        }
        item.attempts = (item.attempts || 0) + 1;
        if (TRANSIENT.has(code) && item.attempts < MAX_ATTEMPTS) {
          saveOutbox(loadOutbox().map((other) => (other.client_id === item.client_id ? item : other)));
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
          continue;
        }
        dropFromOutbox(item.client_id);
        failPending(item.client_id, ack.error && ack.error.message);
      }
    } while (state.pumpAgain);
  } finally {
    state.pumping = false;
  }
}

// Tell the server we have seen the agent's and system messages shown here.
function markRead() {
  if (!state.joined || document.visibilityState !== "visible") return;
  if (state.status !== "active" && state.status !== "queued") return;
  let upTo = 0;
  for (const li of ui.list.querySelectorAll('li[data-id]:not([data-sender="customer"])')) {
    upTo = Math.max(upTo, Number(li.dataset.id));
  }
  if (upTo <= state.readUpTo) return;
  const before = state.readUpTo;
  state.readUpTo = upTo;
  request("message:read", { up_to_id: upTo }).then((ack) => {
    if (!ack.ok && state.readUpTo === upTo) state.readUpTo = before; // try again later
  });
}

// --- typing --------------------------------------------------------------

function canSignalTyping() {
  return state.joined && state.socket && state.socket.connected &&
    (state.status === "active" || state.status === "queued");
}

const typingSignal = new TypingSignal((isTyping) => {
  // Volatile: a typing signal is worthless later, never buffer it.
  if (canSignalTyping()) state.socket.volatile.emit("customer:typing", { is_typing: isTyping });
});

function noteTyping() {
  if (!canSignalTyping()) return;
  if (ui.input.value.trim()) typingSignal.typed();
  else typingSignal.stop();
}

// --- user actions --------------------------------------------------------

ui.startForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = ui.startName.value.trim();
  if (!name) {
    showStartError(gettext("Please tell us your name."));
    ui.startName.focus();
    return;
  }
  const email = ui.startEmail.value.trim();
  if (email && !ui.startEmail.checkValidity()) {
    showStartError(gettext("That email address doesn't look right; fix it or leave it empty."));
    ui.startEmail.focus();
    return;
  }
  const start = { name };
  if (email) start.email = email;
  if (ui.startTopic && ui.startTopic.value) start.topic = ui.startTopic.value;
  state.pendingStart = start;
  showStartError(null);
  ui.startButton.disabled = true;
  ui.startButton.textContent = gettext("Starting…");
  if (state.socket && state.socket.connected) join();
  else connect();
});

function send() {
  const text = ui.input.value.trim();
  if (!text) return;
  ui.input.value = "";
  autosize();
  typingSignal.stop();
  enqueue({ text });
}

// Into the outbox, shown as pending, and on its way: `fields` is {text} or
// {attachment} (an uploaded file goes as a message of its own).
function enqueue(fields) {
  const item = { client_id: newClientId(), text: "", created_at: new Date().toISOString(), ...fields };
  saveOutbox([...loadOutbox(), item]);
  showPending(item);
  pump();
}

new Uploader({
  button: byId("attach-button"),
  input: byId("attach-input"),
  zone: ui.conversation,
  textarea: ui.input,
  tray: byId("uploads"),
  limits: pageLimits(ui.card),
  headers: () => ({ Authorization: `Bearer ${state.token}` }),
  blocked: () => {
    if (state.status === "ended") return gettext("This chat has ended: start a new chat to send files.");
    if (!state.token) return gettext("Start the chat before sending files.");
    return null;
  },
  onUploaded: (attachment) => enqueue({ attachment }),
});

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  send();
});

ui.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send();
  }
});

function autosize() {
  ui.input.style.height = "auto";
  ui.input.style.height = `${Math.min(ui.input.scrollHeight + 2, 140)}px`;
}

ui.input.addEventListener("input", () => {
  autosize();
  noteTyping();
});

ui.endChat.addEventListener("click", () => {
  ui.endConfirmText.textContent = gettext("End this chat?");
  ui.endConfirm.classList.remove("hidden");
  ui.endYes.focus();
});

ui.endCancel.addEventListener("click", () => {
  ui.endConfirm.classList.add("hidden");
  ui.input.focus();
});

ui.endYes.addEventListener("click", async () => {
  ui.endYes.disabled = true;
  const ack = await request("customer:disconnect", {});
  ui.endYes.disabled = false;
  if (ack.ok) {
    ui.endConfirm.classList.add("hidden");
    setEnded("customer_left");
  } else if (ack.error && ack.error.code === "conflict") {
    ui.endConfirm.classList.add("hidden"); // already ended: session:end tells why
  } else {
    ui.endConfirmText.textContent = gettext("Couldn't end the chat (no connection). Try again?");
  }
});

// Start over as a new visitor: the start form, empty; its join revokes this
// visitor's token (kept until then as the previous one). The socket is
// closed meanwhile, so nothing of the previous visitor reaches this page.
ui.earlier.addEventListener("click", showEarlier);
ui.restart.addEventListener("click", () => {
  const previous = state.token || state.previousToken;
  forgetToken();
  state.previousToken = previous;
  if (previous) store.set(PREVIOUS_KEY, previous);
  state.ticks = { delivered: 0, read: 0 };
  if (state.socket && state.socket.connected) state.socket.disconnect();
  ui.startForm.reset();
  showStart();
});

document.addEventListener("visibilitychange", markRead);

// The browser knows before the socket does: say so at once, and drop the
// transport so what is typed goes to the outbox instead of a dead link.
window.addEventListener("offline", () => {
  if (!state.socket) return;
  showOffline(true);
  if (state.socket.io.engine) state.socket.io.engine.close();
});

// Another tab started a chat while this one shows the start form: follow it
// (not after "Start a new chat" here: this tab's start will revoke that one).
// Another tab's join renewed the token, or started over as a new visitor:
// use the newest (after a new chat the server disconnects this tab, which
// then reconnects with it and shows the new conversation).
window.addEventListener("storage", (event) => {
  if (event.key !== TOKEN_KEY || !event.newValue) return;
  if (!state.token && !state.pendingStart && !state.previousToken) {
    state.token = event.newValue;
    showConversation();
    connect();
  } else if (state.token && event.newValue !== state.token) {
    state.token = event.newValue;
    if (state.socket) state.socket.auth = authFor(event.newValue);
  }
});

// --- start ---------------------------------------------------------------

if (state.token) {
  showConversation();
  for (const item of loadOutbox()) showPending(item);
  updateEmpty();
  connect();
} else {
  showStart();
}
