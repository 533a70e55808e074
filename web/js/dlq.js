// dlq — dead letters: why each event was given up on, and replaying them.
//
// GET /api/v1/dlq?domain=&limit= (newest first; "Load older" continues with before=),
// POST /api/v1/dlq/{seq}/replay for one record, POST /api/v1/dlq/replay?domain= for a
// domain's records (oldest first, up to 1000 per call, continued with after=). A replay
// deletes the record, so the list is read again after each one. A listing that ran
// into the server's scan limits answers "partial": true with fewer records than asked;
// "Load older" continues from where it stopped.

import { request, qs } from './api.js';
import { $, h, clear, fillKv, disclosure, rerenderKeepingFocus, timeEl, fmtNum, badge } from './dom.js';
import { callIdOf, endpointsTable, payloadBlock, searchText } from './render.js';
import { addDomains, registerDomainSelect, setSelectValue } from './store.js';

const PAGE = 50;

const st = {
  records: [],
  text: null,
  totals: null,
  nextBefore: null,
  partial: null, // the last page's answer when it was partial
  pages: 1,
  error: null,
  search: '',
  expanded: new Set(),
  busy: false,
};

let onChange = () => {};
let searchTimer = 0;

export function init(ctx) {
  onChange = ctx.onDlqChange || onChange;
  registerDomainSelect($('dlq-domain'));
  $('dlq-domain').addEventListener('change', () => {
    st.pages = 1;
    st.text = null;
    updateDomainButton();
    poll(true);
  });
  $('dlq-search').addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      st.search = $('dlq-search').value.trim().toLowerCase();
      render();
    }, 120);
  });
  $('dlq-form').addEventListener('submit', (ev) => ev.preventDefault());
  $('dlq-refresh').addEventListener('click', () => poll(true));
  $('dlq-more').addEventListener('click', loadOlder);
  $('dlq-replay-domain').addEventListener('click', () => replayDomain($('dlq-domain').value));
  updateDomainButton();
}

export function show(params = {}) {
  if (params.domain !== undefined) {
    setSelectValue($('dlq-domain'), params.domain);
    st.pages = 1;
    st.text = null;
    updateDomainButton();
  }
  if (params.search !== undefined) {
    $('dlq-search').value = params.search;
    st.search = params.search.toLowerCase();
  }
  poll(true);
}

function updateDomainButton() {
  const d = $('dlq-domain').value;
  const button = $('dlq-replay-domain');
  button.hidden = !d;
  button.textContent = d ? `Replay all for ${d}` : 'Replay all for domain';
}

// Reads the newest records again, as many as were loaded (older pages included).
export async function poll(force = false) {
  if (st.busy && !force) return;
  const limit = Math.min(1000, PAGE * st.pages);
  try {
    const text = await request(`/api/v1/dlq${qs({ domain: $('dlq-domain').value, limit })}`, { raw: true });
    st.error = null;
    if (!force && text === st.text) return;
    st.text = text;
    const r = JSON.parse(text);
    st.records = r.records || [];
    st.totals = r;
    st.nextBefore = r.truncated && r.next_before !== undefined ? r.next_before : null;
    st.partial = r.partial ? r : null;
    addDomains(st.records.map((x) => x.record && x.record.domain));
  } catch (e) {
    st.error = e;
  }
  render();
}

async function loadOlder() {
  if (st.nextBefore === null) return;
  try {
    const r = await request(`/api/v1/dlq${qs({ domain: $('dlq-domain').value, limit: PAGE, before: st.nextBefore })}`);
    st.records = st.records.concat(r.records || []);
    st.nextBefore = r.truncated && r.next_before !== undefined ? r.next_before : null;
    st.partial = r.partial ? r : null;
    st.pages++;
    st.text = null;
    addDomains((r.records || []).map((x) => x.record && x.record.domain));
  } catch (e) {
    st.error = e;
  }
  render();
}

