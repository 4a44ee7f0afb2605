// Client ids: the idempotency key sent with each message (`client_id` in
// docs/PROTOCOL.md), so that a resend is stored once.

// 24 random hex characters after an optional prefix: within the protocol's
// [A-Za-z0-9_-]{1,64} for any prefix of up to 40 of those characters.
export function newClientId(prefix = "") {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
