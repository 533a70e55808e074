// events — "did that call's event reach the tenant?"
//
// Two sources behind one set of filters:
//   recent (live): GET /api/v1/events?type=&domain=&limit=, polled every tick; the list is
//     rebuilt only when the answer changed, keeping expanded rows and focus;
//   log files: GET /api/v1/logs/domains, then GET /api/v1/logs?domain=&date= for a UTC day,
//     lines grouped by event into one row each (loaded on demand, "Load more" pages).
// The search box filters what is loaded, client-side, on event_id, call_id and the
// whole payload.

import { request, qs } from './api.js';
import { $, h, clear, fillKv, disclosure, rerenderKeepingFocus, timeEl, fmtNum, fmtTime, utcDate } from './dom.js';
import { statusBadge, callIdOf, endpointsTable, attemptsList, payloadBlock, searchText, retryWords } from './render.js';
import { addDomains, registerDomainSelect, refillDomainSelect, setSelectValue } from './store.js';

const LOG_PAGE = 1000;
const ROWS_PER_GROUP = 10; // more behind "Show all" (a search shows every match)

const st = {
  source: 'memory',
  type: 'all',
  search: '',
  expanded: new Set(),
  openGroups: new Set(), // domains whose every row is shown
  memText: null, // last /api/v1/events answer, as text
  mem: null,
  memError: null,
  memAt: 0,
  logDomains: null, // [{domain, dates:[{date}]}]
  logDomain: '',
  logDate: '',
  logLines: [],
  logNext: null,
  logPartial: false,
  logError: null,
  logStats: null,
};

let navigate = () => {};
let searchTimer = 0;

const domainSelect = () => $('ev-domain');

export function init(ctx) {
  navigate = ctx.navigate;
  registerDomainSelect(domainSelect());
  for (const input of document.querySelectorAll('input[name="ev-source"]')) {
    input.addEventListener('change', () => setSource(input.value));
  }
  for (const input of document.querySelectorAll('input[name="ev-type"]')) {
    input.addEventListener('change', () => {
      st.type = input.value;
      if (st.source === 'memory') poll(true);
      else render();
    });
  }
  domainSelect().addEventListener('change', () => {
    if (st.source === 'memory') {
      st.memText = null;
      poll(true);
    } else {
      st.logDomain = domainSelect().value;
      pickLogDate();
      loadLogs(false);
    }
  });
  $('ev-date').addEventListener('change', () => {
    st.logDate = $('ev-date').value;
    loadLogs(false);
  });
  $('ev-limit').addEventListener('change', () => {
    st.memText = null;
    poll(true);
  });
  $('ev-search').addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      st.search = $('ev-search').value.trim().toLowerCase();
      render();
    }, 120);
  });
  $('ev-form').addEventListener('submit', (ev) => ev.preventDefault());
  $('ev-refresh').addEventListener('click', () => (st.source === 'memory' ? poll(true) : loadLogs(false)));
  $('ev-more').addEventListener('click', () => loadLogs(true));
}

// params: {domain, search, source}
export function show(params = {}) {
  if (params.source && params.source !== st.source) {
    $(`ev-source-${params.source}`).checked = true;
    setSource(params.source, params.domain);
    return;
  }
  if (params.domain !== undefined) {
    if (st.source === 'memory') setSelectValue(domainSelect(), params.domain);
    else selectLogDomain(params.domain);
  }
  if (params.search !== undefined) {
    $('ev-search').value = params.search;
    st.search = params.search.toLowerCase();
  }
  if (st.source === 'memory') {
    st.memText = null;
    poll(true);
  } else {
    loadLogs(false);
  }
}

export async function poll(force = false) {
  if (st.source !== 'memory') return; // log files are read on demand
  const params = { type: st.type, domain: domainSelect().value, limit: $('ev-limit').value };
  try {
    const text = await request(`/api/v1/events${qs(params)}`, { raw: true });
    st.memError = null;
    st.memAt = Date.now();
    if (!force && text === st.memText) {
      renderSummary();
      return;
    }
    st.memText = text;
    st.mem = JSON.parse(text);
    const seen = new Set([
      ...Object.keys(st.mem.events_by_domain || {}),
      ...Object.keys(st.mem.failed_events_by_domain || {}),
    ]);
    addDomains(seen);
  } catch (e) {
    st.memError = e;
  }
  render();
}