function render() {
  const list = $('dlq-list');
  const q = st.search;
  const shown = st.records.filter((x) => !q || searchText(x.record && x.record.event_id, x.record).includes(q));
  rerenderKeepingFocus(list, () => {
    clear(list);
    const byDomain = new Map();
    for (const x of shown) {
      const d = (x.record && x.record.domain) || '(unknown domain)';
      if (!byDomain.has(d)) byDomain.set(d, []);
      byDomain.get(d).push(x);
    }
    for (const domain of [...byDomain.keys()].sort()) {
      const items = byDomain.get(domain);
      list.append(h('section', { class: 'group', 'aria-label': `Dead letters of ${domain}`, dataset: { domain } },
        h('header', { class: 'group-head' },
          h('h3', null, domain),
          h('span', { class: 'group-counts' }, h('span', { class: 'count count-bad' }, `${fmtNum(items.length)} shown`)),
          h('button', {
            type: 'button', class: 'btn btn-small', 'aria-label': `Replay all dead letters of ${domain}`,
            dataset: { key: `replay-all|${domain}` }, onclick: () => replayDomain(domain),
          }, 'Replay all')),
        h('ul', { class: 'rows' }, items.map(recordRow))));
    }
    if (!shown.length) {
      list.append(h('p', { class: 'empty' }, st.error ? '' : q ? 'No dead letter matches the search.'
        : st.partial ? 'None found in the part of the dead-letter stream read so far: Load older reads on.'
          : 'No dead letters. Events land here when every attempt failed or no route matched.'));
    }
  });
  const s = $('dlq-summary');
  s.classList.toggle('error', Boolean(st.error));
  if (st.error) s.textContent = `Could not load dead letters: ${st.error.message}`;
  else if (st.totals) {
    const total = st.totals.domain_records !== undefined ? st.totals.domain_records : st.totals.totals && st.totals.totals.messages;
    s.textContent = `${fmtNum(shown.length)} of ${fmtNum(total)} dead letter(s) shown` +
      (st.totals.stream ? ` · stream ${st.totals.stream}` : '') + (q ? ` · matching “${q}”` : '') +
      (st.partial ? ` · partial answer (${fmtNum(st.partial.scanned)} records scanned): Load older continues` : '');
  }
  $('dlq-more').hidden = st.nextBefore === null;
}

function recordRow(x) {
  const r = x.record || {};
  const key = `dlq|${x.seq}`;
  const callId = callIdOf(r.event);
  const failing = (r.endpoints || []).filter((e) => !e.delivered);
  const { button, panel } = disclosure([
    badge(r.reason || 'dead letter', 'bad'),
    h('span', { class: 'when' }, timeEl(r.dead_lettered_at || x.time)),
    h('span', { class: 'ident' }, callId ? h('strong', null, callId) : null,
      h('span', { class: 'sub' }, r.event_id || `dead letter ${x.seq}`)),
    h('span', { class: 'attempt' }, `${r.attempts ?? '?'} attempt(s)`),
    h('span', { class: 'err' }, failing.length
      ? failing.map((e) => e.error || `HTTP ${e.status}`).join('; ')
      : r.detail || ''),
  ], () => recordDetail(x), { expanded: st.expanded.has(key), key, onToggle: (open) => (open ? st.expanded.add(key) : st.expanded.delete(key)) });
  const replay = h('button', {
    type: 'button', class: 'btn btn-small row-action', dataset: { key: `replay|${x.seq}` },
    'aria-label': `Replay dead letter ${x.seq}${r.event_id ? ` (event ${r.event_id})` : ''}`,
    onclick: (ev) => replayOne(x.seq, ev.currentTarget),
  }, 'Replay');
  return h('li', { class: 'row row-dead_lettered', dataset: { seq: String(x.seq), eventId: r.event_id || '' } },
    h('div', { class: 'row-line' }, button, replay), panel);
}

