// config — the routes serving now (GET /api/v1/config: secrets come redacted), when and
// how they were loaded, and the Reload button (POST /api/v1/config/reload): a file that
// does not load answers 400 with "errors" (file:line: key: message), shown as a list;
// the running routes stay.

import { request } from './api.js';
import { $, h, clear, fillKv, timeEl, fmtNum, badge, prettyJson } from './dom.js';
import { addDomains } from './store.js';

const st = { text: null, error: null };

export function init() {
  $('cfg-reload').addEventListener('click', reload);
}

export function show() {
  poll(true);
}

export async function poll(force = false) {
  try {
    const text = await request('/api/v1/config', { raw: true });
    st.error = null;
    if (!force && text === st.text) return;
    st.text = text;
    render(JSON.parse(text));
  } catch (e) {
    st.error = e;
    fillKv($('cfg-meta'), [['Error', `Could not load the configuration: ${e.message}`, 'bad-text']]);
  }
}

const SOURCE = { startup: 'at startup', file_change: 'file changed on disk', api: 'Reload button / API', sighup: 'SIGHUP' };

function render(c) {
  addDomains((c.routes || []).map((r) => r.domain));
  fillKv($('cfg-meta'), [
    ['File', c.path],
    ['Routes loaded', [timeEl(c.loaded_at), ` (${SOURCE[c.source] || c.source})`]],
    ['Reloads', `${fmtNum(c.reloads)} successful, ${fmtNum(c.reload_failures)} refused`],
    ['Watching the file', c.watch_config ? 'yes: saving the file reloads the routes' : 'no: use Reload or SIGHUP'],
    ['Routes', fmtNum(c.route_count)],
  ]);
  const last = $('cfg-last-error');
  if (c.last_error) {
    last.replaceChildren(
      h('strong', null, `The last reload (${c.last_error.trigger}, `, timeEl(c.last_error.at), ') was refused; the routes below are still serving:'),
      errorList(c.last_error.errors));
    last.hidden = false;
  } else {
    last.hidden = true;
    clear(last);
  }
  const tbody = clear($('cfg-routes').tBodies[0]);
  const routes = [...(c.routes || [])];
  if (c.default_route) routes.push({ ...c.default_route, isDefault: true });
  for (const r of routes) {
    tbody.append(h('tr', null,
      h('td', null, r.isDefault ? [badge('default', 'info'), ` ${r.domain}`] : r.domain),
      h('td', null, r.events && r.events.length ? r.events.join(', ') : h('span', { class: 'muted' }, 'every kind')),
      h('td', null, h('ul', { class: 'endpoints' }, (r.endpoints || []).map((e) => h('li', null,
        h('span', { class: 'url' }, e.url),
        h('span', { class: 'muted' }, ` · timeout ${fmtMs(e.timeout_ms)}`),
        Object.keys(e.headers || {}).length
          ? h('span', { class: 'muted' }, ` · headers: ${Object.keys(e.headers).join(', ')}`)
          : null))))));
  }
  if (!routes.length) {
    tbody.append(h('tr', null, h('td', { colspan: 3, class: 'empty' }, 'No routes: every event is dead-lettered as "no route".')));
  }
  $('cfg-settings').textContent = prettyJson(c.settings);
}

const fmtMs = (ms) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);

function errorList(errors) {
  return h('ul', { class: 'config-errors' }, (errors || []).map((e) => h('li', null, h('code', null, e))));
}

async function reload() {
  const button = $('cfg-reload');
  const box = $('cfg-result');
  button.disabled = true;
  box.hidden = false;
  box.className = 'result';
  box.setAttribute('role', 'status');
  box.replaceChildren('Reloading…');
  try {
    const r = await request('/api/v1/config/reload', { method: 'POST' });
    box.className = 'result result-ok';
    box.replaceChildren(h('strong', null, r.message || 'Routes reloaded.'));
    if (r.restart_required && r.restart_required.length) {
      box.append(h('p', null, 'These changed keys take effect at the next restart: ', r.restart_required.join(', ')));
    }
  } catch (e) {
    box.className = 'result result-bad';
    box.setAttribute('role', 'alert');
    const body = e.body || {};
    box.replaceChildren(h('strong', null, body.error === 'invalid_config'
      ? body.detail || 'The file does not load; the running routes stay.'
      : `Reload failed: ${e.message}`));
    if (body.errors) box.append(errorList(body.errors));
  } finally {
    button.disabled = false;
  }
  poll(true);
}
