// The console's client of the public /lambda API, plus small DOM helpers shared by the pages.

/** An API error answer: `{"error": {"code", "message", "detail"}}` with its HTTP status. */
export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || (typeof body === 'string' && body) || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || `http_${status}`;
    this.detail = error.detail || {};
    this.field = this.detail.field || fieldOfValidation(this.detail.errors);
  }
}

/** The field of a request-validation error (`detail.errors[0].loc`, e.g. ["body", "name"]). */
function fieldOfValidation(errors) {
  const loc = Array.isArray(errors) && errors[0] && errors[0].loc;
  if (!Array.isArray(loc)) return null;
  const path = loc.filter((part) => !['body', 'query', 'header', 'path'].includes(part));
  return path.length ? path.join('.') : null;
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') search.append(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** The console's sign-in: a session cookie the browser sends itself (HttpOnly), and its CSRF
 * value (a readable cookie) that every write repeats in `X-CSRF-Token`. */
const CSRF_COOKIE = 'lc_csrf';

function csrfToken() {
  const found = document.cookie.split('; ').find((part) => part.startsWith(`${CSRF_COOKIE}=`));
  return found ? decodeURIComponent(found.slice(CSRF_COOKIE.length + 1)) : '';
}

/** Off to the sign-in page, coming back here afterwards. */
export function signIn() {
  const next = window.location.pathname + window.location.search;
  window.location.assign(`/console/login?next=${encodeURIComponent(next)}`);
}

/** Calls the API; resolves with the parsed JSON body (null for 204), rejects with ApiError.
 * A 401 (no or an ended session) sends the user to the sign-in page. */
export async function api(method, path, { params, json } = {}) {
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (!['GET', 'HEAD'].includes(method)) init.headers['X-CSRF-Token'] = csrfToken();
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(path + query(params), init);
  } catch (exc) {
    throw new ApiError(0, { error: { code: 'network_error', message: `cannot reach the API: ${exc.message}` } });
  }
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  if (response.status === 401 && !path.startsWith('/console/session')) signIn();
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/** Shows who is signed in (and a sign-out button) in the page header. */
export async function showSession() {
  const nav = document.querySelector('header.top nav');
  if (!nav) return null;
  let me = null;
  try { me = await api('GET', '/lambda/whoami'); } catch { return null; }
  const out = el('button', { type: 'button', class: 'link', dataset: { testid: 'sign-out' } }, 'Sign out');
  out.addEventListener('click', async () => {
    await api('DELETE', '/console/session').catch(() => null);
    window.location.assign('/console/login');
  });
  const who = el('span', { class: 'muted small', dataset: { testid: 'signed-in-as' } }, ` ${me.name} (${me.role}) `);
  if (me.role === 'admin') nav.append(' · ', el('a', { href: '/console/tokens' }, 'Tokens'));
  nav.append(' · ', who, out);
  return me;
}

const itemsOf = (body) => (Array.isArray(body) ? body : (body && (body.items || body.runtimes || body.revisions)) || []);

/** Every live function, following `next_cursor` until the last page. */
export async function listFunctions() {
  const all = [];
  let cursor = null;
  for (let page = 0; page < 1000; page += 1) {
    const body = await api('GET', '/lambda/list', { params: { cursor, limit: 100 } });
    all.push(...itemsOf(body));
    cursor = body && body.next_cursor;
    if (!cursor) break;
  }
  return all;
}

/** One function; with `code` its source comes along in `file`. */
export const getFunction = (key, { code = false } = {}) => api('GET', '/lambda', { params: { key, code } });
export const listRuntimes = async () => itemsOf(await api('GET', '/lambda/runtimes'));
export const getDefault = () => api('GET', '/lambda/default');
export const deleteFunction = (key) => api('DELETE', '/lambda', { params: { key } });
export const getOperation = (id) => api('GET', `/lambda/operations/${encodeURIComponent(id)}`);

export const runtimeId = (item) => `${item.runtime}:${item.version}`;

/** The operation id of a 202 answer (`{function, operation}`), whatever its exact shape. */
export function operationIdOf(body) {
  const op = body && body.operation;
  if (!op) return null;
  return typeof op === 'string' ? op : op.id || op.operation_id || null;
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });
export const isFinished = (op) => op && (op.state === 'succeeded' || op.state === 'failed');

/**
 * Follows an operation until it finishes, calling `onUpdate(op, 'polling')` on each change of
 * what it shows. Polls with backoff (250 ms growing to 2 s); resolves with the finished operation.
 */
