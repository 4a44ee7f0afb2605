// The wallboard refreshes itself every 3 seconds (htmx polling). While a
// supervisor has chosen an agent in a reassign select and not yet sent it,
// refreshes wait, so that the choice is not swapped away under them.
"use strict";

function choosing() {
  return Array.from(document.querySelectorAll("#wallboard select[data-pending-choice]")).some(
    (select) => select.value !== "",
  );
}

function isRefresh(detail) {
  return detail.elt && detail.elt.id === "wallboard" && detail.requestConfig.verb === "get";
}

document.addEventListener("htmx:beforeRequest", (event) => {
  if (isRefresh(event.detail) && choosing()) event.preventDefault();
});

document.addEventListener("htmx:beforeSwap", (event) => {
  if (isRefresh(event.detail) && choosing()) event.detail.shouldSwap = false;
});
