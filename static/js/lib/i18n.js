// Translation of the user-visible strings in these modules.
//
// Django's JavaScriptCatalog, once a page loads it, defines the globals
// gettext, ngettext and interpolate; until then every string is shown as
// written (English). Strings are looked up when they are shown, not when a
// module loads, so the catalog may come later.
//
// Call these literally, gettext("...") and ngettext("...", "...", n), so that
// makemessages -d djangojs finds the strings; a variable is only passed to
// gettext() when its strings were marked with gettext_noop("...").

export function gettext(text) {
  const translate = globalThis.gettext;
  return typeof translate === "function" ? translate(text) : text;
}

// `singular` or `plural` for `count`, by the language's plural rules.
export function ngettext(singular, plural, count) {
  const translate = globalThis.ngettext;
  if (typeof translate === "function") return translate(singular, plural, count);
  return count === 1 ? singular : plural;
}

// Fill `format`'s placeholders: with `named`, "%(name)s" from the object
// `values` (so that a translation may put them in another order); without,
// each "%s" from the array `values` in turn.
export function interpolate(format, values, named = false) {
  const fill = globalThis.interpolate;
  if (typeof fill === "function") return fill(format, values, named);
  if (named) return format.replace(/%\(\w+\)s/g, (match) => String(values[match.slice(2, -2)]));
  const rest = Array.from(values);
  return format.replace(/%s/g, () => String(rest.shift()));
}

// Marks a string for translation where it is defined; gettext() it where it
// is shown. (makemessages finds both names.)
export function gettext_noop(text) {
  return text;
}

// The page's language as Django names it (<html lang>: "en", "zh-hans"), for
// a socket's auth.lang.
export const pageLanguage = document.documentElement.lang || "en";

// The page's language as a locale for Intl and toLocale*String: Django's
// "zh-hans" is "zh-CN" there, so that times and numbers read as in mainland
// China. A page without a lang gets the browser's own locale (undefined).
export function pageLocale() {
  const lang = (document.documentElement.lang || "").toLowerCase();
  if (!lang) return undefined;
  if (lang === "zh-hans" || lang === "zh") return "zh-CN";
  if (lang === "zh-hant") return "zh-TW";
  return lang;
}

// `value` as a number of the page's language; `options` as Intl.NumberFormat
// takes them (e.g. {maximumFractionDigits: 1}, {style: "percent"}).
export function formatNumber(value, options = undefined) {
  return new Intl.NumberFormat(pageLocale(), options).format(value);
}
