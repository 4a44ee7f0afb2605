// The language switcher (templates/includes/language_switcher.html): choosing
// a language sends the form at once, so the button is only for pages without
// script.
for (const form of document.querySelectorAll("form.language-switcher")) {
  const select = form.querySelector("select");
  const button = form.querySelector(".language-go");
  if (button) button.hidden = true;
  select.addEventListener("change", () => form.requestSubmit());
}
