// Waiting times in the console, written the way the page's language writes
// them (Intl, in that language).

import { gettext, interpolate, pageLocale } from "./lib/i18n.js";

const units = Object.fromEntries(
  ["second", "minute", "hour"].map((unit) => [unit, new Intl.NumberFormat(pageLocale(), { style: "unit", unit, unitDisplay: "short" })]),
);

// A waiting time: "42 sec", "3 min 5 sec", "1 hr 2 min"; "42秒", "3分钟5秒", "1小时2分钟".
export function formatWait(seconds) {
  if (seconds < 60) return units.second.format(seconds);
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    // Translators: a duration of minutes and seconds, each already written with its unit.
    return interpolate(gettext("%(minutes)s %(seconds)s"), { minutes: units.minute.format(minutes), seconds: units.second.format(seconds % 60) }, true);
  }
  // Translators: a duration of hours and minutes, each already written with its unit.
  return interpolate(gettext("%(hours)s %(minutes)s"), { hours: units.hour.format(Math.floor(minutes / 60)), minutes: units.minute.format(minutes % 60) }, true);
}