function setSource(source, domain) {
  st.source = source;
  st.expanded.clear();
  const select = domainSelect();
  $('ev-date-field').hidden = source !== 'logs';
  $('ev-limit').closest('label').hidden = source !== 'memory';
  if (source === 'memory') {
    delete select.dataset.mode;
    select.replaceChildren();
    refillDomainSelect(select);
    setSelectValue(select, domain || '');
    st.memText = null;
    poll(true);
  } else {
    select.dataset.mode = 'logs';
    loadLogDomains(domain);
  }
}

// --- recent events (memory) ----------------------------------------------------------------

function render() {
  const list = $('ev-list');
  rerenderKeepingFocus(list, () => {
    clear(list);
    if (st.source === 'memory') renderMemory(list);
    else renderLogs(list);
  });
  renderSummary();
}

let shownCount = 0;
let shownGroups = 0;

function renderSummary() {
  const el = $('ev-summary');
  el.classList.toggle('error', Boolean(st.source === 'memory' ? st.memError : st.logError));
  if (st.source === 'memory') {
    if (st.memError) {
      el.textContent = `Could not load events: ${st.memError.message}`;
      return;
    }
    if (!st.mem) {
      el.textContent = 'Loading…';
      return;
    }
    el.textContent = `${fmtNum(shownCount)} event(s) in ${fmtNum(shownGroups)} domain(s)` +
      (st.search ? ` matching “${st.search}”` : '') +
      ` · recent events kept in memory · updated ${fmtTime(new Date(st.memAt).toISOString())}`;
  } else {
    if (st.logError) {
      el.textContent = `Could not read the log: ${st.logError.message}`;
      return;
    }
    if (!st.logStats) {
      el.textContent = st.logDomains && !st.logDomains.length
        ? 'No domain log files (log.domain_logging is off, or nothing was logged yet).'
        : 'Loading…';
      return;
    }
    const s = st.logStats;
    el.textContent = `${fmtNum(shownCount)} event(s) from ${fmtNum(st.logLines.length)} log line(s)` +
      (st.search ? ` matching “${st.search}”` : '') +
      ` · ${st.logDomain} on ${st.logDate} (UTC)` +
      ` · received ${fmtNum(s.received)}, forwarded ${fmtNum(s.forwarded)}, failed ${fmtNum(s.failed)}, dead-lettered ${fmtNum(s.dead_lettered)}` +
      (st.logNext !== null ? ' · more lines below' : '') +
      (st.logPartial && st.logNext === null ? ' · stopped at the server\'s time limit before this offset: the day is too large to page this deep' : '');
  }
}

function renderMemory(list) {
  shownCount = 0;
  shownGroups = 0;
  if (!st.mem) return;
  const byDomain = new Map();
  const add = (map) => {
    for (const [domain, events] of Object.entries(map || {})) {
      if (!byDomain.has(domain)) byDomain.set(domain, []);
      byDomain.get(domain).push(...events);
    }
  };
  add(st.mem.events_by_domain);
  add(st.mem.failed_events_by_domain);
  const q = st.search;
  for (const domain of [...byDomain.keys()].sort()) {
    const events = byDomain.get(domain)
      .filter((ev) => !q || searchText(ev.event_id, ev.stream_seq === null ? '' : String(ev.stream_seq), ev.payload).includes(q))
      .sort((a, b) => (b.received_at || '').localeCompare(a.received_at || '') || (b.stream_seq || 0) - (a.stream_seq || 0));
    if (!events.length) continue;
    shownGroups++;
    shownCount += events.length;
    const counts = countBy(events, (ev) => ev.status);
    list.append(group(`Events of ${domain}`, domain, [
      counts.successful ? statusCount(counts.successful, 'delivered', 'ok') : null,
      counts.pending ? statusCount(counts.pending, 'pending', 'info') : null,
      counts.failed ? statusCount(counts.failed, 'failed', 'warn') : null,
      counts.dead_lettered ? statusCount(counts.dead_lettered, 'dead-lettered', 'bad') : null,
    ], events, eventRow));
  }
  if (!shownGroups) list.append(emptyMessage());
  if (st.mem.truncated) list.append(h('p', { class: 'muted' }, 'The answer was cut at its size limit: narrow by domain.'));
}

