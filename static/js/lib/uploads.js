// A composer's attachments, as both pages offer them: a paperclip button that
// opens the file picker, files dropped on the conversation, images pasted
// into the text field. Each file is checked against the page's limits, then
// uploaded (lib/attachments.js), one at a time in the order given, with a
// progress bar, its name and a cancel button in the composer's tray; once
// uploaded it is handed to the page, which sends it as a message.
//
// Refusals (the page's own, or the server's error.message) show in the tray
// until dismissed or the next file is chosen.

import { el } from "./dom.js";
import { formatNumber, gettext, interpolate } from "./i18n.js";
import { icon, refusal, upload } from "./attachments.js";

// Files dropped outside a drop zone would make the browser leave the page to
// show them: refused everywhere, once.
let guarded = false;
function guardWindow() {
  if (guarded) return;
  guarded = true;
  for (const type of ["dragover", "drop"]) {
    window.addEventListener(type, (event) => {
      if (hasFiles(event)) event.preventDefault();
    });
  }
}

function hasFiles(event) {
  const types = event.dataTransfer && event.dataTransfer.types;
  return !!types && Array.from(types).includes("Files");
}

function filesOf(transfer) {
  if (!transfer) return [];
  if (transfer.files && transfer.files.length) return Array.from(transfer.files);
  // Some browsers give pasted images only as items.
  return Array.from(transfer.items || [])
    .filter((item) => item.kind === "file")
    .map((item) => item.getAsFile())
    .filter(Boolean);
}

export class Uploader {
  // - button, input: the paperclip and its <input type=file> (accept is set here);
  // - zone: where files may be dropped (highlighted while they are dragged over);
  // - textarea: where images may be pasted;
  // - tray: where progress and refusals show;
  // - limits: lib/attachments.js pageLimits();
  // - headers(): the upload's headers, asked at each upload;
  // - blocked(): why nothing may be sent now (a sentence), or null;
  // - onUploaded(attachment): the page sends it.
  constructor({ button, input, zone, textarea, tray, limits, headers, blocked = () => null, onUploaded }) {
    Object.assign(this, { button, input, zone, textarea, tray, limits, headers, blocked, onUploaded });
    this.jobs = []; // waiting to upload, oldest first
    this.current = null; // the job uploading
    this.depth = 0; // dragenter minus dragleave over the zone
    guardWindow();
    if (limits.accept) input.accept = limits.accept;
    button.addEventListener("click", () => input.click());
    input.addEventListener("change", () => {
      this.add(Array.from(input.files || []));
      input.value = ""; // the same file may be chosen again
    });
    textarea.addEventListener("paste", (event) => {
      const files = filesOf(event.clipboardData);
      if (!files.length) return;
      event.preventDefault();
      this.add(files);
    });
    this.hint = el("div", "drop-hint", gettext("Drop files here to send them"));
    this.hint.setAttribute("aria-hidden", "true");
    zone.classList.add("drop-zone");
    zone.append(this.hint);
    zone.addEventListener("dragenter", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      this.depth += 1;
      zone.classList.add("drop-active");
    });
    zone.addEventListener("dragover", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      zone.classList.add("drop-active");
    });
    zone.addEventListener("dragleave", () => {
      this.depth = Math.max(0, this.depth - 1);
      if (!this.depth) zone.classList.remove("drop-active");
    });
    zone.addEventListener("drop", (event) => {
      this.depth = 0;
      zone.classList.remove("drop-active");
      const files = filesOf(event.dataTransfer);
      if (!files.length) return;
      event.preventDefault();
      this.add(files);
    });
  }

  // Check and queue `files` for upload, in order.
  add(files) {
    if (!files.length) return;
    this.clearErrors();
    const blocked = this.blocked();
    if (blocked) {
      this.showError(blocked);
      return;
    }
    for (const file of files) {
      const why = refusal(file, this.limits);
      if (why) this.showError(why);
      else this.jobs.push(this.job(file));
    }
    this.next();
  }

  // A file's row in the tray: name, progress, cancel.
  job(file) {
    const name = file.name || gettext("Pasted image");
    const row = el("div", "upload-row");
    row.setAttribute("role", "status");
    const label = el("span", "upload-name", name);
    const bar = el("progress", "upload-bar");
    bar.max = 1;
    bar.value = 0;
    bar.setAttribute("aria-label", interpolate(gettext("Uploading %(name)s"), { name }, true));
    const percent = el("span", "upload-percent", gettext("Waiting…"));
    const cancel = el("button", "upload-cancel");
    cancel.type = "button";
    cancel.title = interpolate(gettext("Cancel the upload of %(name)s"), { name }, true);
    cancel.setAttribute("aria-label", cancel.title);
    cancel.append(icon("close"), el("span", "upload-cancel-text", gettext("Cancel")));
    row.append(label, bar, percent, cancel);
    this.tray.append(row);
    const job = { file, row, bar, percent, upload: null };
    cancel.addEventListener("click", () => this.cancel(job));
    return job;
  }

  cancel(job) {
    job.row.remove();
    if (job === this.current) job.upload.abort();
    else this.jobs = this.jobs.filter((other) => other !== job);
  }

  async next() {
    if (this.current || !this.jobs.length) return;
    const job = this.jobs.shift();
    this.current = job;
    job.percent.textContent = formatNumber(0, { style: "percent" });
    job.upload = upload(job.file, {
      headers: this.headers(),
      onProgress: (fraction) => {
        job.bar.value = fraction;
        job.percent.textContent = formatNumber(fraction, { style: "percent" });
      },
    });
    const answer = await job.upload.done;
    job.row.remove();
    this.current = null;
    if (answer.ok) {
      this.onUploaded(answer.attachment);
    } else if (answer.error.code !== "aborted") {
      const name = job.file.name || gettext("Pasted image");
      this.showError(interpolate(gettext("%(name)s was not sent: %(reason)s"), { name, reason: answer.error.message }, true));
    }
    this.next();
  }

  showError(text) {
    const row = el("div", "upload-row upload-error");
    row.setAttribute("role", "alert");
    row.append(el("span", "upload-error-text", text));
    const dismiss = el("button", "upload-dismiss");
    dismiss.type = "button";
    dismiss.title = gettext("Dismiss");
    dismiss.setAttribute("aria-label", dismiss.title);
    dismiss.append(icon("close"));
    dismiss.addEventListener("click", () => row.remove());
    row.append(dismiss);
    this.tray.append(row);
  }

  clearErrors() {
    for (const row of this.tray.querySelectorAll(".upload-error")) row.remove();
  }

  // Give up every upload (the conversation went away).
  abortAll() {
    for (const job of this.jobs) job.row.remove();
    this.jobs = [];
    if (this.current) this.cancel(this.current);
  }
}
