// The wallboard refreshes itself every 3 seconds (htmx polling). While a
// supervisor has chosen an agent in a reassign list and not yet sent it,
// refreshes wait (for up to PAUSE_MS, so that a choice left behind does not
// freeze the board), so that the choice is not swapped away under them.
"use strict";

const PAUSE_MS = 20000;

document.addEventListener("change", (event) => {
  const select = event.target;
  if (select instanceof HTMLSelectElement && select.hasAttribute("data-pending-choice")) {
    select.dataset.chosenAt = String(Date.now());
  }
});

function choosing() {
  const now = Date.now();
  return Array.from(document.querySelectorAll("#wallboard select[data-pending-choice]")).some(
    (select) => select.value !== "" && now - Number(select.dataset.chosenAt || 0) < PAUSE_MS,
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
