// The agent console: Socket.IO for everything live, htmx for stored views.
//
// Message text is only ever set with textContent: nothing a customer or an
// agent typed is parsed as HTML here.
//
// Files (the paperclip, a drop on the open conversation, an image pasted into
// the reply) are uploaded first (lib/uploads.js, with the session cookie and
// the CSRF token), then sent at once to the conversation they were given in,
// as a message of their own with empty text; what is typed stays in the reply.

import { emitWithAck } from "./lib/acks.js";
import { pageLimits } from "./lib/attachments.js";
import { el } from "./lib/dom.js";
import { endReasonText } from "./lib/end_reasons.js";
import { newClientId } from "./lib/ids.js";
import { advanceTicks, hasMessage, insertInIdOrder, messageBubble, messageElement } from "./lib/messages.js";
import { TypingSignal } from "./lib/typing.js";
import { Uploader } from "./lib/uploads.js";
import { formatWait } from "./console_locale.js";
import { formatNumber, gettext, interpolate, ngettext, pageLanguage } from "./lib/i18n.js";

const app = document.getElementById("app");
const me = { id: Number(app.dataset.agentId), name: app.dataset.agentName };
const uploadLimits = pageLimits(app);
// htmx sends the CSRF token from #app's hx-headers; uploads send the same.
const csrfToken = JSON.parse(app.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

const state = {
  agents: new Map(), // id -> AgentState
  openConversationId: null,
  uploader: null, // the open conversation's (lib/uploads.js)
  unseen: 0, // title counter while the tab is hidden
  threadUnread: new Map(), // "team" | agent id -> count
};

// --- small helpers -------------------------------------------------------

function refresh(selector) {
  const target = $(selector);
  if (target) htmx.trigger(target, "refresh");
}

function toast(text, level = "info") {
  const box = el("div", `toast ${level}`, text);
  $("#toasts").append(box);
  setTimeout(() => box.classList.add("leaving"), 5000);
  setTimeout(() => box.remove(), 5600);
}

// --- notifications: sound and tab title ------------------------------------

const sound = $("#sound");
sound.checked = localStorage.getItem("console.sound") !== "off";
sound.addEventListener("change", () => localStorage.setItem("console.sound", sound.checked ? "on" : "off"));
let audio = null;

function beep() {
  if (!sound.checked) return;
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.08, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.25);
  } catch (e) {
    /* no audio device: the title still counts */
  }
}

const baseTitle = document.title;
function notify() {
  beep();
  if (document.hidden) {
    state.unseen += 1;
    document.title = `(${state.unseen}) ${baseTitle}`;
  }
}
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) {
    state.unseen = 0;
    document.title = baseTitle;
    markOpenConversationRead();
  }
});

// --- the socket --------------------------------------------------------------

// The server words acks and live system messages in the page's language.
const socket = io("/agent", { withCredentials: true, auth: { lang: pageLanguage } });
window.__console = { socket, state }; // for tests and debugging

// The server's answer to `event`: always an object {ok, ...} (lib/acks.js).
const call = (event, payload) => emitWithAck(socket, event, payload);

function setConnection(text, kind) {
  const pill = $("#connection");
  pill.textContent = text;
  pill.className = `pill pill-${kind}`;
}

socket.on("connect", async () => {
  setConnection(gettext("Connected"), "ok");
  $("#offline-banner").classList.add("hidden");
  const ack = await call("agent:login", {});
  if (!ack.ok) {
    toast(interpolate(gettext("Login failed: %(error)s"), { error: ack.error.message }, true), "warning");
    return;
  }
  $("#status").value = ack.agent.status;
  state.agents = new Map(ack.agents.map((a) => [a.id, a]));
  fillTransferTargets();
  setQueueLength(ack.queue_length ?? ack.queue.length);
  refresh("#conversation-list");
  refresh("#queue");
  refresh("#roster");
});

