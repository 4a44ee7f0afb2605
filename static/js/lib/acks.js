// Events that wait for the server's acknowledgement (docs/PROTOCOL.md).
//
// The answer is always an object {ok, ...}: no answer within the time limit
// reads as {ok: false, error: {code: "timeout"}}, so callers handle one shape
// and never a rejected promise.

import { gettext } from "./i18n.js";

const ACK_TIMEOUT_MS = 10000;

// The shape of a failed answer, for answers the page makes up itself.
export function failure(code, message) {
  return { ok: false, error: { code, message } };
}

// Emit `event` with `payload` on `socket` and resolve with the server's answer.
export async function emitWithAck(socket, event, payload, timeoutMs = ACK_TIMEOUT_MS) {
  let answer;
  try {
    answer = await socket.timeout(timeoutMs).emitWithAck(event, payload);
  } catch (err) {
    return failure("timeout", gettext("The server did not answer."));
  }
  return answer && typeof answer === "object" ? answer : { ok: false, error: { code: "internal" } };
}
