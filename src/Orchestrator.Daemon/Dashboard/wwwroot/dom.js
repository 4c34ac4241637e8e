// Builds DOM nodes. Every value goes in through textContent or setAttribute, never innerHTML: data from the API
// (names, tags, log lines) can hold '<', quotes or script and must show as text.

/**
 * el('td', {class: 'x', title: 't', data: {digest: 'sha256:…'}}, 'text', childNode, …)
 * Strings and numbers among the children become text nodes; null/undefined/false are skipped.
 */
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'data') for (const [k, v] of Object.entries(value)) node.dataset[k] = String(v);
    else if (key === 'on') for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    else if (key === 'hidden' || key === 'disabled') node[key] = Boolean(value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

/** Empties a node and fills it with children. */
export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

/** sha256:abcdef… → 'sha256:abcdef123456' (12 hex digits), as the CLI shows digests. */
export function shortDigest(digest) {
  if (!digest) return '—';
  const [algorithm, hex] = String(digest).split(':');
  return hex ? `${algorithm}:${hex.slice(0, 12)}` : String(digest).slice(0, 19);
}

/** An ISO time as the browser's local date and time, or '—'. */
export function when(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

/** Bytes as B, KiB, MiB, GiB (binary units, one decimal). */
export function bytes(count) {
  if (count === null || count === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = Number(count);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