function recordDetail(x) {
  const r = x.record || {};
  return h('div', { class: 'detail' },
    fillKv(h('dl', { class: 'kv kv-wide' }), [
      ['Reason', r.reason],
      ['Detail', r.detail, 'bad-text'],
      ['Event ID', r.event_id || '—'],
      ['Domain', r.domain],
      ['Attempts', r.attempts === undefined ? '—' : String(r.attempts)],
      ['Dead-lettered', timeEl(r.dead_lettered_at || x.time)],
      ['Original', `${r.stream || ''} seq ${r.stream_seq ?? '—'} (${r.subject || ''})`],
      ['Dead-letter seq', `${x.seq} (${x.subject})`],
      r.event_omitted && ['Event', 'too large to embed: a replay reads it from the event stream'],
    ]),
    h('h4', null, 'Endpoints (last attempt)'),
    endpointsTable(r.endpoints),
    r.event !== undefined ? payloadBlock(r.event) : r.event_raw !== undefined ? payloadBlock(r.event_raw) : null);
}

function showResult(kind, children) {
  const box = $('dlq-result');
  box.className = `result result-${kind}`;
  box.setAttribute('role', kind === 'bad' ? 'alert' : 'status');
  box.replaceChildren(...children);
  box.hidden = false;
}

async function replayOne(seq, button) {
  st.busy = true;
  if (button) button.disabled = true;
  try {
    const r = await request(`/api/v1/dlq/${encodeURIComponent(seq)}/replay`, { method: 'POST' });
    showResult('ok', [
      r.duplicate
        ? `Dead letter ${seq} was already replayed (the stream kept the first copy).`
        : `Dead letter ${seq} replayed: event ${r.event_id || ''} of ${r.domain} is back in the stream as seq ${r.stream_seq}.`,
      r.record_deleted === false ? ' The record could not be deleted (see the log).' : '',
    ]);
  } catch (e) {
    showResult('bad', [`Replay of dead letter ${seq} failed: ${e.message}`]);
    if (button) button.disabled = false;
  } finally {
    st.busy = false;
  }
  await poll(true);
  onChange();
}

async function replayDomain(domain) {
  if (!domain) return;
  st.busy = true;
  const button = $('dlq-replay-domain');
  button.disabled = true;
  try {
    let replayed = 0;
    let duplicates = 0;
    let notReplayable = 0;
    let failed = 0;
    let remaining = 0;
    let stopped = null;
    let after;
    // a call replays at most `limit` and stops at the server's scan limits; go on from
    // its cursor while it says there is more
    for (let round = 0; round < 50; round++) {
      const r = await request(`/api/v1/dlq/replay${qs({ domain, limit: 1000, after })}`, { method: 'POST' });
      replayed += r.replayed || 0;
      duplicates += r.duplicates || 0;
      notReplayable += r.not_replayable || 0;
      failed += r.failed || 0;
      remaining = r.remaining || 0;
      stopped = r.stopped || null;
      if (!r.truncated || stopped || !(r.replayed > 0 || r.partial)) break;
      after = r.next_after;
    }
    const kind = failed || stopped ? 'bad' : notReplayable ? 'warn' : 'ok';
    showResult(kind, [
      `${domain}: ${fmtNum(replayed)} dead letter(s) replayed`,
      duplicates ? `, ${fmtNum(duplicates)} duplicate(s)` : '',
      notReplayable ? `, ${fmtNum(notReplayable)} not replayable (left in place)` : '',
      failed ? `, ${fmtNum(failed)} failed` : '',
      remaining ? `, ${fmtNum(remaining)} remaining` : '',
      stopped ? `. Stopped: ${stopped}` : '.',
    ]);
  } catch (e) {
    showResult('bad', [`Replay of ${domain}'s dead letters failed: ${e.message}`]);
  } finally {
    button.disabled = false;
    st.busy = false;
  }
  await poll(true);
  onChange();
}
