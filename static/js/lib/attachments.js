// Files and images in chats (docs/PROTOCOL.md, Attachment), as both pages
// handle them: uploading one to /api/uploads/, the page's own checks before
// that, and showing one in a message bubble (a thumbnail that opens the
// image in an in-page viewer, or a file card with a download link).
//
// Everything is built with el() and textContent: a file's name is shown as
// text, never parsed as HTML. Attachment URLs are the server's signed,
// same-origin paths, used as they come.

import { el } from "./dom.js";
import { formatNumber, gettext, interpolate, ngettext } from "./i18n.js";

export const UPLOAD_URL = "/api/uploads/";

// The box a thumbnail is shown in, in CSS pixels (templates/agents/fragments/
// attachment.html scales to the same box).
export const THUMBNAIL_BOX = 240;

// --- sizes and the page's limits -------------------------------------------------

// `bytes` for people, in the page's language: "512 bytes", "1.4 MB" (one
// decimal and no line break before the unit, as Django's filesizeformat
// writes them in server-rendered fragments).
export function formatSize(bytes) {
  return sizeText(bytes).replace(/ /g, "\u00a0");
}

function sizeText(bytes) {
  const n = Math.max(0, Number(bytes) || 0);
  if (n < 1024) {
    return interpolate(ngettext("%(size)s byte", "%(size)s bytes", n), { size: formatNumber(n) }, true);
  }
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < 2) {
    value /= 1024;
    unit += 1;
  }
  const size = formatNumber(value, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  if (unit === 0) return interpolate(gettext("%(size)s KB"), { size }, true);
  if (unit === 1) return interpolate(gettext("%(size)s MB"), { size }, true);
  return interpolate(gettext("%(size)s GB"), { size }, true);
}

// The page's upload limits, from data attributes the server rendered on
// `node` (data-upload-max-bytes, data-upload-accept: chat.attachments.page_limits()).
// A limit that is absent is not checked here (the server still checks).
export function pageLimits(node) {
  const maxBytes = Number(node && node.dataset.uploadMaxBytes);
  return {
    maxBytes: Number.isFinite(maxBytes) && maxBytes > 0 ? maxBytes : 0,
    accept: (node && node.dataset.uploadAccept) || "",
  };
}

// Does `file` match an <input accept> value ("image/png,.pdf,image/*")?
export function accepts(file, accept) {
  const entries = accept
    .split(",")
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
  if (!entries.length) return true;
  const name = (file.name || "").toLowerCase();
  const type = (file.type || "").toLowerCase();
  return entries.some((entry) => {
    if (entry.startsWith(".")) return name.endsWith(entry);
    if (entry.endsWith("/*")) return type.startsWith(entry.slice(0, -1));
    return type === entry;
  });
}

// Why the page refuses `file` before uploading it (a sentence for people),
// or null when it may go.
export function refusal(file, limits) {
  const name = file.name || gettext("This file");
  if (!file.size) {
    return interpolate(gettext("%(name)s is empty."), { name }, true);
  }
  if (limits.maxBytes && file.size > limits.maxBytes) {
    return interpolate(
      gettext("%(name)s is too large: files of up to %(limit)s can be sent."),
      { name, limit: formatSize(limits.maxBytes) },
      true,
    );
  }
  if (limits.accept && !accepts(file, limits.accept)) {
    return interpolate(gettext("%(name)s can't be sent: files of this type are not accepted."), { name }, true);
  }
  return null;
}

// --- uploading -------------------------------------------------------------------

function failure(code, message) {
  return { ok: false, error: { code, message } };
}

// What a refusal without the server's JSON (a proxy's page, no network) says.
function fallbackError(status) {
  switch (status) {
    case 0:
      return failure("offline", gettext("The upload failed: no connection. Please try again."));
    case 401:
      return failure("unauthorized", gettext("The upload was refused: please reload the page."));
    case 403:
      return failure("forbidden", gettext("You can't send files here."));
    case 413:
      return failure("too_large", gettext("That file is too large."));
    case 415:
      return failure("unsupported_type", gettext("Files of this type are not accepted."));
    case 429:
      return failure("rate_limited", gettext("Too many uploads: wait a moment and try again."));
    default:
      return failure("internal", gettext("The upload failed. Please try again."));
  }
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch (e) {
    return null;
  }
}

// Upload `file` as multipart/form-data (field "file") with `headers` (the
// customer's Authorization, or the console's X-CSRFToken).
//
// Returns {done, abort}: `done` resolves, never rejects, with the server's
// answer {ok: true, attachment} or {ok: false, error: {code, message}}
// (code "aborted" after abort(), with no message). `onProgress(fraction)`
// is called as the bytes go (0 to 1).
export function upload(file, { headers = {}, onProgress = null } = {}) {
  const xhr = new XMLHttpRequest();
  const done = new Promise((resolve) => {
    xhr.open("POST", UPLOAD_URL);
    xhr.setRequestHeader("Accept", "application/json");
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    if (onProgress) {
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable && event.total) onProgress(event.loaded / event.total);
      });
    }
    xhr.addEventListener("load", () => {
      const body = parse(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300 && body && body.ok && body.attachment) {
        resolve(body);
      } else if (body && body.ok === false && body.error && body.error.message) {
        resolve(body);
      } else {
        resolve(fallbackError(xhr.status));
      }
    });
    xhr.addEventListener("error", () => resolve(fallbackError(0)));
    xhr.addEventListener("timeout", () => resolve(fallbackError(0)));
    xhr.addEventListener("abort", () => resolve(failure("aborted", "")));
    const form = new FormData();
    form.append("file", file, file.name || "file");
    xhr.send(form);
  });
  return { done, abort: () => xhr.abort() };
}