// A domain's section: heading, counts, its first rows and a "Show all" button.
function group(label, domain, counts, items, rowFn) {
  const all = Boolean(st.search) || st.openGroups.has(domain) || items.length <= ROWS_PER_GROUP;
  const shown = all ? items : items.slice(0, ROWS_PER_GROUP);
  const key = `more|${st.source}|${domain}`;
  return h('section', { class: 'group', 'aria-label': label, dataset: { domain } },
    h('header', { class: 'group-head' }, h('h3', null, domain), h('span', { class: 'group-counts' }, counts)),
    h('ul', { class: 'rows' }, shown.map(rowFn)),
    all ? null : h('p', { class: 'group-more' }, h('button', {
      type: 'button', class: 'btn btn-small', dataset: { key },
      onclick: () => {
        st.openGroups.add(domain);
        render();
      },
    }, `Show all ${fmtNum(items.length)}`)));
}

function emptyMessage() {
  if (st.search) {
    return h('p', { class: 'empty' }, 'No loaded event matches. Widen the filters, or search the log files (older events) with the toggle above.');
  }
  return h('p', { class: 'empty' }, st.source === 'memory'
    ? 'No recent events for these filters. Events appear here as they arrive.'
    : 'No events in this log for these filters.');
}

function statusCount(n, label, kind) {
  return h('span', { class: `count count-${kind}` }, `${fmtNum(n)} ${label}`);
}

function countBy(list, fn) {
  const out = {};
  for (const x of list) {
    const k = fn(x);
    out[k] = (out[k] || 0) + 1;
  }
  return out;
}

const hostOf = (url) => {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
};

function failureText(endpoints) {
  return (endpoints || [])
    .filter((e) => !e.delivered)
    .map((e) => `${hostOf(e.url)}: ${e.error || (e.status ? `HTTP ${e.status}` : 'failed')}`)
    .join('; ');
}

function toggler(key) {
  return (open) => (open ? st.expanded.add(key) : st.expanded.delete(key));
}

function eventRow(ev) {
  const key = `m|${ev.domain}|${ev.event_id ?? `seq:${ev.stream_seq}`}`;
  const callId = callIdOf(ev.payload);
  const failures = ev.status === 'failed' || ev.status === 'dead_lettered' ? failureText(ev.endpoints) : '';
  const { button, panel } = disclosure([
    statusBadge(ev.status, ev.will_retry),
    h('span', { class: 'when' }, timeEl(ev.received_at)),
    h('span', { class: 'ident' }, callId ? h('strong', null, callId) : null,
      h('span', { class: 'sub' }, ev.event_id || `seq ${ev.stream_seq}`)),
    ev.delivery_attempt ? h('span', { class: 'attempt' }, `attempt ${ev.delivery_attempt}/${ev.max_deliver}`) : null,
    failures ? h('span', { class: 'err' }, failures) : null,
  ], () => eventDetail(ev, callId), { expanded: st.expanded.has(key), key, onToggle: toggler(key) });
  return h('li', { class: `row row-${ev.status}`, dataset: { eventId: ev.event_id || '' } }, button, panel);
}

function eventDetail(ev, callId) {
  return h('div', { class: 'detail' },
    fillKv(h('dl', { class: 'kv kv-wide' }), [
      ['Event ID', ev.event_id ?? '—'],
      callId && ['Call ID', callId],
      ['Domain', ev.domain],
      ['Stream sequence', ev.stream_seq === null ? 'not known yet' : String(ev.stream_seq)],
      ['Stored', timeEl(ev.received_at)],
      ['Last outcome', timeEl(ev.updated_at)],
      ['Status', statusBadge(ev.status, ev.will_retry)],
      ['Attempts', ev.delivery_attempt ? `${ev.delivery_attempt} of ${ev.max_deliver}` : 'none yet'],
      ['Will it be retried?', retryWords(ev), ev.will_retry ? 'warn-text' : null],
      ev.detail && ['Detail', ev.detail, 'bad-text'],
    ]),
    h('h4', null, 'Endpoints (latest attempt)'),
    endpointsTable(ev.endpoints),
    h('h4', null, 'Attempts'),
    attemptsList(ev.attempts, ev.attempts_omitted),
    payloadBlock(ev.payload, { truncated: ev.truncated, bytes: ev.payload_bytes }),
    ev.status === 'dead_lettered'
      ? h('p', null, h('button', {
        type: 'button', class: 'btn',
        onclick: () => navigate('dlq', { domain: ev.domain, search: ev.event_id || '' }),
      }, 'Open in Dead letters'))
      : null);
}

// --- log files -----------------------------------------------------------------------------

