// Sign-in: a token typed in, or the one in the link the control plane printed
// (`/console/login#token=…`: a fragment never reaches a server or its logs). The token is
// exchanged for a session cookie, then the fragment is wiped from the address bar.
import { $, api, showError } from './api.js';

const next = new URLSearchParams(window.location.search).get('next');
const target = next && next.startsWith('/console') ? next : '/console/';

async function signIn(token) {
  showError($('#error'), null);
  try {
    await api('POST', '/console/session', { json: { token } });
    window.location.replace(target);
  } catch (exc) {
    showError($('#error'), exc);
  }
}

$('#login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  signIn($('#token').value.trim());
});

/** A link opened while this page is showing changes only the fragment: no page load. */
function signInFromLink() {
  const fromLink = new URLSearchParams(window.location.hash.slice(1)).get('token');
  if (!fromLink) return;
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
  signIn(fromLink);
}

window.addEventListener('hashchange', signInFromLink);
signInFromLink();