// --- icons -------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";
const ICONS = {
  file: ["M6 2.5h8l5 5v14H6z", "M14 2.5v5h5"],
  download: ["M12 4v11", "M7 10.5l5 5 5-5", "M5 19.5h14"],
  close: ["M6 6l12 12", "M18 6L6 18"],
};

// A small stroked SVG icon (decorative: hidden from screen readers).
export function icon(name, className = "icon") {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", className);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  for (const d of ICONS[name]) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

// --- in a message bubble --------------------------------------------------------------

// `width` x `height` scaled down to fit a `box` x `box` square (never up), or
// null when the size is unknown.
export function fitBox(width, height, box = THUMBNAIL_BOX) {
  if (!(width > 0 && height > 0)) return null;
  const scale = Math.min(1, box / width, box / height);
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}

// An image: its thumbnail, a link to the full size that opens in the viewer.
function imageElement(attachment) {
  const link = el("a", "att-image");
  link.href = attachment.url;
  link.target = "_blank";
  link.rel = "noopener";
  link.title = gettext("Open full size");
  link.dataset.name = attachment.name;
  link.dataset.size = String(attachment.size);
  const img = el("img", "att-thumb");
  img.alt = attachment.name;
  img.loading = "lazy";
  img.decoding = "async";
  const size = fitBox(attachment.width, attachment.height);
  if (size) [img.width, img.height] = size;
  img.src = attachment.thumbnail_url;
  link.append(img);
  return link;
}

// Any other file: a card with its name and size that downloads it.
function fileElement(attachment) {
  const card = el("a", "att-file");
  card.href = attachment.url;
  card.download = attachment.name;
  card.append(icon("file", "icon att-file-icon"));
  const body = el("span", "att-file-body");
  body.append(el("span", "att-name", attachment.name), el("span", "att-size", formatSize(attachment.size)));
  card.append(body);
  const action = el("span", "att-download");
  action.append(icon("download"), el("span", "visually-hidden", gettext("Download")));
  card.title = interpolate(gettext("Download %(name)s"), { name: attachment.name }, true);
  card.append(action);
  return card;
}

// The attachment of a message, as shown in its bubble.
export function attachmentElement(attachment) {
  const box = el("span", "attachment");
  box.append(attachment.thumbnail_url ? imageElement(attachment) : fileElement(attachment));
  return box;
}

// --- the image viewer ---------------------------------------------------------------------

let viewer = null;

function buildViewer() {
  const dialog = el("dialog", "att-viewer");
  const close = el("button", "att-viewer-close");
  close.type = "button";
  close.setAttribute("aria-label", gettext("Close"));
  close.title = gettext("Close");
  close.append(icon("close"));
  const figure = el("figure", "att-viewer-figure");
  const img = el("img", "att-viewer-img");
  const caption = el("figcaption", "att-viewer-caption");
  const name = el("span", "att-viewer-name");
  const size = el("span", "att-viewer-size");
  const open = el("a", "att-viewer-open", gettext("Open original"));
  open.target = "_blank";
  open.rel = "noopener";
  const download = el("a", "att-viewer-download", gettext("Download"));
  caption.append(name, size, open, download);
  figure.append(img, caption);
  dialog.append(close, figure);
  close.addEventListener("click", () => dialog.close());
  // A click beside the image (on the dark backdrop) closes; Esc closes by itself.
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog || event.target === figure) dialog.close();
  });
  dialog.addEventListener("close", () => img.removeAttribute("src"));
  document.body.append(dialog);
  return { dialog, img, name, size, open, download, close };
}

// Show the image at `url` full size in the page, over everything.
export function openViewer({ url, name, size = null }) {
  viewer = viewer || buildViewer();
  viewer.dialog.setAttribute("aria-label", name);
  viewer.img.alt = name;
  viewer.img.src = url;
  viewer.name.textContent = name;
  viewer.size.textContent = size === null ? "" : formatSize(size);
  viewer.open.href = url;
  viewer.download.href = url;
  viewer.download.download = name;
  if (!viewer.dialog.open) viewer.dialog.showModal();
  viewer.close.focus();
}

// Thumbnails open in the viewer, whoever rendered them (this module, or a
// server-rendered fragment): one handler for the whole document. A click with
// a modifier key keeps the browser's own meaning (a new tab, a download).
document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  const link = event.target instanceof Element ? event.target.closest("a.att-image") : null;
  if (!link) return;
  event.preventDefault();
  const size = link.dataset.size ? Number(link.dataset.size) : null;
  const img = link.querySelector("img");
  openViewer({ url: link.href, name: link.dataset.name || (img && img.alt) || "", size });
});