// example.com → example_com, the directory name the log API lists (see README "The event").
function logDirName(domain) {
  return [...new TextEncoder().encode(domain)]
    .map((b) => {
      const c = String.fromCharCode(b);
      if (/[A-Za-z0-9-]/.test(c)) return c;
      if (c === '.') return '_';
      return `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

async function loadLogDomains(wanted) {
  const select = domainSelect();
  try {
    const r = await request('/api/v1/logs/domains');
    st.logDomains = r.domains || [];
    st.logError = null;
  } catch (e) {
    st.logDomains = [];
    st.logError = e;
  }
  select.replaceChildren(...st.logDomains.map((d) => h('option', { value: d.domain }, d.domain)));
  if (!st.logDomains.length) {
    st.logStats = null;
    st.logLines = [];
    render();
    return;
  }
  selectLogDomain(wanted || st.logDomain);
  loadLogs(false);
}

function selectLogDomain(domain) {
  if (!st.logDomains || !st.logDomains.length) return;
  const names = st.logDomains.map((d) => d.domain);
  let pick = names[0];
  if (domain) {
    const dir = logDirName(domain.toLowerCase());
    pick = names.find((n) => n === domain || n === dir || n.toLowerCase() === dir.toLowerCase()) || pick;
  }
  st.logDomain = pick;
  domainSelect().value = pick;
  pickLogDate();
}

function pickLogDate() {
  const entry = (st.logDomains || []).find((d) => d.domain === st.logDomain);
  const dates = entry ? entry.dates.map((d) => d.date).sort() : [];
  const input = $('ev-date');
  if (dates.length) {
    input.min = dates[0];
    input.max = dates[dates.length - 1] > utcDate() ? dates[dates.length - 1] : utcDate();
    if (!dates.includes(st.logDate)) st.logDate = dates[dates.length - 1];
  } else if (!st.logDate) {
    st.logDate = utcDate();
  }
  input.value = st.logDate;
}

async function loadLogs(more) {
  if (st.source !== 'logs' || !st.logDomain || !st.logDate) return;
  const offset = more && st.logNext !== null ? st.logNext : 0;
  const params = { domain: st.logDomain, date: st.logDate, limit: LOG_PAGE, offset };
  try {
    const r = await request(`/api/v1/logs${qs(params)}`);
    const lines = [];
    for (const map of [r.events_by_domain, r.failed_events_by_domain]) {
      for (const list of Object.values(map || {})) lines.push(...list);
    }
    st.logLines = more ? st.logLines.concat(lines) : lines;
    st.logNext = r.next_offset === undefined ? null : r.next_offset;
    st.logPartial = Boolean(r.partial); // stopped at api.scan_timeout (next_offset continues, if any)
    st.logStats = more && st.logStats ? sumStats(st.logStats, r.stats) : r.stats;
    st.logError = null;
    if (!more) st.expanded.clear();
  } catch (e) {
    st.logError = e;
    if (!more) {
      st.logLines = [];
      st.logStats = null;
      st.logNext = null;
    }
  }
  $('ev-more').hidden = st.logNext === null;
  render();
}

function sumStats(a, b) {
  const out = { ...a };
  for (const k of ['received', 'forwarded', 'failed', 'dead_lettered', 'lines', 'total']) out[k] = (a[k] || 0) + (b[k] || 0);
  return out;
}

const DELIVERY_LINES = new Set(['forwarded', 'failed', 'dead_lettered']);

// Log lines → one entry per event, in the order written.
function groupLogLines(lines) {
  const groups = new Map();
  const ordered = lines.map((line, i) => [line, i])
    .sort((a, b) => (a[0].ts || '').localeCompare(b[0].ts || '') || a[1] - b[1])
    .map(([line]) => line);
  for (const line of ordered) {
    const key = line.event_id ? `e|${line.domain}|${line.event_id}` : `l|${line.type}|${line.ts}|${groups.size}`;
    let g = groups.get(key);
    if (!g) {
      g = { key: `log|${key}`, domain: line.domain, event_id: line.event_id || null, lines: [], payload: null, status: null };
      groups.set(key, g);
    }
    g.lines.push(line);
    if (line.stream_seq !== undefined) g.stream_seq = line.stream_seq;
    if (line.type === 'received' && line.event) g.payload = line.event;
    // the latest delivery line decides (a replayed dead letter can be delivered later)
    if (DELIVERY_LINES.has(line.type) || !g.status) {
      g.status = line.type;
      g.last = line;
    }
  }
  for (const g of groups.values()) g.first = g.lines[0].ts;
  return [...groups.values()];
}

function renderLogs(list) {
  shownCount = 0;
  shownGroups = 0;
  if (!st.logStats) {
    if (st.logDomains && !st.logDomains.length) list.append(emptyMessage());
    return;
  }
  const q = st.search;
  const groups = groupLogLines(st.logLines)
    .filter((g) => st.type === 'all' ||
      (st.type === 'successful' ? g.status === 'forwarded' : g.status === 'failed' || g.status === 'dead_lettered'))
    .filter((g) => !q || searchText(g.event_id, g.lines).includes(q))
    .sort((a, b) => (b.first || '').localeCompare(a.first || ''));
  shownCount = groups.length;
  const byDomain = new Map();
  for (const g of groups) {
    const d = g.domain || st.logDomain;
    if (!byDomain.has(d)) byDomain.set(d, []);
    byDomain.get(d).push(g);
  }
  shownGroups = byDomain.size;
  for (const domain of [...byDomain.keys()].sort()) {
    const items = byDomain.get(domain);
    const counts = countBy(items, (g) => g.status);
    list.append(group(`Logged events of ${domain}`, domain, [
      counts.forwarded ? statusCount(counts.forwarded, 'delivered', 'ok') : null,
      counts.received ? statusCount(counts.received, 'received only', 'info') : null,
      counts.failed ? statusCount(counts.failed, 'failed', 'warn') : null,
      counts.dead_lettered ? statusCount(counts.dead_lettered, 'dead-lettered', 'bad') : null,
    ], items, logRow));
  }
  if (!groups.length) list.append(emptyMessage());
}

function logRow(g) {
  const callId = callIdOf(g.payload);
  const last = g.last || {};
  const status = g.status === 'forwarded' ? 'successful' : g.status;
  const failures = g.status === 'failed' || g.status === 'dead_lettered' ? failureText(last.endpoints) : '';
  const freeText = !g.event_id && last.text ? last.text : '';
  const { button, panel } = disclosure([
    statusBadge(status, last.will_retry),
    h('span', { class: 'when' }, timeEl(g.first)),
    h('span', { class: 'ident' }, callId ? h('strong', null, callId) : null,
      h('span', { class: 'sub' }, g.event_id || freeText || last.type)),
    last.attempt ? h('span', { class: 'attempt' }, `attempt ${last.attempt}/${last.max_deliver}`) : null,
    h('span', { class: 'muted' }, `${g.lines.length} line(s)`),
    failures ? h('span', { class: 'err' }, failures) : null,
  ], () => logDetail(g, callId), { expanded: st.expanded.has(g.key), key: g.key, onToggle: toggler(g.key) });
  return h('li', { class: `row row-${status}`, dataset: { eventId: g.event_id || '' } }, button, panel);
}

function logDetail(g, callId) {
  const received = g.lines.find((l) => l.type === 'received');
  const timeline = h('ol', { class: 'attempts' });
  for (const line of g.lines) {
    timeline.append(h('li', null,
      timeEl(line.ts), ' ', statusBadge(line.type, line.will_retry),
      line.attempt ? h('span', { class: 'attempt-n' }, ` attempt ${line.attempt}/${line.max_deliver}`) : null,
      line.source ? h('span', { class: 'muted' }, ` via ${line.source}`) : null,
      line.duplicate ? h('span', { class: 'muted' }, ' (duplicate)') : null,
      line.reason ? h('span', { class: 'muted' }, ` ${line.reason}`) : null,
      line.detail ? h('div', { class: 'attempt-detail' }, line.detail) : null,
      line.text ? h('div', { class: 'attempt-detail' }, line.text) : null,
      line.endpoints && line.endpoints.length ? endpointsTable(line.endpoints) : null));
  }
  return h('div', { class: 'detail' },
    fillKv(h('dl', { class: 'kv kv-wide' }), [
      ['Event ID', g.event_id || '—'],
      callId && ['Call ID', callId],
      ['Domain', g.domain || st.logDomain],
      g.stream_seq !== undefined && ['Stream sequence', String(g.stream_seq)],
      received && ['Received', timeEl(received.ts)],
    ]),
    h('h4', null, 'Log lines'),
    timeline,
    g.payload ? payloadBlock(g.payload) : h('p', { class: 'muted' }, 'The payload is on the "received" line, not in this page of the log.'));
}
