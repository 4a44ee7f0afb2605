// The console's language: translation, and numbers and durations written
// the way the page's language writes them (Intl, in the page's language).

import { gettext } from "./lib/i18n.js";

export { gettext };

// lib/i18n.js wraps gettext; ngettext and interpolate are wrapped here the
// same way (Django's catalog script defines the globals) until it has them too.
export function ngettext(singular, plural, count) {
  const translate = globalThis.ngettext;
  return typeof translate === "function" ? translate(singular, plural, count) : count === 1 ? singular : plural;
}

// `format` with its %(name)s placeholders filled from `values`.
export function interpolate(format, values) {
  const fill = globalThis.interpolate;
  if (typeof fill === "function") return fill(format, values, true);
  return format.replace(/%\((\w+)\)s/g, (match, name) => (Object.hasOwn(values, name) ? String(values[name]) : match));
}

// The page's language (<html lang>, Django's code) and the same as Intl
// names it: Django says "zh-hans", Intl "zh-CN".
const LOCALES = { "zh-hans": "zh-CN" };
export const pageLanguage = document.documentElement.lang || "en";
export const locale = LOCALES[pageLanguage.toLowerCase()] || pageLanguage;

const numbers = new Intl.NumberFormat(locale);
export function formatNumber(n) {
  return numbers.format(n);
}

const units = Object.fromEntries(
  ["second", "minute", "hour"].map((unit) => [unit, new Intl.NumberFormat(locale, { style: "unit", unit, unitDisplay: "short" })]),
);

// A waiting time: "42 sec", "3 min 5 sec", "1 hr 2 min"; "42秒", "3分钟5秒", "1小时2分钟".
export function formatWait(seconds) {
  if (seconds < 60) return units.second.format(seconds);
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    // Translators: a duration of minutes and seconds, each already written with its unit.
    return interpolate(gettext("%(minutes)s %(seconds)s"), { minutes: units.minute.format(minutes), seconds: units.second.format(seconds % 60) });
  }
  // Translators: a duration of hours and minutes, each already written with its unit.
  return interpolate(gettext("%(hours)s %(minutes)s"), { hours: units.hour.format(Math.floor(minutes / 60)), minutes: units.minute.format(minutes % 60) });
}
