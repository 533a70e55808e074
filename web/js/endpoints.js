// endpoints — the Overview's "Endpoints" panel: one row per delivery endpoint from the
// "endpoints" array of /api/v1/stats (state, queue, parked records, last error, next try),
// the unhealthy ones first, and the banner's line about them. An answer without the
// array (an eventhub that does not report endpoints) hides the panel and adds nothing.
//
// Unhealthy: the breaker open or half-open, failing, paused by a Retry-After, retired,
// events parked in the retry stream, or a queue that grew over the last few polls.
// Rate-limited alone is not: the limit is configured, the queue is what shows trouble.
// Labels are the endpoints' redacted URLs; the secret-bearing URL never reaches here.

import { serverNow } from './api.js';
import { $, h, clear, badge, fmtNum, fmtDuration } from './dom.js';

const MAX_ROWS = 200;
const GROWTH_POLLS = 5; // a queue that grew across this many polls (about 10 s) is backing up

// text, badge kind, sort rank, tooltip; kinds are the palette's (style.css)
const STATES = {
  open: ['open', 'bad', 0, 'Circuit breaker open: no calls until the cooldown ends'],
  half_open: ['half-open', 'probe', 1, 'Circuit breaker half-open: a trial call decides'],
  failing: ['failing', 'warn', 2, 'The last calls failed; the breaker is still closed'],
  paused: ['paused', 'info', 3, 'The endpoint asked to wait (Retry-After)'],
  retired: ['retired', 'muted', 4, 'No longer in the routes: its parked events are dead-lettered'],
  rate_limited: ['rate-limited', 'live', 5, 'Calls wait for the configured rate limit'],
  healthy: ['healthy', 'ok', 6, 'The last call answered 2xx'],
};
const UNHEALTHY = new Set(['open', 'half_open', 'failing', 'paused', 'retired']);

const waitingSeen = new Map(); // endpoint key → its last GROWTH_POLLS "waiting" values

const keyOf = (e) => e.key || `${e.domain}\n${e.label}`;

function grew(samples) {
  if (samples.length < GROWTH_POLLS) return false;
  for (let i = 1; i < samples.length; i++) if (samples[i] < samples[i - 1]) return false;
  return samples[samples.length - 1] > samples[0];
}

// Why an endpoint needs an eye (a short phrase, for the banner), or null.
function problemOf(e, growing) {
  if (UNHEALTHY.has(e.state)) return STATES[e.state][0];
  if (e.parked > 0) return 'with parked events';
  if (growing) return 'backing up';
  return null;
}

// Once per /api/v1/stats answer: the rows sorted (unhealthy first) with what is wrong
// with each, or null when the answer has no "endpoints".
export function assess(stats) {
  if (!stats || !Array.isArray(stats.endpoints)) {
    waitingSeen.clear();
    return null;
  }
  const seen = new Set();
  const rows = stats.endpoints.map((e) => {
    const key = keyOf(e);
    seen.add(key);
    const samples = waitingSeen.get(key) || [];
    samples.push(Number(e.waiting) || 0);
    if (samples.length > GROWTH_POLLS) samples.shift();
    waitingSeen.set(key, samples);
    const growing = grew(samples);
    return { e, growing, problem: problemOf(e, growing), rank: (STATES[e.state] || STATES.healthy)[2] };
  });
  for (const key of waitingSeen.keys()) if (!seen.has(key)) waitingSeen.delete(key);
  rows.sort((a, b) => (a.problem ? 0 : 1) - (b.problem ? 0 : 1) || a.rank - b.rank
    || String(a.e.domain).localeCompare(String(b.e.domain)) || String(a.e.label).localeCompare(String(b.e.label)));
  return { rows, unhealthy: rows.filter((r) => r.problem) };
}

// The banner's line: "1 endpoint open: <label> (domain)", "3 endpoints unhealthy: 2 open, 1 failing".
export function issue(assessment) {
  if (!assessment || !assessment.unhealthy.length) return null;
  const bad = assessment.unhealthy;
  if (bad.length === 1) {
    const { e, problem } = bad[0];
    return { level: 'warn', text: `1 endpoint ${problem}: ${e.label} (${e.domain})` };
  }
  const counts = new Map();
  for (const r of bad) counts.set(r.problem, (counts.get(r.problem) || 0) + 1);
  const parts = [...counts].map(([problem, n]) => `${fmtNum(n)} ${problem}`);
  return { level: 'warn', text: `${fmtNum(bad.length)} endpoints unhealthy: ${parts.join(', ')}` };
}

export function render(assessment) {
  const panel = $('ov-endpoints');
  panel.hidden = !assessment;
  if (!assessment) return;
  const tbody = clear($('endpoints-table').tBodies[0]);
  const { rows } = assessment;
  if (!rows.length) {
    tbody.append(h('tr', null, h('td', { colspan: 9, class: 'empty' }, 'No endpoint is configured.')));
  }
  for (const r of rows.slice(0, MAX_ROWS)) tbody.append(row(r));
  const more = $('endpoints-more');
  const hiddenRows = rows.length - MAX_ROWS;
  more.hidden = hiddenRows <= 0;
  more.textContent = hiddenRows > 0 ? `… ${fmtNum(hiddenRows)} more (healthy ones are listed last)` : '';
}

function row({ e, growing }) {
  const [text, kind, , title] = STATES[e.state] || [String(e.state || 'unknown'), 'muted', 6, ''];
  const state = badge(text, kind);
  if (title) state.title = title;
  const failures = Number(e.consecutive_failures) || 0;
  return h('tr', { dataset: { state: e.state || '', domain: e.domain || '' } },
    h('td', { 'data-label': 'Domain' }, e.domain || '—'),
    h('td', { 'data-label': 'Endpoint', class: 'url' }, e.label || '—'),
    h('td', { 'data-label': 'State' }, state),
    h('td', { 'data-label': 'In flight', class: 'num' }, fmtNum(e.in_flight)),
    h('td', { 'data-label': 'Waiting', class: `num${growing ? ' warn-text' : ''}` },
      fmtNum(e.waiting), growing ? ' (growing)' : null),
    h('td', { 'data-label': 'Parked', class: `num${e.parked > 0 ? ' warn-text' : ''}` },
      e.parked < 0 ? h('span', { class: 'muted', title: 'The retry stream did not answer' }, 'unknown') : fmtNum(e.parked)),
    h('td', { 'data-label': 'Failures in a row', class: `num${failures ? ' bad-text' : ''}` }, fmtNum(failures)),
    h('td', { 'data-label': 'Last error', class: e.last_error ? 'err-cell bad-text' : 'muted' }, e.last_error || '—'),
    h('td', { 'data-label': 'Next try' }, nextTry(e.next_try_at)));
}

// "in 12 s" from an RFC 3339 time, against eventhub's clock (api.js).
function nextTry(iso) {
  if (!iso) return '—';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return String(iso);
  const s = (at - serverNow()) / 1000;
  let text;
  if (s < 0.5) text = 'now';
  else if (s < 120) text = `in ${Math.round(s)} s`;
  else text = `in ${fmtDuration(s)}`;
  return h('time', { datetime: iso, title: iso }, text);
}
