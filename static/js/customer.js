// The customer chat page: one conversation over Socket.IO (/customer).
//
// The signed token lives in localStorage, so a reload, a second tab or a
// dropped network resumes the same conversation. Messages typed while
// offline wait in a localStorage outbox with their client_id and are sent,
// in order, once the link is back; the server stores each client_id once.
// Message text is only ever set with textContent.
"use strict";

(function () {
  const TOKEN_KEY = "cs.customer.token";
  const OUTBOX_KEY = "cs.customer.outbox";
  const $ = (selector) => document.querySelector(selector);
  const $$ = (selector) => Array.from(document.querySelectorAll(selector));

  const state = {
    token: localStorage.getItem(TOKEN_KEY),
    socket: null,
    joined: false,
    conversationId: null,
    status: null, // queued | active | ended
    agentName: null,
    maxId: 0,
    readUpTo: 0,
    pendingStart: null,
    pumping: false,
    typingSent: 0,
    typingTimer: null,
    agentTypingTimer: null,
  };
  window.__chat = state; // for tests and debugging

  // --- outbox ------------------------------------------------------------------

  function loadOutbox() {
    try {
      const items = JSON.parse(localStorage.getItem(OUTBOX_KEY) || "[]");
      return Array.isArray(items) ? items : [];
    } catch (e) {
      return [];
    }
  }
  function saveOutbox(items) {
    localStorage.setItem(OUTBOX_KEY, JSON.stringify(items));
  }
  function newClientId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return "c" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // --- rendering -----------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function hhmm(iso) {
    const d = iso ? new Date(iso) : new Date();
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
  }

  function tick(status) {
    const node = el("span", `tick ${status}`, status === "sent" ? "✓" : status === "pending" ? "🕓" : "✓✓");
    node.setAttribute("aria-label", status);
    node.title = status;
    return node;
  }

  function bubble({ kind, text, who, time, status }) {
    const li = el("li", `msg ${kind}`);
    if (who) li.append(el("span", "who", who));
    li.append(el("span", "text", text));
    if (kind !== "system") {
      const meta = el("span", "meta");
      meta.append(el("time", null, time));
      if (kind === "mine") meta.append(tick(status));
      li.append(meta);
    }
    return li;
  }

  function scrollDown() {
    const list = $("#messages");
    list.scrollTop = list.scrollHeight;
  }

  // Insert a stored message once, in id order.
  function showMessage(message) {
    const list = $("#messages");
    if (list.querySelector(`li[data-id="${message.id}"]`)) return;
    if (message.client_id) {
      const pending = list.querySelector(`li[data-client-id="${CSS.escape(message.client_id)}"]`);
      if (pending) pending.remove();
    }
    const kind = message.sender === "customer" ? "mine" : message.sender === "system" ? "system" : "theirs";
    const li = bubble({
      kind,
      text: message.text,
      who: kind === "theirs" ? message.sender_name : null,
      time: hhmm(message.created_at),
      status: message.status,
    });
    li.dataset.id = message.id;
    li.dataset.sender = message.sender;
    li.dataset.status = message.status;
    if (message.client_id) li.dataset.clientId = message.client_id;
    const later = $$("#messages li[data-id]").find((node) => Number(node.dataset.id) > message.id);
    const firstPending = list.querySelector("li.pending");
    list.insertBefore(li, later || firstPending || null);
    state.maxId = Math.max(state.maxId, message.id);
    scrollDown();
  }

  function showPending(item) {
    const list = $("#messages");
    if (list.querySelector(`li[data-client-id="${CSS.escape(item.client_id)}"]`)) return;
    const li = bubble({ kind: "mine", text: item.text, time: hhmm(item.created_at), status: "pending" });
    li.classList.add("pending");
    li.dataset.clientId = item.client_id;
    list.append(li);
    scrollDown();
  }

  function setTicks(upToId, status) {
    for (const li of $$('#messages li[data-sender="customer"]')) {
      if (Number(li.dataset.id) > upToId || li.dataset.status === "read") continue;
      if (status === "delivered" && li.dataset.status !== "sent") continue;
      li.dataset.status = status;
      const old = li.querySelector(".tick");
      if (old) old.replaceWith(tick(status));
    }
  }

  function setHeader() {
    const title = $("#head-title");
    const sub = $("#head-sub");
    const avatar = document.querySelector(".avatar");
    if (state.status === "active" && state.agentName) {
      title.textContent = `You're chatting with ${state.agentName}`;
      sub.textContent = "Online now";
      avatar.textContent = state.agentName.trim().charAt(0).toUpperCase() || "?";
      avatar.classList.add("live");
    } else if (state.status === "queued") {
      title.textContent = "Waiting for an agent";
      sub.textContent = "Stay on this page; you can write already.";
      avatar.textContent = "…";
      avatar.classList.remove("live");
    } else if (state.status === "ended") {
      title.textContent = "Chat ended";
      sub.textContent = "Thanks for getting in touch.";
      avatar.classList.remove("live");
    } else {
      title.textContent = "Chat with us";
      sub.textContent = "Write a message to start a new chat.";
    }
    $("#end-chat").classList.toggle("hidden", !(state.status === "active" || state.status === "queued"));
    $("#queue-banner").classList.toggle("hidden", state.status !== "queued" || !$("#queue-banner").textContent);
  }

  function setQueue(position, estimate) {
    const banner = $("#queue-banner");
    if (!position) {
      banner.textContent = "";
      banner.classList.add("hidden");
      return;
    }
    let text = `Waiting for an agent — you are number ${position} in line`;
    if (estimate) text += ` (about ${Math.max(1, Math.round(estimate / 60))} min)`;
    banner.textContent = text + ".";
    banner.classList.toggle("hidden", state.status !== "queued");
  }

  function setEnded(reason) {
    state.status = "ended";
    const texts = {
      agent_ended: "The agent ended this chat.",
      customer_left: "You ended this chat.",
      customer_idle: "This chat was closed after a period of inactivity.",
      agent_offline: "No agent is available right now, so this chat was closed.",
      closed_by_supervisor: "This chat was closed by our team.",
    };
    $("#ended-text").textContent = texts[reason] || "This chat has ended.";
    $("#ended").classList.remove("hidden");
    $("#composer").classList.add("hidden");
    $("#typing").textContent = "";
    setQueue(null);
    setHeader();
    scrollDown();
  }

  function showConversation() {
    $("#start-form").classList.add("hidden");
    $("#conversation").classList.remove("hidden");
  }

  function showStart(error) {
    $("#conversation").classList.add("hidden");
    $("#start-form").classList.remove("hidden");
    $("#end-chat").classList.add("hidden");
    $("#queue-banner").classList.add("hidden");
    const box = $("#start-error");
    box.textContent = error || "";
    box.classList.toggle("hidden", !error);
    $("#start-name").focus();
  }

  function applyConversation(conversation, queuePosition) {
    const isNew = state.conversationId !== conversation.id;
    state.conversationId = conversation.id;
    state.status = conversation.status;
    state.agentName = conversation.agent ? conversation.agent.name : null;
    if (conversation.status === "ended") {
      setEnded(conversation.end_reason);
    } else {
      $("#ended").classList.add("hidden");
      $("#composer").classList.remove("hidden");
      if (isNew || queuePosition !== undefined) setQueue(queuePosition, null);
      setHeader();
    }
  }

  // --- the socket --------------------------------------------------------------------

  // Events name their conversation; a newer one than ours is the one we
  // just opened by writing after an end (its events may beat the ack).
  function isCurrent(conversationId) {
    if (state.conversationId === null || conversationId > state.conversationId) {
      state.conversationId = conversationId;
    }
    return conversationId === state.conversationId;
  }

  function emit(event, payload) {
    return new Promise((resolve) => {
      state.socket.timeout(10000).emit(event, payload, (err, ack) => {
        resolve(err ? { ok: false, error: { code: "timeout", message: "No answer from the server." } } : ack);
      });
    });
  }

  function connect() {
    const socket = io("/customer", { auth: state.token ? { token: state.token } : {} });
    state.socket = socket;

    socket.on("connect", () => {
      $("#offline-banner").classList.add("hidden");
      join();
    });
    socket.on("disconnect", () => {
      state.joined = false;
      if (!$("#conversation").classList.contains("hidden")) $("#offline-banner").classList.remove("hidden");
    });
    socket.on("connect_error", (err) => {
      if (err && err.data && err.data.code === "invalid_token") {
        forgetToken();
        showStart("Your previous chat could not be found. Please start again.");
      } else if (!$("#conversation").classList.contains("hidden")) {
        $("#offline-banner").classList.remove("hidden");
      }
    });

    socket.on("agent:message", (message) => {
      if (!isCurrent(message.conversation_id)) return;
      showMessage(message);
      if (message.sender !== "customer") {
        $("#typing").textContent = "";
        markRead();
      }
    });
    socket.on("agent:assigned", (data) => {
      if (!isCurrent(data.conversation_id)) return;
      state.status = "active";
      state.agentName = data.agent.name;
      setQueue(null);
      setHeader();
    });
    socket.on("agent:typing", (data) => {
      if (!isCurrent(data.conversation_id)) return;
      clearTimeout(state.agentTypingTimer);
      $("#typing").textContent = data.is_typing ? `${data.agent.name} is typing…` : "";
      if (data.is_typing) state.agentTypingTimer = setTimeout(() => ($("#typing").textContent = ""), 8000);
    });
    socket.on("queue:position", (data) => {
      if (!isCurrent(data.conversation_id)) return;
      state.status = "queued";
      setQueue(data.position, data.estimated_wait_s);
      setHeader();
    });
    socket.on("message:status", (data) => {
      if (isCurrent(data.conversation_id)) setTicks(data.up_to_id, data.status);
    });
    socket.on("session:end", (data) => {
      if (isCurrent(data.conversation_id)) setEnded(data.reason);
    });
  }

  async function join() {
    let payload;
    if (state.token) {
      payload = { token: state.token };
      if (state.maxId) payload.last_message_id = state.maxId;
    } else if (state.pendingStart) {
      payload = state.pendingStart;
    } else {
      return;
    }
    const ack = await emit("customer:join", payload);
    if (!ack.ok) {
      if (ack.error.code === "timeout") return; // reconnect will try again
      if (state.token) {
        forgetToken();
        showStart("Your previous chat could not be found. Please start again.");
      } else {
        showStart(ack.error.message);
      }
      return;
    }
    state.pendingStart = null;
    state.token = ack.token;
    localStorage.setItem(TOKEN_KEY, ack.token);
    state.socket.auth = { token: ack.token };
    state.joined = true;
    showConversation();
    for (const message of ack.messages) showMessage(message);
    applyConversation(ack.conversation, ack.queue_position);
    for (const item of loadOutbox()) showPending(item);
    pump();
    markRead();
  }

  function forgetToken() {
    state.token = null;
    state.joined = false;
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(OUTBOX_KEY);
    if (state.socket) state.socket.auth = {};
    $("#messages").replaceChildren();
    state.maxId = 0;
    state.conversationId = null;
  }

  // Send the outbox, oldest first, one at a time so order survives retries.
  async function pump() {
    if (state.pumping) return;
    state.pumping = true;
    try {
      while (state.joined && state.socket.connected) {
        const item = loadOutbox()[0];
        if (!item) break;
        const ack = await emit("customer:message", { text: item.text, client_id: item.client_id });
        if (!ack.ok && (ack.error.code === "timeout" || ack.error.code === "rate_limited")) {
          if (ack.error.code === "rate_limited") await new Promise((r) => setTimeout(r, 1000));
          else break;
          continue;
        }
        saveOutbox(loadOutbox().filter((other) => other.client_id !== item.client_id));
        if (ack.ok) {
          isCurrent(ack.message.conversation_id);
          showMessage(ack.message);
        } else {
          failPending(item.client_id, ack.error.message);
        }
      }
    } finally {
      state.pumping = false;
    }
  }

  function failPending(clientId, reason) {
    const li = $(`#messages li[data-client-id="${CSS.escape(clientId)}"]`);
    if (!li) return;
    li.classList.remove("pending");
    li.classList.add("failed");
    const note = el("span", "fail", `Not sent: ${reason}`);
    li.append(note);
  }

  function markRead() {
    if (!state.joined || document.visibilityState !== "visible") return;
    const theirs = $$('#messages li[data-id]:not([data-sender="customer"])').map((li) => Number(li.dataset.id));
    const upTo = Math.max(0, ...theirs);
    if (upTo <= state.readUpTo) return;
    state.readUpTo = upTo;
    emit("message:read", { up_to_id: upTo });
  }
  document.addEventListener("visibilitychange", markRead);

  // --- user actions --------------------------------------------------------------------

  $("#start-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("#start-name").value.trim();
    if (!name) return showStart("Please tell us your name.");
    const start = { name };
    const email = $("#start-email").value.trim();
    if (email) start.email = email;
    const topic = $("#start-topic");
    if (topic && topic.value) start.topic = topic.value;
    state.pendingStart = start;
    if (!state.socket) connect();
    else if (state.socket.connected) join();
    else state.socket.connect();
  });

  function send() {
    const input = $("#composer-text");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    autosize();
    stopTyping();
    const item = { client_id: newClientId(), text, created_at: new Date().toISOString() };
    saveOutbox([...loadOutbox(), item]);
    showPending(item);
    pump();
  }

  $("#composer").addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  $("#composer-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      send();
    }
  });

  function autosize() {
    const input = $("#composer-text");
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 140) + "px";
  }

  $("#composer-text").addEventListener("input", () => {
    autosize();
    if (!state.joined || state.status === "ended") return;
    const now = Date.now();
    if (now - state.typingSent > 2000) {
      state.typingSent = now;
      state.socket.emit("customer:typing", { is_typing: true });
    }
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(stopTyping, 3000);
  });

  function stopTyping() {
    clearTimeout(state.typingTimer);
    if (state.typingSent && state.joined) state.socket.emit("customer:typing", { is_typing: false });
    state.typingSent = 0;
  }

  $("#end-chat").addEventListener("click", async () => {
    if (!confirm("End this chat?")) return;
    const ack = await emit("customer:disconnect", {});
    if (ack.ok) setEnded("customer_left");
  });

  $("#restart").addEventListener("click", () => {
    // The next message opens a new conversation on the server.
    $("#messages").replaceChildren();
    state.status = null;
    state.agentName = null;
    state.readUpTo = 0;
    $("#ended").classList.add("hidden");
    $("#composer").classList.remove("hidden");
    setQueue(null);
    setHeader();
    $("#composer-text").focus();
  });

  // --- start ------------------------------------------------------------------------------

  if (state.token) {
    showConversation();
    for (const item of loadOutbox()) showPending(item);
    connect();
  } else {
    showStart();
  }
})();