socket.on("disconnect", (reason) => {
  setConnection(gettext("Offline"), "bad");
  $("#offline-banner").classList.remove("hidden");
  // The server ended this socket (a logout elsewhere in this session, the
  // account deactivated): socket.io does not retry by itself. Connecting
  // again either works or is refused `unauthorized`, which goes to the login.
  if (reason === "io server disconnect") setTimeout(() => socket.connect(), 1000);
});

socket.on("connect_error", (err) => {
  setConnection(gettext("Offline"), "bad");
  if (err && err.data && err.data.code === "unauthorized") window.location.href = "/accounts/login/?next=/console/";
});

// --- status --------------------------------------------------------------------

$("#status").addEventListener("change", async (event) => {
  const ack = await call("agent:status", { status: event.target.value });
  if (!ack.ok) toast(ack.error.message, "warning");
  else event.target.value = ack.agent.status;
});

socket.on("agent:status", (agent) => {
  state.agents.set(agent.id, agent);
  if (agent.id === me.id) $("#status").value = agent.status;
  fillTransferTargets();
  refresh("#roster");
});

function fillTransferTargets() {
  const select = $("#transfer-to");
  if (!select) return;
  const chosen = select.value;
  select.replaceChildren(el("option", null, gettext("Transfer to…")));
  select.firstChild.value = "";
  for (const agent of state.agents.values()) {
    if (agent.id === me.id || agent.status === "offline" || !agent.connected) continue;
    const load = { name: agent.name, active: formatNumber(agent.active), capacity: formatNumber(agent.capacity) };
    const option = el("option", null, interpolate(gettext("%(name)s (%(active)s/%(capacity)s)"), load, true));
    option.value = String(agent.id);
    option.disabled = agent.active >= agent.capacity;
    select.append(option);
  }
  select.value = chosen;
}

// --- conversations ---------------------------------------------------------------

socket.on("customer:new", (data) => {
  refresh("#conversation-list");
  const who = data.conversation.customer.name;
  if (data.transferred_from) {
    toast(interpolate(gettext("%(agent)s transferred %(customer)s to you."), { agent: data.transferred_from.name, customer: who }, true));
  } else toast(interpolate(gettext("New customer: %(customer)s"), { customer: who }, true));
  notify();
});

function openConversationElement() {
  return $("#open-conversation");
}

function renderMessage(message) {
  // Another agent's name shows on messages they wrote before a transfer.
  const who = message.sender === "agent" && message.sender_name !== me.name ? message.sender_name : null;
  return messageElement(message, { side: "agent", who, timeStyle: "clock24" });
}

// The last live messages of each conversation: one that arrives while its
// conversation's fragment is on its way (rendered before it was stored) is
// added to the fragment once swapped in.
const recentMessages = new Map();
const RECENT_PER_CONVERSATION = 50;

function appendMessage(message) {
  const recent = recentMessages.get(message.conversation_id) || [];
  recent.push(message);
  if (recent.length > RECENT_PER_CONVERSATION) recent.shift();
  recentMessages.set(message.conversation_id, recent);
  return showMessage(message);
}

function showMessage(message) {
  const open = openConversationElement();
  if (!open || Number(open.dataset.conversationId) !== message.conversation_id) return false;
  const list = $("#messages", open);
  if (hasMessage(list, message.id)) return true;
  // Keep id order even if events cross.
  insertInIdOrder(list, renderMessage(message));
  list.scrollTop = list.scrollHeight;
  return true;
}

socket.on("customer:message", (message) => {
  const shown = appendMessage(message);
  if (shown) {
    $("#customer-typing").textContent = "";
    markOpenConversationRead();
  }
  if (!shown || document.hidden) refresh("#conversation-list");
  if (message.sender === "customer") notify();
});

// Our own messages sent from another tab.
socket.on("agent:message", (message) => {
  appendMessage(message);
  refresh("#conversation-list");
});

socket.on("customer:typing", (data) => {
  const open = openConversationElement();
  if (!open || Number(open.dataset.conversationId) !== data.conversation_id) return;
  $("#customer-typing").textContent = data.is_typing ? gettext("The customer is typing…") : "";
});

