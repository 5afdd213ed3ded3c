// The info page of one function: endpoint and test panel, status, revisions, logs, and the
// edit form whose Save first shows the preview (PATCH ?preview=true) and applies it only on
// Confirm (PATCH with base_revision, so a concurrent edit is reported instead of lost).
import {
  $, ApiError, STEADY_PHASES, api, deleteFunction, el, followOperation, formatDate, getFunction,
  listRuntimes, operationIdOf, phaseBadge, phaseOf, renderOperation, runtimeId, showError,
  showSession,
} from './api.js';
import { CodeEditor } from './editor.js';
import { ACCESS_LABELS, FunctionSettings, kvRow, rowPairs } from './settings.js';

const key = new URLSearchParams(window.location.search).get('key') || '';
const banner = $('#error');
const editor = new CodeEditor($('#editor'));
const settings = new FunctionSettings($('#settings'));
const catalog = new Map();
const state = { fn: null, base: null, code: '', pending: null, watching: false, statusTimer: null };

const endpointPath = () => `/endpoint/${encodeURIComponent(key)}`;
const short = (hash) => (typeof hash === 'string' && hash.length > 12 ? hash.slice(0, 12) : hash);
const show = (value) => (value === undefined || value === null ? '—' : typeof value === 'object' ? JSON.stringify(value) : String(value));

// --- loading ----------------------------------------------------------------------------

/** The function with its source (`file`), as the edit form needs it. */
const getWithCode = () => getFunction(key, { code: true });

function renderFunction(fn) {
  state.fn = fn;
  const status = fn.status || {};
  document.title = `${fn.title || fn.name} · lambdaclone`;
  $('#title').textContent = fn.title || fn.name;
  $('#subtitle').textContent = fn.title ? fn.name : '';
  $('#head-phase').replaceChildren(phaseBadge(phaseOf(fn), 'head-phase'));
  const url = fn.endpoint || new URL(endpointPath(), window.location.href).href;
  $('#endpoint-url').textContent = url;
  $('#endpoint-url').href = url;
  $('#test-path-hint').textContent = `${endpointPath()}<suffix>`;
  $('#status-phase').replaceChildren(phaseBadge(phaseOf(fn), 'status-phase-badge'));
  $('#status-generation').textContent = `${show(status.generation)} (observed ${show(status.observed_generation)})`;
  $('#status-revision').textContent = show(fn.revision);
  $('#status-runtime').textContent = `${fn.runtime} ${fn.version}`;
  $('#status-handler').textContent = show(fn.handler);
  $('#status-access').textContent = ACCESS_LABELS[fn.auth] || show(fn.auth);
  $('#test-auth-hint').hidden = fn.auth !== 'token';
  $('#status-key').textContent = fn.key;
  $('#status-created').textContent = formatDate(fn.reg_date);
  $('#status-updated').textContent = formatDate(fn.update_date);
  const error = status.last_error;
  $('#status-error').replaceChildren(error
    ? el('span', { class: 'field-error' }, `${error.code}: ${error.message}`) : el('span', { class: 'muted' }, 'none'));
}

function fillEditForm(fn, code) {
  state.base = fn; // the revision the edit form stands on: its base_revision
  state.code = code;
  $('#name').value = fn.name;
  const id = runtimeId(fn);
  if (!catalog.has(id)) $('#runtime').append(new Option(`${fn.runtime} ${fn.version}`, id));
  $('#runtime').value = id;
  editor.setLanguage(catalog.get(id)?.editor || '');
  editor.value = code;
  settings.fill(fn);
  $('#edit-note').textContent = `Editing revision ${fn.revision}.`;
  hidePreview();
}

async function loadRevisions() {
  try {
    const body = await api('GET', '/lambda/revisions', { params: { key } });
    const items = Array.isArray(body) ? body : body.items || body.revisions || [];
    $('#revisions').replaceChildren(...items.map((rev) => {
      const config = rev.config || rev;
      const code = config.code || {};
      return el('tr', { dataset: { testid: 'revision-row', revision: rev.revision } },
        el('td', {}, String(rev.revision), rev.revision === state.fn.revision ? el('span', { class: 'muted small' }, ' (current)') : null),
        el('td', { class: 'small' }, formatDate(rev.created || rev.reg_date)),
        el('td', {}, config.name),
        el('td', {}, `${config.runtime} ${config.version}`),
        el('td', { class: 'mono small', title: code.sha256 || '' }, short(code.sha256 || config.code_sha256 || '')));
    }));
  } catch (exc) {
    $('#revisions').replaceChildren(el('tr', {}, el('td', { colspan: 5, class: 'muted' }, `Revisions unavailable: ${exc.message}`)));
  }
}

