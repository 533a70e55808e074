// render — pieces shared by the events, log and dead-letter views: status badges,
// endpoint tables, attempt lists, payload blocks, and the text a search looks into.

import { h, badge, fmtNum, prettyJson, timeEl } from './dom.js';

const STATUS = {
  successful: ['delivered', 'ok'],
  forwarded: ['delivered', 'ok'],
  pending: ['pending', 'info'],
  received: ['received', 'info'],
  failed: ['failed', 'warn'],
  dead_lettered: ['dead-lettered', 'bad'],
};

export function statusBadge(status, willRetry) {
  const [text, kind] = STATUS[status] || [status || 'unknown', 'muted'];
  if (status === 'failed') return badge(willRetry ? 'failed · retrying' : 'failed', willRetry ? 'warn' : 'bad');
  return badge(text, kind);
}

// The call's id as senders name it: call_id, else a FreeSWITCH Unique-ID.
export function callIdOf(payload) {
  if (!payload || typeof payload !== 'object') return null;
  return payload.call_id || payload['Unique-ID'] || payload.uuid || null;
}

// Endpoint results of one attempt.
export function endpointsTable(endpoints, caption) {
  if (!endpoints || !endpoints.length) return h('p', { class: 'muted' }, 'No endpoint was called.');
  const rows = endpoints.map((e) => {
    let result;
    if (e.delivered && e.called === false) result = badge('done earlier', 'muted');
    else if (e.delivered) result = badge('delivered', 'ok');
    else result = badge('failed', 'bad');
    return h('tr', { class: e.delivered ? null : 'row-bad' },
      h('td', { class: 'url' }, e.url),
      h('td', { class: 'num' }, e.status === null || e.status === undefined ? '—' : String(e.status)),
      h('td', null, result),
      h('td', { class: e.error ? 'bad-text' : 'muted' }, e.error || ''));
  });
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'grid grid-tight' },
      h('caption', { class: caption ? null : 'sr-only' }, caption || 'Endpoint results'),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'Endpoint'), h('th', { scope: 'col', class: 'num' }, 'HTTP'),
        h('th', { scope: 'col' }, 'Result'), h('th', { scope: 'col' }, 'Error'))),
      h('tbody', null, rows)));
}

export function attemptsList(attempts, omitted) {
  const list = h('ol', { class: 'attempts' });
  if (omitted) list.append(h('li', { class: 'muted' }, `${fmtNum(omitted)} earlier attempt(s) not kept`));
  for (const a of attempts || []) {
    const failedEndpoints = (a.endpoints || []).filter((e) => !e.delivered);
    list.append(h('li', null,
      h('span', { class: 'attempt-n' }, `Attempt ${a.attempt}`), ' ', timeEl(a.at), ' ',
      statusBadge(a.outcome, a.will_retry),
      a.reason ? h('span', { class: 'muted' }, ` ${a.reason}`) : null,
      a.detail ? h('div', { class: 'attempt-detail' }, a.detail) : null,
      failedEndpoints.length === 0 && (a.endpoints || []).length
        ? h('div', { class: 'muted' }, `${a.endpoints.length} endpoint(s) OK`)
        : null));
  }
  if (!list.children.length) list.append(h('li', { class: 'muted' }, 'No delivery attempt yet.'));
  return list;
}

export function payloadBlock(payload, { truncated = false, bytes } = {}) {
  return h('div', { class: 'payload' },
    h('h4', null, 'Payload', truncated ? h('span', { class: 'muted' }, ` (cut: ${fmtNum(bytes)} bytes in full)`) : null),
    h('pre', { class: 'code', tabindex: '0', 'aria-label': 'Event payload' }, prettyJson(payload)));
}

// Lower-cased text a search matches: ids plus the whole payload.
export function searchText(...parts) {
  return parts
    .map((p) => (p === null || p === undefined ? '' : typeof p === 'string' ? p : safeStringify(p)))
    .join('\n')
    .toLowerCase();
}

function safeStringify(v) {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

// "Will it be retried?" in words.
export function retryWords(ev) {
  if (ev.status === 'successful') return 'No: delivered to every endpoint.';
  if (ev.status === 'pending') return 'Waiting for its first delivery attempt.';
  if (ev.status === 'dead_lettered') {
    return `No: dead-lettered${ev.reason ? ` (${ev.reason})` : ''}. Replay it from Dead letters once the endpoint is fixed.`;
  }
  if (ev.will_retry) {
    return `Yes: attempt ${ev.delivery_attempt + 1} of ${ev.max_deliver} will follow.`;
  }
  return 'No more attempts from this instance.';
}
