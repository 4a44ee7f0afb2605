// Times of day as the pages show them, in the browser's time zone.

import { el } from "./dom.js";
import { pageLocale } from "./i18n.js";

const TIME_STYLES = {
  // The clock of the page's language: "3:05 PM" in English, "15:05" in Chinese.
  locale: { options: { hour: "numeric", minute: "2-digit" }, locale: pageLocale },
  // Always 24-hour, two digits each: "15:05" (the browser's locale, which
  // only decides the separator).
  clock24: { options: { hour: "2-digit", minute: "2-digit", hour12: false }, locale: () => [] },
};

// A <time> element for `iso` (an ISO 8601 string; now when absent) shown as a
// time of day in one of TIME_STYLES, its datetime attribute set.
export function timeElement(iso, style = "locale") {
  const date = iso ? new Date(iso) : new Date();
  const { options, locale } = TIME_STYLES[style];
  const node = el("time", null, date.toLocaleTimeString(locale(), options));
  if (!Number.isNaN(date.getTime())) node.dateTime = date.toISOString();
  return node;
}