export async function watchOperation(id, onUpdate, { maxDelayMs = 2000 } = {}) {
  let delay = 250;
  let seen = '';
  for (;;) {
    let op;
    try {
      op = await getOperation(id);
    } catch (exc) {
      if (!isTransient(exc)) throw exc;
      op = null; // the server restarting or the store briefly away: keep polling
    }
    if (op) {
      const fingerprint = `${op.state}|${(op.progress || []).length}`;
      if (fingerprint !== seen) {
        seen = fingerprint;
        delay = 250;
        onUpdate(op, 'polling');
      }
      if (isFinished(op)) return op;
    }
    await sleep(delay);
    delay = Math.min(Math.round(delay * 1.5), maxDelayMs);
  }
}

const isTransient = (exc) => exc instanceof ApiError && (exc.status === 0 || exc.status >= 500);

/**
 * Follows an operation live: reads it once, then its server-sent events
 * (`GET /lambda/operations/<id>/events`: each progress line as it is recorded, then `done`),
 * calling `onUpdate(op, 'events')` as lines arrive. Without EventSource, or as soon as the
 * stream fails (a proxy that refuses it, the server restarting, a stream ended early), it
 * falls back to `watchOperation`'s polling. Resolves with the finished operation.
 */
export async function followOperation(id, onUpdate) {
  if (typeof EventSource !== 'function') return watchOperation(id, onUpdate);
  let op;
  try {
    op = await getOperation(id);
  } catch (exc) {
    if (!isTransient(exc)) throw exc;
    return watchOperation(id, onUpdate);
  }
  onUpdate(op, 'events');
  if (isFinished(op)) return op;
  return (await streamOperation(op, onUpdate)) || watchOperation(id, onUpdate);
}

const STREAM_BATCH_MS = 100; // lines arriving together are shown together

/** The finished operation from the event stream of `initial`, or null if the stream failed. */
function streamOperation(initial, onUpdate) {
  return new Promise((resolve) => {
    const source = new EventSource(`/lambda/operations/${encodeURIComponent(initial.id)}/events`);
    const lines = [...(initial.progress || [])];
    let op = initial;
    let timer = null;
    const stop = (result) => {
      source.close();
      clearTimeout(timer);
      resolve(result);
    };
    source.addEventListener('progress', (event) => {
      const index = Number(event.lastEventId);
      if (!Number.isInteger(index) || index < lines.length) return; // replayed: shown already
      lines[index] = JSON.parse(event.data);
      // lines come from a started operation (or one resumed after a restart): it runs
      op = { ...op, state: op.state === 'queued' ? 'running' : op.state, progress: lines.filter(Boolean) };
      if (timer === null) timer = setTimeout(() => { timer = null; onUpdate(op, 'events'); }, STREAM_BATCH_MS);
    });
    source.addEventListener('done', (event) => {
      const final = JSON.parse(event.data);
      onUpdate(final, 'events');
      stop(final);
    });
    // EventSource would reconnect by itself; polling copes with restarts and errors alike.
    source.addEventListener('error', () => stop(null));
  });
}

// --- DOM helpers ------------------------------------------------------------------------

/** `el('td', {class: 'x', dataset: {testid: 'y'}}, 'text', childNode)` */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null && child !== false) node.append(child);
  }
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);

export function phaseBadge(phase, testid = 'phase') {
  return el('span', { class: `phase ${phase || ''}`, dataset: { testid } }, phase || 'unknown');
}

export function formatDate(value) {
  if (!value) return '';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

export const phaseOf = (fn) => (fn && fn.status && fn.status.phase) || (fn && fn.phase) || 'unknown';
export const STEADY_PHASES = new Set(['Ready', 'Failed', 'Deleted']);

/** Shows an error in a banner element (or clears it with `null`). */
export function showError(banner, error) {
  banner.textContent = error ? (error.message || String(error)) : '';
  if (error && error.code) banner.dataset.code = error.code;
  else delete banner.dataset.code;
}

/** Renders one operation (state + progress lines) into `box`; `via` ('events' or 'polling')
 * says how it is being followed. */
export function renderOperation(box, op, via) {
  box.hidden = false;
  box.className = `operation ${op.state}`;
  box.dataset.state = op.state;
  if (via) box.dataset.via = via;
  const lines = (op.progress || []).map((line) => el('li', {}, typeof line === 'string' ? line : line.message));
  const error = op.error ? el('div', { class: 'field-error', dataset: { testid: 'operation-error' } },
    `${op.error.code}: ${op.error.message}`) : null;
  box.replaceChildren(...[
    el('div', {}, el('strong', {}, `${op.kind || 'operation'} `), phaseBadge(op.state, 'operation-state'),
      el('span', { class: 'muted small' }, `  ${op.id || ''}`)),
    error,
    lines.length ? el('ol', { dataset: { testid: 'operation-progress' } }, lines) : null,
  ].filter(Boolean));
}
