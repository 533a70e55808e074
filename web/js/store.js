// store — what the views share: the domains seen anywhere, and the domain <select>s
// that list them.
//
// Domains come from /api/v1/stats (labels of configured routes), /api/v1/config (routes) and
// the events and dead letters loaded; a select keeps its choice when the list changes.

import { h } from './dom.js';

const domains = new Set();
const selects = [];

export function addDomains(list) {
  let changed = false;
  for (const d of list) {
    if (!d || d === '*' || d === 'default' || d.startsWith('_')) continue;
    const key = String(d).toLowerCase();
    if (!domains.has(key)) {
      domains.add(key);
      changed = true;
    }
  }
  if (changed) selects.forEach(refill);
}

export function knownDomains() {
  return [...domains].sort();
}

// Registers a domain <select> whose first option is "All domains" (value "").
export function registerDomainSelect(select) {
  selects.push(select);
  refill(select);
}

export function refillDomainSelect(select) {
  refill(select);
}

function refill(select) {
  if (select.dataset.mode === 'logs') return; // filled by the events view from /api/v1/logs
  const current = select.value;
  const options = [h('option', { value: '' }, 'All domains')];
  const list = knownDomains();
  if (current && !list.includes(current)) list.push(current);
  for (const d of list) options.push(h('option', { value: d }, d));
  select.replaceChildren(...options);
  select.value = current;
}

export function setSelectValue(select, value) {
  if (value && ![...select.options].some((o) => o.value === value)) select.append(h('option', { value }, value));
  select.value = value || '';
}
