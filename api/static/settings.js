// The settings a function has besides its name, runtime and code — title, who may invoke it,
// its layers, environment variables and secrets — as one form section shared by the create and
// info pages. Layers are typed as `name:version` references, in order, with the published
// layers' newest versions offered as suggestions.
// Secret values are write-only: an existing secret shows its fingerprint, never its value; an
// empty value input keeps it, a typed one replaces it, Remove deletes it (null in the update).
import { api, el } from './api.js';

export const ACCESS_LABELS = { none: 'Public: anyone who can reach the endpoint', token: 'Token required' };

/** A name/value row; `kind` names its test ids (`env-row`, `env-name`, …). */
export function kvRow(container, kind, label, { name = '', value = '', namePlaceholder = 'name', type = 'text' } = {}) {
  const n = container.children.length + 1;
  const row = el('div', { class: 'kv-row', dataset: { testid: `${kind}-row` } },
    el('label', { class: 'sr-only', for: `${kind}-name-${n}` }, `${label} ${n} name`),
    el('input', { id: `${kind}-name-${n}`, placeholder: namePlaceholder, autocomplete: 'off', value: name, dataset: { testid: `${kind}-name` } }),
    el('label', { class: 'sr-only', for: `${kind}-value-${n}` }, `${label} ${n} value`),
    el('input', { id: `${kind}-value-${n}`, placeholder: 'value', autocomplete: 'off', type, value, dataset: { testid: `${kind}-value` } }),
    el('button', { type: 'button', 'aria-label': `Remove ${label} ${n}`, onclick: () => { row.remove(); container.dispatchEvent(new Event('input', { bubbles: true })); } }, '×'));
  container.append(row);
  return row;
}

/** The rows' [name, value] pairs, rows without a name left out. */
export function rowPairs(container) {
  return [...container.querySelectorAll('.kv-row')]
    .map((row) => [row.querySelector('input[data-testid$="-name"]'), row.querySelector('input[data-testid$="-value"]')])
    .filter(([name, value]) => name && value && name.value.trim())
    .map(([name, value]) => [name.value.trim(), value.value]);
}

function fieldset(legend, list, addLabel, onAdd, hint) {
  return el('fieldset', { class: 'field plain-set' },
    el('legend', { class: 'small' }, legend),
    hint ? el('div', { class: 'hint' }, hint) : null,
    list,
    el('button', { type: 'button', class: 'link', onclick: onAdd }, addLabel));
}

const sameMap = (a, b) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/** The section, built into `root`; `fill(fn)` shows a function, `values()` is what a create
 * sends, `changes(fn)` what an update changes relative to `fn`. */
export class FunctionSettings {
  constructor(root) {
    this.title = el('input', { id: 'fn-title', class: 'wide', maxlength: '200', autocomplete: 'off', placeholder: 'Hello, world', dataset: { testid: 'title-input' } });
    this.access = el('select', { id: 'fn-access', class: 'wide', dataset: { testid: 'access-select' } },
      ...Object.entries(ACCESS_LABELS).map(([value, text]) => new Option(text, value)));
    this.layers = el('input', { id: 'fn-layers', class: 'wide', autocomplete: 'off', list: 'layer-refs',
      placeholder: 'shared-utils:1, another:3', dataset: { testid: 'layers-input' } });
    this.layerRefs = el('datalist', { id: 'layer-refs' });
    this.env = el('div', { dataset: { testid: 'env' } });
    this.secrets = el('div', { dataset: { testid: 'secrets' } });
    this.existing = {}; // secret name -> fingerprint, of the function shown
    this.removed = new Set();
    this.error = el('div', { class: 'field-error', id: 'settings-error', dataset: { testid: 'settings-error' }, 'aria-live': 'polite' });
    root.append(
      el('div', { class: 'row' },
        el('div', { class: 'field', style: 'flex: 2; min-width: 16rem' }, el('label', { for: 'fn-title' }, 'Title'), this.title,
          el('div', { class: 'hint' }, 'Free text shown in lists (optional).')),
        el('div', { class: 'field', style: 'flex: 1; min-width: 12rem' }, el('label', { for: 'fn-access' }, 'Invoke access'), this.access,
          el('div', { class: 'hint' }, 'Token required: callers send Authorization: Bearer <an invoker token>.'))),
      el('div', { class: 'field' }, el('label', { for: 'fn-layers' }, 'Layers'), this.layers, this.layerRefs,
        el('div', { class: 'hint' }, 'Layer versions, in order, comma-separated: unpacked into /opt, a later one\'s file winning.')),
      fieldset('Environment variables', this.env, '+ Add variable', () => this.addEnv().querySelector('input').focus()),
      fieldset('Secrets', this.secrets, '+ Add secret', () => this.addSecret().querySelector('input').focus(),
        'Write-only: values are encrypted and never shown again, only a fingerprint.'),
      this.error);
    this.suggestLayers().catch(() => {}); // only suggestions: the field works without them
  }

