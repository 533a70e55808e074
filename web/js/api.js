// api — every request the dashboard makes, and the admin token.
//
// A 401 opens the token form (one form for all the requests waiting on it); the token is
// kept in sessionStorage (this tab only, gone when it closes) and sent as
// "Authorization: Bearer". Errors become ApiError with the JSON body eventhub sends
// ({"error","detail",…}).

import { $ } from './dom.js';

const TOKEN_KEY = 'eventhub.admin_token';

export class ApiError extends Error {
  constructor(status, body, fallback) {
    const detail = body && (body.detail || body.error);
    super(detail ? String(detail) : fallback || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled: the token lives as long as the page */
  }
  memoryToken = token;
  notify();
}

let memoryToken = '';
let declined = false; // the form was cancelled: no more asking until the user says so
let needed = false; // some API answered 401
const tokenListeners = [];
const notify = () => tokenListeners.forEach((fn) => fn({ has: Boolean(currentToken()), needed }));
export function onTokenChange(fn) {
  tokenListeners.push(fn);
  fn({ has: Boolean(currentToken()), needed });
}
const currentToken = () => getToken() || memoryToken;

export function forgetToken() {
  setToken('');
}

// The header's "Admin token" button: ask now (after a cancelled form, too).
export async function promptForToken() {
  declined = false;
  const entered = await askToken('Enter the admin token.');
  if (entered) setToken(entered);
}

// --- the token form ------------------------------------------------------------------------

let pendingAsk = null;

function askToken(reason) {
  if (pendingAsk) return pendingAsk;
  const dialog = $('auth-dialog');
  const form = $('auth-form');
  const input = $('auth-token');
  const error = $('auth-error');
  $('auth-reason').textContent = reason;
  error.hidden = true;
  input.value = '';
  pendingAsk = new Promise((resolve) => {
    const finish = (token) => {
      form.removeEventListener('submit', onSubmit);
      $('auth-cancel').removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      pendingAsk = null;
      resolve(token);
    };
    const onSubmit = (ev) => {
      ev.preventDefault();
      const token = input.value.trim();
      if (!token) {
        error.textContent = 'Enter the token (server.admin_token or EVENTHUB_ADMIN_TOKEN).';
        error.hidden = false;
        input.focus();
        return;
      }
      finish(token);
    };
    const onCancel = (ev) => {
      ev.preventDefault();
      finish('');
    };
    form.addEventListener('submit', onSubmit);
    $('auth-cancel').addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    input.focus();
  });
  return pendingAsk;
}

// --- requests ------------------------------------------------------------------------------

// request(path, {method, raw}) → parsed JSON (or text with raw: true). Throws ApiError.
// A POST says Content-Type: application/json (with no body): eventhub refuses a request
// that changes something without it (415), which keeps pages of other sites out.
export async function request(path, { method = 'GET', raw = false } = {}) {
  for (;;) {
    const headers = { Accept: raw ? 'text/plain' : 'application/json' };
    if (method !== 'GET' && method !== 'HEAD') headers['Content-Type'] = 'application/json';
    const token = currentToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    let res;
    try {
      res = await fetch(path, { method, headers, cache: 'no-store', credentials: 'same-origin' });
    } catch (e) {
      throw new ApiError(0, null, `eventhub did not answer (${e.message})`);
    }
    if (res.status === 401) {
      await res.text().catch(() => '');
      if (!needed) {
        needed = true;
        notify();
      }
      if (token && token === currentToken()) setToken(''); // the token we sent was refused
      if (currentToken()) continue; // another request got a new token meanwhile
      const refusedMsg = { error: 'unauthorized', detail: 'this needs the admin token (the "Admin token" button, top right)' };
      if (declined) throw new ApiError(401, refusedMsg);
      const entered = await askToken(
        token ? 'The token was refused. Enter the admin token.' : `${path.split('?')[0]} needs the admin token.`,
      );
      if (!entered) {
        declined = true;
        throw new ApiError(401, refusedMsg);
      }
      setToken(entered);
      continue;
    }
    noteServerClock(res);
    const text = await res.text();
    if (raw && res.ok) return text;
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (!res.ok) throw new ApiError(res.status, body, `HTTP ${res.status}`);
    return body;
  }
}

// eventhub's clock, for times it sends (an endpoint's next try): this browser's clock
// corrected by the Date header of the last answer. The header counts whole seconds, so
// a difference under 2 s is taken as none.
let clockOffsetMs = 0;
export const serverNow = () => Date.now() + clockOffsetMs;

function noteServerClock(res) {
  const date = Date.parse(res.headers.get('Date') || '');
  if (Number.isNaN(date)) return;
  const offset = date - Date.now();
  clockOffsetMs = Math.abs(offset) < 2000 ? 0 : offset;
}

// GET /health answers 503 with a JSON body when unhealthy: both are answers, not errors.
export async function getHealth() {
  let res;
  try {
    res = await fetch('/health', { cache: 'no-store' });
  } catch (e) {
    return { status: 'unreachable', reason: `eventhub did not answer (${e.message})`, esl: [] };
  }
  try {
    return await res.json();
  } catch {
    return { status: 'unavailable', reason: `HTTP ${res.status}`, esl: [] };
  }
}

export const qs = (params) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, v);
  const s = u.toString();
  return s ? `?${s}` : '';
};
