// dom — small helpers to build elements and format values.
//
// Everything the dashboard shows comes from the APIs, and payloads are untrusted: text
// only ever goes in through textContent (h()'s string children), never innerHTML.
// Attributes are set with setAttribute; a "style" attribute is refused (the page's CSP
// forbids inline styles), classes do the styling.

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'text') el.textContent = String(value);
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
      else if (key === 'style') throw new Error('inline styles are not allowed (CSP)');
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

export const $ = (id) => document.getElementById(id);

// A <dl> filled with [term, value] pairs; values may be nodes. Falsy terms are skipped.
export function fillKv(dl, pairs) {
  clear(dl);
  for (const pair of pairs) {
    if (!pair) continue;
    const [term, value, cls] = pair;
    dl.append(h('dt', null, term), h('dd', cls ? { class: cls } : null, value ?? '—'));
  }
  return dl;
}

// --- formatting --------------------------------------------------------------------------

const numberFormat = new Intl.NumberFormat();

export function fmtNum(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  return numberFormat.format(n);
}

export function fmtRate(perSecond) {
  if (perSecond === null || perSecond === undefined || !Number.isFinite(perSecond)) return '—';
  if (perSecond >= 100) return perSecond.toFixed(0) + '/s';
  if (perSecond >= 10) return perSecond.toFixed(1) + '/s';
  return perSecond.toFixed(2) + '/s';
}

export function fmtBytes(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(n < 10 ? 1 : 0) : n} ${units[i]}`;
}

export function fmtSeconds(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  if (s === 0) return '0';
  if (s < 0.001) return (s * 1e6).toFixed(0) + ' µs';
  if (s < 1) return (s * 1000).toFixed(s < 0.01 ? 2 : s < 0.1 ? 1 : 0) + ' ms';
  if (s < 120) return s.toFixed(s < 10 ? 2 : 1) + ' s';
  return fmtDuration(s);
}

export function fmtDuration(totalSeconds) {
  if (totalSeconds === null || totalSeconds === undefined || !Number.isFinite(totalSeconds)) return '—';
  let s = Math.max(0, Math.round(totalSeconds));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hr = Math.floor(s / 3600); s -= hr * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return `${d}d ${hr}h`;
  if (hr) return `${hr}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// An RFC 3339 time shown in the browser's time zone: the time alone when it is today,
// otherwise date and time. Unparseable input is shown as given.
export function fmtTime(iso) {
  if (!iso) return '—';
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return String(iso);
  const time = `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}.${pad(t.getMilliseconds(), 3)}`;
  const now = new Date();
  if (t.toDateString() === now.toDateString()) return time;
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${time}`;
}

// A <time> element: local text, the exact value as datetime and tooltip.
export function timeEl(iso) {
  return h('time', iso ? { datetime: iso, title: iso } : null, fmtTime(iso));
}

export function localDate(d = new Date()) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function utcDate(d = new Date()) {
  return d.toISOString().slice(0, 10);
}

export function prettyJson(value) {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

// A badge: kind picks the colour (ok, bad, warn, info, muted).
export function badge(text, kind) {
  return h('span', { class: `badge badge-${kind}` }, text);
}

// A button that toggles a panel, wired for screen readers (aria-expanded/controls).
let panelSeq = 0;
export function disclosure(summaryChildren, buildPanel, { expanded = false, onToggle, key } = {}) {
  const id = `panel-${++panelSeq}`;
  const button = h('button', {
    type: 'button', class: 'row-toggle', 'aria-expanded': String(expanded), 'aria-controls': id,
    dataset: key ? { key } : undefined,
  }, h('span', { class: 'chev', 'aria-hidden': 'true' }), summaryChildren);
  const panel = h('div', { class: 'row-panel', id, hidden: !expanded });
  let built = false;
  const show = (open) => {
    if (open && !built) { panel.append(buildPanel()); built = true; }
    panel.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
  };
  if (expanded) show(true);
  button.addEventListener('click', () => {
    const open = button.getAttribute('aria-expanded') !== 'true';
    show(open);
    if (onToggle) onToggle(open);
  });
  return { button, panel };
}

// Keeps the element with data-key focused across a re-render of `container`.
export function rerenderKeepingFocus(container, render) {
  const active = document.activeElement;
  const key = active && container.contains(active) && active.dataset ? active.dataset.key : null;
  render();
  if (key) {
    const again = container.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (again) again.focus({ preventScroll: true });
  }
}
