// The satisfaction rating on the ended screen of the customer page:
// "How was your chat?", five stars (radio inputs, so arrow keys choose and
// each has a label for screen readers), an optional comment, and Send
// (customer:rating, docs/PROTOCOL.md). Once rated, a thank-you with the
// score shows instead; a join that returns the ended conversation says
// whether it was rated (Conversation.rating), so a reload shows the one or
// the other.

import { gettext, interpolate } from "./i18n.js";

export class RatingPanel {
  // `root` holds #rating-form and #rating-thanks; `send(payload)` resolves
  // with the server's answer ({ok, ...} or {ok: false, error}).
  constructor(root, send) {
    this.send = send;
    this.form = root.querySelector("#rating-form");
    this.thanks = root.querySelector("#rating-thanks");
    this.error = root.querySelector("#rating-error");
    this.button = root.querySelector("#rating-send");
    this.comment = root.querySelector("#rating-comment");
    this.labels = Array.from(root.querySelectorAll("#rating-stars label"));
    this.form.addEventListener("change", () => this.paint());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  score() {
    const checked = this.form.querySelector('input[name="score"]:checked');
    return checked ? Number(checked.value) : null;
  }

  // Stars up to the chosen one are lit.
  paint() {
    const score = this.score() || 0;
    for (const label of this.labels) label.classList.toggle("on", Number(label.dataset.score) <= score);
    if (score) this.setError(null);
  }

  setError(text) {
    this.error.textContent = text || "";
    this.error.classList.toggle("hidden", !text);
  }

  // The ended screen of a conversation: its rating ({score, ...}) or null
  // (not yet rated: the form, empty).
  show(rating) {
    if (rating && rating.score) {
      this.showThanks(rating.score);
      return;
    }
    this.form.reset();
    this.paint();
    this.setError(null);
    this.button.disabled = false;
    this.thanks.classList.add("hidden");
    this.form.classList.remove("hidden");
  }

  showThanks(score) {
    this.form.classList.add("hidden");
    this.thanks.textContent = interpolate(
      gettext("Thank you for your feedback! You rated this chat %(score)s out of 5."),
      { score },
      true,
    );
    this.thanks.classList.remove("hidden");
  }

  hide() {
    this.form.classList.add("hidden");
    this.thanks.classList.add("hidden");
  }

  async submit() {
    const score = this.score();
    if (!score) {
      this.setError(gettext("Choose from one to five stars."));
      return;
    }
    const payload = { score };
    const comment = this.comment.value.trim();
    if (comment) payload.comment = comment;
    this.button.disabled = true;
    const ack = await this.send(payload);
    this.button.disabled = false;
    if (ack.ok) {
      this.showThanks(ack.score);
    } else {
      this.setError((ack.error && ack.error.message) || gettext("That didn't work. Please try again."));
    }
  }
}