function logLine(line) {
  if (typeof line === 'string') return line;
  const text = line.message ?? line.line ?? line.text ?? JSON.stringify(line);
  return [line.at || line.time || line.timestamp, line.stream, text].filter(Boolean).join('  ');
}

async function loadLogs() {
  const box = $('#logs');
  try {
    const body = await api('GET', '/lambda/logs', { params: { key } });
    const lines = Array.isArray(body) ? body : body.lines || body.items || [];
    box.textContent = lines.length ? lines.map(logLine).join('\n') : 'No log lines yet.';
    const stats = body.stats;
    $('#log-stats').textContent = stats
      ? `${stats.invocations} invocation${stats.invocations === 1 ? '' : 's'} since the server started · mean ${stats.mean_ms} ms · max ${stats.max_ms} ms`
      : '';
  } catch (exc) {
    box.textContent = exc instanceof ApiError && exc.status === 404 && exc.code !== 'function_not_found'
      ? 'Logs are not available from this server.' : `Logs unavailable: ${exc.message}`;
  }
}

/** Re-reads the function; keeps polling (with backoff) while it is not in a steady phase. */
async function refreshStatus(delay = 1000) {
  clearTimeout(state.statusTimer);
  try {
    renderFunction(await getFunction(key));
  } catch (exc) {
    showError(banner, exc);
    return;
  }
  if (!STEADY_PHASES.has(phaseOf(state.fn)) && !state.watching) {
    state.statusTimer = setTimeout(() => refreshStatus(Math.min(delay * 1.5, 5000)), delay);
  }
}

async function load() {
  if (!key) {
    showError(banner, new Error('No function key given: open this page from the function list.'));
    return;
  }
  try {
    const [fn, runtimes] = await Promise.all([getWithCode(), listRuntimes().catch(() => [])]);
    for (const entry of runtimes.filter((item) => !item.disabled)) {
      catalog.set(runtimeId(entry), entry);
      $('#runtime').append(new Option(`${entry.runtime} ${entry.version}`, runtimeId(entry)));
    }
    renderFunction(fn);
    fillEditForm(fn, fn.file || '');
    $('#content').hidden = false;
    document.body.dataset.loaded = 'true';
  } catch (exc) {
    showError(banner, exc.code === 'function_not_found' ? new Error(`There is no function with key ${key}.`) : exc);
    return;
  }
  addRow($('#params'), 'param');
  loadRevisions();
  loadLogs();
  const live = state.fn.status && state.fn.status.operation_id;
  if (live && !STEADY_PHASES.has(phaseOf(state.fn))) follow(live, $('#status-operation'));
  else refreshStatus();
}

/** Shows an operation live in `box`, refreshing the status as it moves; resolves when done. */
async function follow(id, box) {
  state.watching = true;
  try {
    return await followOperation(id, (op, via) => { renderOperation(box, op, via); refreshStatus(); });
  } finally {
    state.watching = false;
    await refreshStatus();
  }
}

// --- the test panel ---------------------------------------------------------------------

function addRow(container, kind) {
  return kvRow(container, kind, kind === 'param' ? 'parameter' : 'header');
}

function pretty(text, contentType) {
  if (!/json/i.test(contentType || '')) return text;
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
}

