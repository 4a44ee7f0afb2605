// Chat messages as both pages list them: the bubble (<li class="msg ...">),
// its attachment (lib/attachments.js), its sent / delivered / read tick, and
// a list kept in message-id order.
//
// A bubble's dataset carries the message's id, sender and status; a message
// still waiting for its id has the class "pending" and stays last.

import { attachmentElement } from "./attachments.js";
import { el } from "./dom.js";
import { gettext } from "./i18n.js";
import { timeElement } from "./time.js";

const STATUS_ORDER = { pending: 0, sent: 1, delivered: 2, read: 3 };

// Has `status` not yet reached `other` (e.g. "sent" before "delivered")?
export function isBefore(status, other) {
  return STATUS_ORDER[status] < STATUS_ORDER[other];
}

function tickLabel(status) {
  switch (status) {
    case "pending":
      return gettext("Waiting to send");
    case "sent":
      return gettext("Sent");
    case "delivered":
      return gettext("Delivered");
    case "read":
      return gettext("Read");
    default:
      return status;
  }
}

// The tick of a message of ours: none while pending, ✓ sent, ✓✓ delivered or
// read (CSS colours "read"). Read aloud and shown on hover in the page's
// language; data-status keeps the wire name.
function tickElement(status) {
  const text = status === "sent" ? "✓" : status === "pending" ? "" : "✓✓";
  const node = el("span", `tick ${status}`, text);
  const label = tickLabel(status);
  node.dataset.status = status;
  node.setAttribute("aria-label", label);
  node.title = label;
  return node;
}

// "mine", "system" or "theirs": how a message from `sender` looks to `side`
// ("customer" on the chat page, "agent" in the console).
export function bubbleKind(sender, side) {
  return sender === side ? "mine" : sender === "system" ? "system" : "theirs";
}

// A bubble: `who` above the rest when given; the attachment (an Attachment,
// docs/PROTOCOL.md) when given; the text unless empty (a message may be an
// attachment alone); then, except for system notes, the time in `timeStyle`
// (lib/time.js) and the tick of status `tick` when given.
export function messageBubble({ kind, text, who = null, attachment = null, time = null, timeStyle = "locale", tick = null }) {
  const li = el("li", `msg ${kind}`);
  if (who) li.append(el("span", "who", who));
  if (attachment) {
    li.classList.add("has-attachment");
    li.append(attachmentElement(attachment));
  }
  if (text || !attachment) li.append(el("span", "text", text));
  if (kind !== "system") {
    const meta = el("span", "meta");
    meta.append(timeElement(time, timeStyle));
    if (tick) meta.append(tickElement(tick));
    li.append(meta);
  }
  return li;
}

// The bubble of a stored Message (docs/PROTOCOL.md) seen from `side`, showing
// `status` (the message's own unless told better) on our own messages.
export function messageElement(message, { side, who = null, status = message.status, timeStyle = "locale" }) {
  const kind = bubbleKind(message.sender, side);
  const li = messageBubble({
    kind,
    text: message.text,
    who,
    attachment: message.attachment || null,
    time: message.created_at,
    timeStyle,
    tick: kind === "mine" ? status : null,
  });
  li.dataset.id = String(message.id);
  li.dataset.sender = message.sender;
  li.dataset.status = status;
  if (message.client_id) li.dataset.clientId = message.client_id;
  return li;
}

// Is the message with this id in `list` already?
export function hasMessage(list, id) {
  return list.querySelector(`li[data-id="${Number(id)}"]`) !== null;
}

// Put a stored message's bubble into `list` in id order, before any pending one.
export function insertInIdOrder(list, li) {
  const id = Number(li.dataset.id);
  let before = null;
  for (const node of list.children) {
    if (node.classList.contains("pending") || Number(node.dataset.id) > id) {
      before = node;
      break;
    }
  }
  list.insertBefore(li, before);
}

// message:status: every stored message from `sender` in `root` up to
// `upToId` now shows at least `status` ("delivered" or "read").
export function advanceTicks(root, sender, upToId, status) {
  for (const li of root.querySelectorAll(`li[data-sender="${sender}"]:not(.pending)`)) {
    if (Number(li.dataset.id) > upToId || !isBefore(li.dataset.status, status)) continue;
    li.dataset.status = status;
    const tick = li.querySelector(".tick");
    if (tick) tick.replaceWith(tickElement(status));
  }
}