socket.on("message:status", (data) => {
  const open = openConversationElement();
  if (!open || Number(open.dataset.conversationId) !== data.conversation_id) return;
  advanceTicks(open, "agent", data.up_to_id, data.status);
});

socket.on("session:end", (data) => {
  recentMessages.delete(data.conversation_id);
  refresh("#conversation-list");
  const open = openConversationElement();
  if (open && Number(open.dataset.conversationId) === data.conversation_id) closePane(endReasonText(data.reason, "agent"));
});

socket.on("system:notification", (data) => {
  if (data.code === "rated") {
    ratedToast(data);
    return;
  }
  toast(data.text, data.level);
  if (data.code === "conversation_reassigned") {
    refresh("#conversation-list");
    const open = openConversationElement();
    if (open && Number(open.dataset.conversationId) === data.conversation_id) closePane(gettext("This conversation is no longer yours."));
  }
});

// A customer rated a chat this agent served: the server's line (in this
// page's language), the comment below it as plain text, and the customer
// panel reloaded if it shows that customer.
function ratedToast(data) {
  const box = el("div", "toast info rated", data.text);
  if (data.comment) box.append(el("span", "toast-comment", data.comment));
  $("#toasts").append(box);
  setTimeout(() => box.classList.add("leaving"), 8000);
  setTimeout(() => box.remove(), 8600);
  const card = $("#customer-panel .customer-card");
  if (card && data.customer && Number(card.dataset.customerId) === data.customer.id) {
    htmx.ajax("GET", card.dataset.url, { target: "#customer-panel", swap: "innerHTML" });
  }
}

function closePane(note) {
  state.openConversationId = null;
  // Ended or handed on: what was still uploading for it would be refused.
  if (state.uploader) state.uploader.abortAll();
  state.uploader = null;
  const pane = $("#conversation-pane");
  pane.replaceChildren();
  const box = el("div", "empty-state");
  box.append(el("p", null, note));
  pane.append(box);
}

function markOpenConversationRead() {
  const open = openConversationElement();
  if (!open || document.hidden) return;
  const ids = $$('li[data-sender="customer"]', open).map((li) => Number(li.dataset.id));
  if (!ids.length) return;
  const upTo = Math.max(...ids);
  if (Number(open.dataset.readUpTo || 0) >= upTo) return;
  open.dataset.readUpTo = upTo;
  call("message:read", { conversation_id: Number(open.dataset.conversationId), up_to_id: upTo }).then((ack) => {
    if (ack.ok) {
      const item = $(`.conv-item[data-conversation-id="${open.dataset.conversationId}"] .unread`);
      if (item) item.remove();
    }
  });
}

// A conversation fragment was swapped in: wire it up.
document.body.addEventListener("htmx:afterSwap", (event) => {
  const target = event.detail.target;
  if (target.id === "conversation-pane") {
    const open = openConversationElement();
    if (!open) return;
    state.openConversationId = Number(open.dataset.conversationId);
    $$(".conv-item").forEach((node) => node.classList.toggle("active", Number(node.dataset.conversationId) === state.openConversationId));
    for (const message of recentMessages.get(state.openConversationId) || []) showMessage(message);
    const list = $("#messages", open);
    list.scrollTop = list.scrollHeight;
    fillTransferTargets();
    markOpenConversationRead();
    wireUploads(open, state.openConversationId);
    $("#composer-text").focus();
    showTab("customer-tab");
  } else if (target.id === "conversation-list") {
    $$(".conv-item").forEach((node) => node.classList.toggle("active", Number(node.dataset.conversationId) === state.openConversationId));
  } else if (target.id === "queue") {
    const queue = $(".queue", target);
    if (queue) setQueueLength(Number(queue.dataset.length));
    tickWaits();
  } else if (target.id === "roster") {
    paintThreadBadges();
  } else if (target.id === "internal-thread") {
    const key = currentThreadKey();
    state.threadUnread.delete(key);
    paintThreadBadges();
    const list = $("#internal-messages");
    if (list) list.scrollTop = list.scrollHeight;
  }
});

