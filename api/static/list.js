// The list page: every function with its live phase, and Info / Endpoint / Delete actions.
import {
  $, ApiError, STEADY_PHASES, deleteFunction, el, followOperation, formatDate, listFunctions,
  operationIdOf, phaseBadge, phaseOf, showError, showSession,
} from './api.js';

const rows = $('#rows');
const banner = $('#error');
const deleting = new Map(); // key -> 'confirm' | 'running'
let timer = null;

/** Same origin: the API serves every function's endpoint, whatever its public URL. */
function endpointOf(fn) {
  return `/endpoint/${encodeURIComponent(fn.key)}`;
}

function actions(fn) {
  const state = deleting.get(fn.key);
  const name = fn.name || fn.key;
  if (state === 'confirm') {
    return [
      el('span', { class: 'small' }, `Delete ${name}?`),
      el('button', { class: 'danger solid', type: 'button', dataset: { testid: 'confirm-delete' },
        'aria-label': `Confirm deleting ${name}`, onclick: () => remove(fn) }, 'Delete'),
      el('button', { type: 'button', dataset: { testid: 'cancel-delete' },
        onclick: () => { deleting.delete(fn.key); render(lastItems); } }, 'Cancel'),
    ];
  }
  return [
    el('a', { class: 'button', href: `/console/info?key=${encodeURIComponent(fn.key)}`,
      dataset: { testid: 'info-link' }, 'aria-label': `Info about ${name}` }, 'Info'),
    el('a', { class: 'button', href: endpointOf(fn), target: '_blank', rel: 'noopener',
      dataset: { testid: 'endpoint-link' }, 'aria-label': `Open the endpoint of ${name}` }, 'Endpoint'),
    el('button', { class: 'danger', type: 'button', dataset: { testid: 'delete-button' },
      disabled: state === 'running' || phaseOf(fn) === 'Deleting', 'aria-label': `Delete ${name}`,
      onclick: () => { deleting.set(fn.key, 'confirm'); render(lastItems); } }, 'Delete'),
  ];
}

function row(fn) {
  const phase = deleting.get(fn.key) === 'running' && phaseOf(fn) !== 'Failed' ? 'Deleting' : phaseOf(fn);
  const error = fn.status && fn.status.last_error;
  return el('tr', { dataset: { testid: 'function-row', key: fn.key, name: fn.name, phase } },
    el('td', {},
      el('a', { href: `/console/info?key=${encodeURIComponent(fn.key)}`, dataset: { testid: 'function-name' } }, fn.name),
      fn.title ? el('div', { class: 'small', dataset: { testid: 'function-title' } }, fn.title) : null,
      fn.auth === 'token' ? el('span', { class: 'muted small', dataset: { testid: 'function-auth' } }, ' token required') : null,
      el('div', { class: 'muted small mono' }, fn.key)),
    el('td', { dataset: { testid: 'function-runtime' } }, `${fn.runtime} ${fn.version}`),
    el('td', {}, phaseBadge(phase),
      error ? el('div', { class: 'field-error small' }, error.message) : null),
    el('td', { class: 'small muted' }, formatDate(fn.update_date || fn.reg_date)),
    el('td', { class: 'actions' }, actions(fn)));
}

let lastItems = [];

function render(items) {
  lastItems = items;
  const active = document.activeElement && document.activeElement.closest('tr');
  const focusKey = active && active.dataset.key;
  const focusId = document.activeElement && document.activeElement.dataset.testid;
  $('#count').textContent = `${items.length} function${items.length === 1 ? '' : 's'}`;
  if (!items.length) {
    rows.replaceChildren(el('tr', {}, el('td', { colspan: 5, class: 'empty', dataset: { testid: 'empty' } },
      'No functions yet. ', el('a', { href: '/console/create' }, 'Create the first one'), '.')));
    return;
  }
  rows.replaceChildren(...items.map(row));
  if (focusKey && focusId) { // keep keyboard focus across refreshes
    const again = rows.querySelector(`tr[data-key="${CSS.escape(focusKey)}"] [data-testid="${focusId}"]`);
    if (again) again.focus();
  }
}

async function refresh() {
  clearTimeout(timer);
  let busy = deleting.size > 0;
  try {
    const items = await listFunctions();
    items.sort((a, b) => String(a.name).localeCompare(String(b.name)));
    render(items);
    showError(banner, null);
    busy = busy || items.some((fn) => !STEADY_PHASES.has(phaseOf(fn)));
  } catch (exc) {
    showError(banner, exc);
  }
  // Fast while something is changing, slow when everything is steady; paused while hidden.
  if (!document.hidden) timer = setTimeout(refresh, busy ? 1500 : 10000);
}

async function remove(fn) {
  deleting.set(fn.key, 'running');
  render(lastItems);
  try {
    const answer = await deleteFunction(fn.key);
    const id = operationIdOf(answer);
    if (id) {
      const op = await followOperation(id, () => {});
      if (op.state === 'failed') {
        throw new ApiError(500, { error: op.error || { message: 'delete failed' } });
      }
    }
  } catch (exc) {
    if (!(exc instanceof ApiError && exc.status === 404)) showError(banner, exc);
  } finally {
    deleting.delete(fn.key);
    await refresh();
  }
}

document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(); });
showSession();
refresh();