async function sendTest(event) {
  event.preventDefault();
  const method = $('#test-method').value;
  let suffix = $('#test-path').value.trim();
  if (suffix && !suffix.startsWith('/')) suffix = `/${suffix}`;
  const search = new URLSearchParams(rowPairs($('#params'))).toString();
  const url = `${endpointPath()}${suffix}${search ? `?${search}` : ''}`;
  const init = { method, headers: Object.fromEntries(rowPairs($('#headers'))), cache: 'no-store' };
  const body = $('#test-body').value;
  if (body && !['GET', 'HEAD'].includes(method)) init.body = body;
  const button = $('#test-send');
  button.disabled = true;
  const started = performance.now();
  try {
    const response = await fetch(url, init);
    const text = await response.text();
    const ms = performance.now() - started;
    const status = $('#test-status');
    status.textContent = `${response.status} ${response.statusText}`;
    status.className = `status-code ${response.ok ? 'ok' : 'bad'}`;
    $('#test-duration').textContent = `${ms.toFixed(0)} ms · ${method} ${url}`;
    $('#test-headers').textContent = [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
    $('#test-output').textContent = pretty(text, response.headers.get('content-type')) || '(empty body)';
  } catch (exc) {
    $('#test-status').textContent = 'request failed';
    $('#test-status').className = 'status-code bad';
    $('#test-duration').textContent = '';
    $('#test-headers').textContent = '';
    $('#test-output').textContent = String(exc.message || exc);
  } finally {
    button.disabled = false;
    $('#test-result').hidden = false;
    loadLogs(); // the invocation's START/END/REPORT lines
  }
}

// --- edit: preview, then confirm --------------------------------------------------------

/** The fields the form changes, relative to the revision that was loaded. */
function changes() {
  const fn = state.base;
  const out = {};
  const name = $('#name').value.trim();
  if (name !== fn.name) out.name = name;
  const entry = catalog.get($('#runtime').value);
  if (entry && runtimeId(entry) !== runtimeId(fn)) Object.assign(out, { runtime: entry.runtime, version: entry.version });
  if (editor.value !== state.code) out.file = editor.value;
  return { ...out, ...settings.changes(fn) };
}

function clearFieldErrors() {
  showError(banner, null);
  settings.clearError();
  for (const id of ['name', 'runtime', 'code']) {
    $(`#${id}-error`).textContent = '';
    $(`#${id}`).removeAttribute('aria-invalid');
  }
}

function showApiError(exc) {
  if (exc instanceof ApiError && exc.code === 'stale_revision') {
    showError(banner, new Error(`${exc.message}: someone else changed the function since you loaded it. Reload the page to see the latest revision, then make your change again.`));
    banner.dataset.code = exc.code;
    banner.append(el('button', { type: 'button', dataset: { testid: 'reload' }, onclick: () => window.location.reload() }, 'Reload'));
    refreshStatus();
    loadRevisions();
    return;
  }
  if (exc instanceof ApiError && exc.field && settings.showError(exc.field, exc.message)) return;
  const target = exc instanceof ApiError && exc.field
    && { name: 'name', runtime: 'runtime', version: 'runtime', file: 'code', code: 'code' }[exc.field.split('.')[0]];
  if (!target) { showError(banner, exc); return; }
  $(`#${target}-error`).textContent = exc.message;
  $(`#${target}`).setAttribute('aria-invalid', 'true');
}

function hidePreview() {
  state.pending = null;
  $('#preview').hidden = true;
}

/** A line diff (LCS) of two texts, as rows of [' ' | '-' | '+', line]; null when too large. */
function lineDiff(before, after) {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a.length * b.length > 4_000_000) return null;
  const dp = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      dp[i][j] = a[i] === b[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) { out.push([' ', a[i]]); i += 1; j += 1; }
    else if (i < a.length && (j >= b.length || dp[i + 1][j] >= dp[i][j + 1])) { out.push(['-', a[i]]); i += 1; }
    else { out.push(['+', b[j]]); j += 1; }
  }
  return out;
}

function renderDiff(before, after) {
  const rows = lineDiff(before, after);
  if (!rows) return el('p', { class: 'muted small' }, 'The code changed (too large to show a line diff).');
  const shown = rows.filter((row, n) => rows.slice(Math.max(0, n - 2), n + 3).some(([mark]) => mark !== ' '));
  return el('details', { open: true },
    el('summary', { class: 'small' }, 'Code changes'),
    el('pre', { class: 'output', dataset: { testid: 'preview-code-diff' } }, shown.map(([mark, line]) =>
      el('div', { class: mark === '+' ? 'diff-add' : mark === '-' ? 'diff-del' : '' }, `${mark} ${line}`))));
}

function fieldLabel(path) {
  return path === 'code_sha256' ? 'code (sha256)' : path;
}

function renderPlan(plan, body) {
  const fields = plan.fields || [];
  const resources = plan.resources || [];
  const changed = plan.changed ?? (fields.length > 0 || resources.some((r) => r.op !== 'same'));
  const counts = plan.summary || resources.reduce((acc, r) => ({ ...acc, [r.op]: (acc[r.op] || 0) + 1 }), {});
  $('#preview-summary').textContent = changed
    ? `${fields.length} field change${fields.length === 1 ? '' : 's'}; resources: ${Object.entries(counts).map(([op, n]) => `${n} to ${op}`).join(', ') || 'none'}.`
    : 'Nothing would change: the function already matches.';
  $('#preview-fields').replaceChildren(...fields.map((change) => el('tr', { dataset: { testid: 'preview-field', path: change.path } },
    el('td', {}, fieldLabel(change.path)),
    el('td', { class: 'old' }, show(change.path === 'code_sha256' ? short(change.old) : change.old)),
    el('td', { class: 'new' }, show(change.path === 'code_sha256' ? short(change.new) : change.new)))));
  $('#preview-diff').replaceChildren(typeof body.file === 'string' ? renderDiff(state.code, body.file) : '');
  $('#preview-resources').replaceChildren(...resources.map((resource) => el('tr', { dataset: { testid: 'preview-resource', op: resource.op } },
    el('td', {}, el('span', { class: `op-badge ${resource.op}` }, resource.op)),
    el('td', {}, resource.name),
    el('td', { class: 'muted' }, resource.type),
    el('td', { class: 'small' }, (resource.fields || []).map((f) => fieldLabel(f.path)).join(', ')))));
  $('#confirm').disabled = !changed;
  $('#preview').hidden = false;
  $('#preview').scrollIntoView({ block: 'nearest' });
}

