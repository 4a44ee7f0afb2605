// Times of day as the pages show them: the browser's time zone and locale.

import { el } from "./dom.js";

const TIME_STYLES = {
  // The locale's own clock: "3:05 PM" in the US, "15:05" in most of Europe.
  locale: { hour: "numeric", minute: "2-digit" },
  // Always 24-hour, two digits each: "15:05".
  clock24: { hour: "2-digit", minute: "2-digit", hour12: false },
};

// A <time> element for `iso` (an ISO 8601 string; now when absent) shown as a
// time of day in one of TIME_STYLES, its datetime attribute set.
export function timeElement(iso, style = "locale") {
  const date = iso ? new Date(iso) : new Date();
  const node = el("time", null, date.toLocaleTimeString([], TIME_STYLES[style]));
  if (!Number.isNaN(date.getTime())) node.dateTime = date.toISOString();
  return node;
}