// The pane is replaced wholesale, so its controls are handled by delegation.
document.addEventListener("submit", async (event) => {
  if (event.target.id === "composer") {
    event.preventDefault();
    await sendReply();
  } else if (event.target.id === "internal-form") {
    event.preventDefault();
    await sendInternal();
  }
});

document.addEventListener("keydown", (event) => {
  if (event.target.id === "composer-text" && event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    sendReply();
  }
});

const typingSignal = new TypingSignal((isTyping, conversationId) => {
  socket.emit("agent:typing", { conversation_id: conversationId, is_typing: isTyping });
});

document.addEventListener("input", (event) => {
  if (event.target.id !== "composer-text") return;
  const open = openConversationElement();
  if (open) typingSignal.typed(Number(open.dataset.conversationId));
});

async function sendReply() {
  const open = openConversationElement();
  const input = $("#composer-text");
  const text = input.value.trim();
  if (!open || !text) return;
  input.value = "";
  typingSignal.stop();
  const ack = await sendMessage(Number(open.dataset.conversationId), { text });
  if (!ack.ok) input.value = text;
}

// Send a message (`text`, and `attachment` when given) to a conversation,
// shown pending in it (while it is open) until the server's ack.
async function sendMessage(conversationId, { text = "", attachment = null }) {
  const open = openConversationElement();
  const pending = renderMessage({ id: 0, conversation_id: conversationId, sender: "agent", sender_name: me.name, text, attachment, created_at: new Date().toISOString(), status: "sent" });
  pending.classList.add("pending");
  if (open && Number(open.dataset.conversationId) === conversationId) $("#messages", open).append(pending);
  const payload = { conversation_id: conversationId, text, client_id: newClientId("a") };
  if (attachment) payload.attachment_id = attachment.id;
  const ack = await call("agent:message", payload);
  pending.remove();
  if (ack.ok) {
    appendMessage(ack.message);
    refresh("#conversation-list");
  } else {
    toast(interpolate(gettext("Not sent: %(error)s"), { error: ack.error.message }, true), "warning");
  }
  return ack;
}

// The open conversation's paperclip, drop zone and paste: a fragment swapped
// in gets its own (uploads already on their way still go where they began).
function wireUploads(open, conversationId) {
  state.uploader = new Uploader({
    button: $("#attach-button", open),
    input: $("#attach-input", open),
    zone: open,
    textarea: $("#composer-text", open),
    tray: $("#uploads", open),
    limits: uploadLimits,
    headers: () => ({ "X-CSRFToken": csrfToken }),
    onUploaded: (attachment) => sendMessage(conversationId, { attachment }),
  });
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.id === "end-button") {
    const open = openConversationElement();
    if (!open || !confirm(gettext("End this conversation?"))) return;
    const ack = await call("session:end", { conversation_id: Number(open.dataset.conversationId) });
    if (!ack.ok) toast(ack.error.message, "warning");
    else closePane(gettext("Conversation ended."));
    refresh("#conversation-list");
  } else if (button.id === "transfer-button") {
    const open = openConversationElement();
    const target = Number($("#transfer-to").value);
    if (!open || !target) return toast(gettext("Pick an agent to transfer to."), "warning");
    const ack = await call("session:transfer", { conversation_id: Number(open.dataset.conversationId), to_agent_id: target });
    if (!ack.ok) toast(ack.error.message, "warning");
    else {
      const done = interpolate(gettext("Transferred to %(agent)s."), { agent: ack.conversation.agent.name }, true);
      toast(done);
      closePane(done);
    }
    refresh("#conversation-list");
  } else if (button.dataset.claim !== undefined) {
    const payload = button.dataset.claim ? { conversation_id: Number(button.dataset.claim) } : {};
    const ack = await call("queue:claim", payload);
    if (!ack.ok) toast(ack.error.message, "warning");
    else {
      refresh("#conversation-list");
      htmx.ajax("GET", `/console/conversations/${ack.conversation.id}/`, { target: "#conversation-pane", swap: "innerHTML" });
    }
    refresh("#queue");
  } else if (button.classList.contains("tab-button")) {
    showTab(button.dataset.tab);
  }
});