async function preview(event) {
  event.preventDefault();
  clearFieldErrors();
  hidePreview();
  const body = changes();
  if (!Object.keys(body).length) { $('#edit-note').textContent = 'Nothing to save: no field was changed.'; return; }
  const request = { key, ...body, base_revision: state.base.revision };
  $('#save').disabled = true;
  try {
    const answer = await api('PATCH', '/lambda', { params: { preview: 'true' }, json: request });
    state.pending = request;
    renderPlan(answer.plan || answer, body);
  } catch (exc) {
    showApiError(exc);
  } finally {
    $('#save').disabled = false;
  }
}

async function confirmChange() {
  const request = state.pending;
  if (!request) return;
  hidePreview();
  $('#save').disabled = true;
  const box = $('#edit-operation');
  try {
    const answer = await api('PATCH', '/lambda', { json: request });
    if (answer.function) renderFunction(answer.function);
    const id = operationIdOf(answer);
    const op = id ? await follow(id, box) : null;
    const fn = await getWithCode();
    renderFunction(fn);
    fillEditForm(fn, fn.file || '');
    if (op && op.state === 'failed') showError(banner, new Error(`The change was saved but could not be applied: ${op.error ? op.error.message : 'unknown error'}`));
    else $('#edit-note').textContent = `Saved: now at revision ${fn.revision}.`;
    loadRevisions();
    loadLogs();
  } catch (exc) {
    showApiError(exc);
  } finally {
    $('#save').disabled = false;
  }
}

// --- delete -----------------------------------------------------------------------------

function deleteButton() {
  return el('button', { type: 'button', class: 'danger', id: 'delete', dataset: { testid: 'delete-button' }, onclick: askDelete }, 'Delete');
}

function askDelete() {
  $('#delete-area').replaceChildren(
    el('span', { class: 'small' }, 'Delete this function? '),
    el('button', { type: 'button', class: 'danger solid', dataset: { testid: 'confirm-delete' }, onclick: doDelete }, 'Delete'),
    el('button', { type: 'button', dataset: { testid: 'cancel-delete' }, onclick: () => $('#delete-area').replaceChildren(deleteButton()) }, 'Cancel'));
}

async function doDelete() {
  $('#delete-area').replaceChildren(el('span', { class: 'muted small' }, 'Deleting…'));
  try {
    const id = operationIdOf(await deleteFunction(key));
    const op = id ? await follow(id, $('#delete-operation')) : null;
    if (op && op.state === 'failed') throw new Error(`Delete failed: ${op.error ? op.error.message : 'unknown error'}`);
    window.location.assign('/console/');
  } catch (exc) {
    showError(banner, exc);
    $('#delete-area').replaceChildren(deleteButton());
  }
}

// --- wiring -----------------------------------------------------------------------------

$('#delete').addEventListener('click', askDelete);
$('#add-param').addEventListener('click', () => addRow($('#params'), 'param').querySelector('input').focus());
$('#add-header').addEventListener('click', () => addRow($('#headers'), 'header').querySelector('input').focus());
$('#test-form').addEventListener('submit', sendTest);
$('#edit-form').addEventListener('submit', preview);
$('#edit-form').addEventListener('input', hidePreview); // a preview only stands for what it showed
$('#runtime').addEventListener('change', () => {
  const entry = catalog.get($('#runtime').value);
  if (entry) editor.setLanguage(entry.editor || '');
});
$('#revert').addEventListener('click', () => { clearFieldErrors(); fillEditForm(state.base, state.code); });
$('#confirm').addEventListener('click', confirmChange);
$('#cancel-preview').addEventListener('click', hidePreview);
$('#refresh-logs').addEventListener('click', loadLogs);
$('#copy-endpoint').addEventListener('click', async () => {
  try { await navigator.clipboard.writeText($('#endpoint-url').textContent); $('#copy-endpoint').textContent = 'Copied'; } catch { $('#copy-endpoint').textContent = 'Copy failed'; }
  setTimeout(() => { $('#copy-endpoint').textContent = 'Copy'; }, 1500);
});

showSession();
load();
