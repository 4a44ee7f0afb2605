// The typing signal a page sends while its user types: "typing" at most once
// every `everyMs` while keys come, then "stopped" after `idleMs` without one,
// or at once when told (the message went, the conversation ended).

export class TypingSignal {
  // `send(isTyping, target)` emits the event; `target` is what typed() was
  // last given (the console's conversation id; the chat page gives none).
  constructor(send, { everyMs = 2000, idleMs = 3000 } = {}) {
    this.send = send;
    this.everyMs = everyMs;
    this.idleMs = idleMs;
    this.sentAt = 0; // when "typing" was last sent; 0 while no "stopped" is owed
    this.timer = null;
    this.target = undefined;
  }

  // A key was typed (in `target`).
  typed(target) {
    this.target = target;
    const now = Date.now();
    if (now - this.sentAt >= this.everyMs) {
      this.sentAt = now;
      this.send(true, target);
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.stop(), this.idleMs);
  }

  // Typing stopped: say so if "typing" was said and `tell`, then start afresh.
  stop(tell = true) {
    clearTimeout(this.timer);
    if (this.sentAt && tell) this.send(false, this.target);
    this.sentAt = 0;
  }
}
