// calls — the FreeSWITCH call records (GET /api/v1/calls?limit=&offset=&domain=), live
// and finished, newest first, a page at a time. "Live calls only" and the search filter
// the page loaded.

import { request, qs } from './api.js';
import { $, h, clear, fmtNum, fmtDuration, badge, rerenderKeepingFocus } from './dom.js';
import { addDomains, registerDomainSelect } from './store.js';

const PAGE = 50;

// duration/billsec: a string in the seed form ("62", "" when unknown), a number or null
// in the typed form.
function seconds(v) {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

const st = { offset: 0, calls: [], text: null, error: null, search: '' };

export function init() {
  registerDomainSelect($('calls-domain'));
  $('calls-domain').addEventListener('change', () => {
    st.offset = 0;
    poll(true);
  });
  $('calls-live').addEventListener('change', render);
  let timer = 0;
  $('calls-search').addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      st.search = $('calls-search').value.trim().toLowerCase();
      render();
    }, 120);
  });
  $('calls-form').addEventListener('submit', (ev) => ev.preventDefault());
  $('calls-refresh').addEventListener('click', () => poll(true));
  $('calls-newer').addEventListener('click', () => {
    st.offset = Math.max(0, st.offset - PAGE);
    poll(true);
  });
  $('calls-older').addEventListener('click', () => {
    st.offset += PAGE;
    poll(true);
  });
}

export function show() {
  poll(true);
}

export async function poll(force = false) {
  try {
    const text = await request(`/api/v1/calls${qs({ limit: PAGE, offset: st.offset, domain: $('calls-domain').value })}`, { raw: true });
    st.error = null;
    if (!force && text === st.text) return;
    st.text = text;
    st.calls = JSON.parse(text).calls || [];
    addDomains(st.calls.map((c) => c.domain));
  } catch (e) {
    st.error = e;
  }
  render();
}

const STATE_KIND = { answered: 'ok', bridged: 'ok', missed: 'warn', unknown: 'muted', dialing: 'info', ringing: 'info', early: 'info', hanging_up: 'info' };

function render() {
  const liveOnly = $('calls-live').checked;
  const q = st.search;
  const calls = st.calls.filter((c) => (!liveOnly || c.live) &&
    (!q || [c.call_id, c.sip_call_id, c.from_number, c.to_number, c.event_id, c.hotline].some((v) => v && String(v).toLowerCase().includes(q))));
  const tbody = $('calls-table').tBodies[0];
  rerenderKeepingFocus(tbody, () => {
    clear(tbody);
    for (const c of calls) {
      const stateCell = h('td', { 'data-label': 'State' },
        c.live ? badge('live', 'live') : null, ' ', badge(c.state || '?', STATE_KIND[c.state] || 'muted'));
      tbody.append(h('tr', { class: c.live ? 'row-live' : null },
        stateCell,
        h('td', { 'data-label': 'Domain' }, c.domain || '—'),
        h('td', { 'data-label': 'From' }, c.from_number || '—'),
        h('td', { 'data-label': 'To' }, c.to_number || '—'),
        h('td', { 'data-label': 'Direction' }, c.direction || '—'),
        h('td', { 'data-label': 'Started' }, c.time_started || '—'),
        h('td', { 'data-label': 'Duration', class: 'num' },
          seconds(c.duration) !== null ? fmtDuration(seconds(c.duration)) : c.live ? 'in progress' : '—'),
        h('td', { 'data-label': 'Status' }, c.status || (c.live ? '' : '—')),
        h('td', { 'data-label': 'Hangup cause' }, c.hangup_cause || '—'),
        h('td', { 'data-label': 'Node' }, c.node || '—'),
        h('td', { 'data-label': 'Call ID', class: 'mono' }, c.call_id || '—')));
    }
    if (!calls.length) {
      tbody.append(h('tr', null, h('td', { colspan: 11, class: 'empty' },
        st.error ? '' : st.calls.length ? 'No call on this page matches.' : 'No call records (FreeSWITCH nodes are configured under esl:).')));
    }
  });
  const s = $('calls-summary');
  s.classList.toggle('error', Boolean(st.error));
  const live = st.calls.filter((c) => c.live).length;
  s.textContent = st.error
    ? `Could not load calls: ${st.error.message}`
    : `${fmtNum(calls.length)} call(s) shown · ${fmtNum(live)} live on this page`;
  $('calls-newer').disabled = st.offset === 0;
  $('calls-older').disabled = st.calls.length < PAGE;
  $('calls-page').textContent = st.calls.length ? `${fmtNum(st.offset + 1)}–${fmtNum(st.offset + st.calls.length)}` : '';
}
