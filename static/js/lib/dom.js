// Building DOM nodes. Text goes in through textContent only, so nothing a
// customer or an agent typed is ever parsed as HTML.

// A new <tag class="className">text</tag>; className and text may be null.
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}
