// The create page: name, runtime/version from the catalog, code prefilled with the runtime's
// default code, then POST /lambda and the operation's progress until the function is ready.
import {
  $, ApiError, api, getDefault, listRuntimes, operationIdOf, renderOperation, runtimeId, showError,
  followOperation, showSession,
} from './api.js';
import { CodeEditor } from './editor.js';
import { FunctionSettings } from './settings.js';

const form = $('#create-form');
const banner = $('#error');
const select = $('#runtime');
const nameInput = $('#name');
const resetButton = $('#reset-code');
const editor = new CodeEditor($('#editor'));
const settings = new FunctionSettings($('#settings'));
const catalog = new Map(); // "runtime:version" -> catalog entry
let shownDefault = '';

/** Where an API error about `field` is shown. */
const FIELD_TARGETS = { name: 'name', file: 'code', code: 'code', handler: 'code', runtime: 'runtime', version: 'runtime' };

function clearErrors() {
  showError(banner, null);
  settings.clearError();
  for (const id of ['name', 'code', 'runtime']) {
    $(`#${id}-error`).textContent = '';
    $(`#${id}`).removeAttribute('aria-invalid');
  }
}

function fieldError(field, message) {
  if (settings.showError(field, message)) return true;
  const target = FIELD_TARGETS[String(field).split('.')[0]];
  if (!target) return false;
  $(`#${target}-error`).textContent = message;
  $(`#${target}`).setAttribute('aria-invalid', 'true');
  $(`#${target}`).focus();
  return true;
}

function selected() {
  return catalog.get(select.value);
}

function applyRuntime({ keepCode }) {
  const entry = selected();
  if (!entry) return;
  editor.setLanguage(entry.editor || ''); // the runtime's own editor mode (GET /lambda/runtimes)
  $('#handler-hint').textContent = entry.default_handler ? `Handler: ${entry.default_handler}.` : '';
  if (!keepCode) {
    editor.value = entry.default_code || '';
    shownDefault = editor.value;
  }
  resetButton.hidden = editor.value === (entry.default_code || '');
}

async function load() {
  try {
    const [runtimes, defaults] = await Promise.all([listRuntimes(), getDefault().catch(() => null)]);
    const usable = runtimes.filter((entry) => !entry.disabled);
    select.replaceChildren(...usable.map((entry) => {
      catalog.set(runtimeId(entry), entry);
      return new Option(`${entry.runtime} ${entry.version}`, runtimeId(entry));
    }));
    const wanted = defaults && runtimeId(defaults.runtime && typeof defaults.runtime === 'object' ? defaults.runtime : defaults);
    select.value = catalog.has(wanted) ? wanted : (usable[0] ? runtimeId(usable[0]) : '');
    applyRuntime({ keepCode: false });
    form.dataset.ready = 'true';
  } catch (exc) {
    showError(banner, exc);
  }
}

select.addEventListener('change', () => {
  // Replace the code only if the user has not changed the default code shown before.
  const untouched = !editor.value.trim() || editor.value === shownDefault;
  applyRuntime({ keepCode: !untouched });
});
editor.textarea.addEventListener('input', () => {
  const entry = selected();
  resetButton.hidden = !entry || editor.value === (entry.default_code || '');
});
resetButton.addEventListener('click', () => applyRuntime({ keepCode: false }));
nameInput.addEventListener('input', () => { $('#name-error').textContent = ''; nameInput.removeAttribute('aria-invalid'); });

function setBusy(busy) {
  for (const control of form.querySelectorAll('input, select, textarea, button')) control.disabled = busy;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors();
  const entry = selected();
  const name = nameInput.value.trim();
  if (!name) { fieldError('name', 'Give the function a name.'); return; }
  if (!entry) { fieldError('runtime', 'Choose a runtime.'); return; }
  if (!editor.value.trim()) { fieldError('file', 'The code is empty.'); return; }
  setBusy(true);
  let answer;
  try {
    answer = await api('POST', '/lambda', {
      json: { name, file: editor.value, runtime: entry.runtime, version: entry.version, ...settings.values() },
    });
  } catch (exc) {
    setBusy(false);
    if (!(exc instanceof ApiError && exc.field && fieldError(exc.field, exc.message))) showError(banner, exc);
    return;
  }
  const key = answer.function ? answer.function.key : answer.key;
  const info = `/console/info?key=${encodeURIComponent(key)}`;
  const box = $('#operation');
  const id = operationIdOf(answer);
  if (!id) { window.location.assign(info); return; }
  try {
    const op = await followOperation(id, (current, via) => renderOperation(box, current, via));
    if (op.state === 'succeeded') { window.location.assign(info); return; }
    showError(banner, new Error(`The function was created but could not be deployed: ${op.error ? op.error.message : 'unknown error'}`));
  } catch (exc) {
    showError(banner, exc);
  }
  box.append(document.createElement('br'), Object.assign(document.createElement('a'), { href: info, textContent: 'Open the function' }));
});

showSession();
load();
