// Translation of the user-visible strings in these modules.
//
// Django's JavaScriptCatalog, once a page loads it, defines the global
// gettext; until then every string is shown as written. Strings are looked up
// when they are shown, not when a module loads, so the catalog may come later.

export function gettext(text) {
  const translate = globalThis.gettext;
  return typeof translate === "function" ? translate(text) : text;
}

// Marks a string for translation where it is defined; gettext() it where it
// is shown. (makemessages finds both names.)
export function gettext_noop(text) {
  return text;
}