  /** Offers the published layers' newest versions (a viewer without layers sees none). */
  async suggestLayers() {
    const { items } = await api('GET', '/lambda/layers');
    this.layerRefs.replaceChildren(...items.map((layer) => new Option(layer.description || layer.ref, layer.ref)));
  }

  layerList() { return this.layers.value.split(',').map((ref) => ref.trim()).filter(Boolean); }

  addEnv(name = '', value = '') { return kvRow(this.env, 'env', 'variable', { name, value, namePlaceholder: 'NAME' }); }

  addSecret() { return kvRow(this.secrets, 'secret', 'secret', { namePlaceholder: 'NAME', type: 'password' }); }

  fill(fn) {
    this.title.value = fn.title || '';
    this.access.value = fn.auth || 'none';
    this.layers.value = (fn.layers || []).join(', ');
    this.env.replaceChildren();
    for (const [name, value] of Object.entries(fn.env || {})) this.addEnv(name, value);
    this.existing = { ...(fn.secrets || {}) };
    this.removed = new Set();
    this.secrets.replaceChildren(...Object.entries(this.existing).map(([name, fingerprint]) => this.existingRow(name, fingerprint)));
  }

  existingRow(name, fingerprint) {
    const value = el('input', { type: 'password', autocomplete: 'new-password', placeholder: `unchanged (fingerprint ${fingerprint})`,
      'aria-label': `new value for ${name}`, dataset: { testid: 'secret-new-value', name } });
    const row = el('div', { class: 'kv-row', dataset: { testid: 'secret-existing', name } },
      el('span', { class: 'mono kv-name' }, name), value);
    const remove = el('button', { type: 'button', dataset: { testid: 'secret-remove' }, 'aria-label': `Remove secret ${name}` }, 'Remove');
    remove.addEventListener('click', () => {
      const removing = !this.removed.has(name);
      if (removing) this.removed.add(name); else this.removed.delete(name);
      row.classList.toggle('removed', removing);
      value.disabled = removing;
      remove.textContent = removing ? 'Keep' : 'Remove';
      row.dispatchEvent(new Event('input', { bubbles: true }));
    });
    row.append(remove);
    return row;
  }

  /** Secret changes: new or replaced values, and null for the removed ones. */
  secretChanges() {
    const out = Object.fromEntries(rowPairs(this.secrets));
    for (const input of this.secrets.querySelectorAll('input[data-testid="secret-new-value"]')) {
      if (input.value && !input.disabled) out[input.dataset.name] = input.value;
    }
    for (const name of this.removed) out[name] = null;
    return out;
  }

  values() {
    const out = { auth: this.access.value, env: Object.fromEntries(rowPairs(this.env)) };
    const title = this.title.value.trim();
    if (title) out.title = title;
    const layers = this.layerList();
    if (layers.length) out.layers = layers;
    const secrets = this.secretChanges();
    if (Object.keys(secrets).length) out.secrets = secrets;
    return out;
  }

  changes(fn) {
    const out = {};
    const title = this.title.value.trim();
    if (title !== (fn.title || '')) out.title = title;
    if (this.access.value !== (fn.auth || 'none')) out.auth = this.access.value;
    const layers = this.layerList();
    if (JSON.stringify(layers) !== JSON.stringify(fn.layers || [])) out.layers = layers;
    const env = Object.fromEntries(rowPairs(this.env));
    if (!sameMap(env, fn.env || {})) out.env = env;
    const secrets = this.secretChanges();
    if (Object.keys(secrets).length) out.secrets = secrets;
    return out;
  }

  /** Shows an API error about these fields; false when it is about another field. */
  showError(field, message) {
    if (!['title', 'auth', 'layers', 'env', 'secrets'].includes(String(field).split('.')[0])) return false;
    this.error.textContent = message;
    return true;
  }

  clearError() { this.error.textContent = ''; }
}