function showTab(id) {
  $$(".tab-button").forEach((b) => b.classList.toggle("active", b.dataset.tab === id));
  $$(".tab-body").forEach((body) => body.classList.toggle("hidden", body.id !== id));
  if (id === "team-tab") {
    state.threadUnread.delete(currentThreadKey());
    paintThreadBadges();
  }
}

// --- queue ---------------------------------------------------------------------

function setQueueLength(n) {
  const badge = $("#queue-length");
  badge.textContent = formatNumber(n);
  badge.setAttribute("aria-label", interpolate(ngettext("%(count)s customer waiting", "%(count)s customers waiting", n), { count: formatNumber(n) }, true));
}

socket.on("queue:update", (data) => {
  setQueueLength(data.length);
  refresh("#queue");
});

// Waiting times tick without asking the server, to the second (the
// fragment's own is in whole minutes).
function tickWaits() {
  for (const node of $$(".waited[data-since]")) {
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(node.dataset.since)) / 1000));
    node.textContent = interpolate(gettext("waiting %(time)s"), { time: formatWait(seconds) }, true);
  }
}
setInterval(tickWaits, 1000);

// --- internal chat ----------------------------------------------------------------

function currentThreadKey() {
  const current = $("#internal-current");
  return current && current.dataset.withAgentId ? Number(current.dataset.withAgentId) : "team";
}

function paintThreadBadges() {
  const current = String(currentThreadKey() === "team" ? "" : currentThreadKey());
  $$(".roster-item[data-thread]").forEach((node) => node.classList.toggle("current", node.dataset.thread === current));
  let total = 0;
  for (const badge of $$("[data-unread-for]")) {
    const key = badge.dataset.unreadFor === "team" ? "team" : Number(badge.dataset.unreadFor);
    const n = state.threadUnread.get(key) || 0;
    total += n;
    badge.textContent = String(n);
    badge.classList.toggle("hidden", n === 0);
  }
  const teamBadge = $("#team-unread");
  teamBadge.textContent = String(total);
  teamBadge.classList.toggle("hidden", total === 0);
}

function renderInternal(message) {
  const li = messageBubble({
    kind: message.from.id === me.id ? "mine" : "theirs",
    text: message.text,
    who: message.from.name,
    time: message.created_at,
    timeStyle: "clock24",
  });
  li.dataset.id = String(message.id);
  return li;
}

function appendInternal(message) {
  const list = $("#internal-messages");
  if (!list || hasMessage(list, message.id)) return;
  const empty = $(".empty-thread", list);
  if (empty) empty.remove();
  list.append(renderInternal(message));
  list.scrollTop = list.scrollHeight;
}

socket.on("agent:internal", (message) => {
  const key = message.to_agent_id === null ? "team" : message.from.id;
  const teamTabOpen = !$("#team-tab").classList.contains("hidden");
  if (key === currentThreadKey()) {
    appendInternal(message);
    if (!teamTabOpen) state.threadUnread.set(key, (state.threadUnread.get(key) || 0) + 1);
  } else {
    state.threadUnread.set(key, (state.threadUnread.get(key) || 0) + 1);
  }
  paintThreadBadges();
  if (message.to_agent_id !== null) {
    toast(interpolate(gettext("%(agent)s: %(text)s"), { agent: message.from.name, text: message.text.slice(0, 80) }, true));
  }
  notify();
});

async function sendInternal() {
  const input = $("#internal-text");
  const text = input.value.trim();
  if (!text) return;
  const key = currentThreadKey();
  const payload = { text, client_id: newClientId("a") };
  if (key !== "team") payload.to_agent_id = key;
  input.value = "";
  const ack = await call("agent:internal", payload);
  if (ack.ok) appendInternal(ack.message);
  else {
    input.value = text;
    toast(interpolate(gettext("Not sent: %(error)s"), { error: ack.error.message }, true), "warning");
  }
}
