// Sign-in page: Discord button, password form, forced password change.
import {
  $, api, getMe, describe, messageForCode, say, quiet, safeNext, setBusy,
  passwordProblem, showPasswordRules, displayName, el, refreshWhoami,
} from './app.js';

const params = new URLSearchParams(location.search);
const next = safeNext(params.get('next')) || '/members';
const message = $('#message');
const loginForm = $('#login-form');
const changeForm = $('#change-form');

// Carried from the login form to the change form, so the user does not type
// the password they have just typed again; current is null when unknown.
let account = { username: '', current: null };

function showChange(username, current) {
  account = { username, current };
  $('#sign-in').hidden = true;
  $('#already').hidden = true;
  $('#change').hidden = false;
  $('#title').textContent = 'Change your password';
  document.title = 'Change your password · Farout';
  $('#change-username').value = username;
  $('#current-field').hidden = current !== null;
  $('#new-password').focus();
}

loginForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  quiet(message);
  const username = $('#username').value.trim();
  const password = $('#password').value;
  if (!username || !password) {
    say(message, 'error', 'Enter your username (or email) and your password.');
    return;
  }
  setBusy(loginForm, true);
  try {
    const res = await api('/api/auth/login', { method: 'POST', body: { username, password } });
    if (res.must_change_password) {
      showChange(res.user && res.user.username ? res.user.username : username, password);
      refreshWhoami();
      return;
    }
    location.assign(next);
  } catch (err) {
    say(message, 'error', describe(err));
    $('#password').value = '';
    $('#password').focus();
  } finally {
    setBusy(loginForm, false);
  }
});

changeForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  quiet(message);
  const current = account.current !== null ? account.current : $('#current-password').value;
  const password = $('#new-password').value;
  const problem = passwordProblem(password, { confirm: $('#confirm-password').value });
  if (problem) {
    say(message, 'error', problem);
    return;
  }
  const body = { new_password: password };
  if (current) body.current_password = current;
  setBusy(changeForm, true);
  try {
    await api('/api/auth/password', { method: 'POST', body });
    account.current = null;
    location.assign(next);
  } catch (err) {
    say(message, 'error', err.code === 'invalid_credentials' ? 'The current password is wrong.' : describe(err));
    if (err.code === 'invalid_credentials') {
      // The remembered password is stale (changed elsewhere): ask for it.
      account.current = null;
      $('#current-field').hidden = false;
    }
  } finally {
    setBusy(changeForm, false);
  }
});

async function main() {
  $('#discord').href = '/api/auth/discord/login?next=' + encodeURIComponent(next);
  showPasswordRules($('#policy'));
  const code = params.get('error');
  if (code) say(message, 'error', messageForCode(code, 'Sign-in failed. Please try again.'));

  const already = $('#already');
  try {
    const me = await getMe();
    if (!me) return;
    if (me.must_change_password) {
      showChange(me.username, null);
      return;
    }
    say(already, 'info', 'You are signed in as ', el('strong', { text: displayName(me) }), '. ',
      el('a', { href: next }, 'Continue'), ', or sign in as someone else below.');
  } catch (err) {
    say(already, 'info', 'The sign-in service is not answering right now, so signing in may fail.');
  }
}

main();
