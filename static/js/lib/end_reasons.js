// Why a conversation ended, as a sentence for the person reading: the
// `reason` of session:end and Conversation.end_reason (docs/PROTOCOL.md).
//
// Each reason has two sentences, one for the customer (chat page) and one for
// the agent (console); a reason this table does not know gets a neutral one.

import { gettext, gettext_noop } from "./i18n.js";

const SENTENCES = {
  agent_ended: {
    customer: gettext_noop("The agent ended this chat."),
    agent: gettext_noop("You ended this conversation."),
  },
  customer_left: {
    customer: gettext_noop("You ended this chat."),
    agent: gettext_noop("The customer ended this conversation."),
  },
  customer_idle: {
    customer: gettext_noop("This chat was closed after a period of inactivity."),
    agent: gettext_noop("This conversation was closed because the customer was away too long."),
  },
  agent_offline: {
    customer: gettext_noop("No agent is available right now, so this chat was closed."),
    agent: gettext_noop("This conversation was closed because you went offline and no other agent could take it."),
  },
  closed_by_supervisor: {
    customer: gettext_noop("This chat was closed by our team."),
    agent: gettext_noop("A supervisor closed this conversation."),
  },
};

const UNKNOWN = {
  customer: gettext_noop("Thanks for chatting with us."),
  agent: gettext_noop("This conversation has ended."),
};

// The sentence for `reason`, worded for `reader`: "customer" or "agent".
export function endReasonText(reason, reader) {
  const sentences = Object.hasOwn(SENTENCES, reason) ? SENTENCES[reason] : UNKNOWN;
  return gettext(sentences[reader]);
}
