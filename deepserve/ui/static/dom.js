// Small DOM helpers shared by the GUI's modules.

/**
 * Create an element: `attrs` become attributes (`on<event>` a listener, `true` an empty
 * attribute, null/undefined/false nothing); `children` are nodes or text, nested arrays allowed.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

/** Append nodes or text (nested arrays allowed; null, undefined and false are skipped). */
export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/**
 * Replace a container's content; the element that had the focus (found again by its
 * `data-key`) keeps it, so that content refreshed every second stays usable with the keyboard.
 */
export function replaceKeepingFocus(container, ...children) {
  const focused = container.contains(document.activeElement) && document.activeElement.dataset.key;
  container.replaceChildren();
  append(container, children);
  if (focused) {
    const again = [...container.querySelectorAll("[data-key]")].find(
      (n) => n.dataset.key === focused,
    );
    if (again) again.focus();
  }
}

/** A document fragment of `children`. */
export function fragment(...children) {
  return append(document.createDocumentFragment(), children);
}

/** An argument or field name for people: underscores and dashes become spaces. */
export function humanize(name) {
  return String(name).replace(/[_-]+/g, " ").trim();
}

/** A number for display: integers as they are, others to 6 significant digits. */
export function formatNumber(value) {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}

/** A size in bytes for people. */
export function formatBytes(size) {
  if (size < 1024) return `${size} bytes`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

/** Whether `value` is a plain JSON object (not null, not an array). */
export function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
