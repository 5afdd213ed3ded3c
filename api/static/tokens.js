// API tokens (admins): list, create (the secret is shown once) and revoke.
import { $, api, el, formatDate, showError, showSession } from './api.js';

const banner = $('#error');

function row(token) {
  const revoke = el('button', { type: 'button', class: 'danger', dataset: { testid: 'revoke' } }, 'Revoke');
  revoke.addEventListener('click', async () => {
    try {
      await api('DELETE', `/lambda/tokens/${encodeURIComponent(token.id)}`);
      await load();
    } catch (exc) { showError(banner, exc); }
  });
  const state = token.revoked ? `revoked ${formatDate(token.revoked)}` : formatDate(token.expires) || 'never';
  return el('tr', { dataset: { testid: 'token-row', name: token.name, revoked: token.revoked ? 'yes' : 'no' } },
    el('td', {}, token.name),
    el('td', {}, token.role),
    el('td', { class: 'small mono' }, (token.functions || []).join(', ') || 'any'),
    el('td', { class: 'small' }, formatDate(token.created)),
    el('td', { class: 'small' }, formatDate(token.last_used) || 'never'),
    el('td', { class: 'small' }, state),
    el('td', {}, token.revoked ? null : revoke));
}

async function load() {
  try {
    const body = await api('GET', '/lambda/tokens');
    const items = body.items || [];
    $('#tokens').replaceChildren(...(items.length ? items.map(row)
      : [el('tr', {}, el('td', { colspan: 7, class: 'empty' }, 'No tokens.'))]));
  } catch (exc) { showError(banner, exc); }
}

$('#token-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  showError(banner, null);
  const functions = $('#token-functions').value.split(',').map((s) => s.trim()).filter(Boolean);
  const expires = $('#token-expires').value ? new Date($('#token-expires').value).toISOString() : null;
  try {
    const made = await api('POST', '/lambda/tokens', { json: {
      name: $('#token-name').value.trim(), role: $('#token-role').value, functions, expires,
    } });
    $('#secret').textContent = made.secret;
    $('#created').hidden = false;
    await load();
  } catch (exc) { showError(banner, exc); }
});

showSession();
load();
