// Sign-in page: Discord button, password form, the two-factor code when the
// account asks for one, forced password change.
import {
  $, api, getMe, describe, messageForCode, say, quiet, safeNext, setBusy,
  passwordProblem, showPasswordRules, displayName, el, refreshWhoami, twoFactorCode,
} from './app.js';

const params = new URLSearchParams(location.search);
// A Discord sign-in of an account with two-factor sign-in on comes back as
// /login#mfa_token=…&next=…: the fragment never reaches a server. It is
// removed from the address bar at once.
const fragment = new URLSearchParams(location.hash.slice(1));
if (location.hash) history.replaceState(null, '', location.pathname + location.search);
let next = safeNext(params.get('next')) || '/members';
if (fragment.get('mfa_token')) next = safeNext(fragment.get('next')) || next;
const message = $('#message');
const loginForm = $('#login-form');
const changeForm = $('#change-form');

// Carried from the login form to the change form, so the user does not type
// the password they have just typed again; current is null when unknown.
let account = { username: '', current: null };

// The second step of a sign-in: its single-use token, and the password
// typed in the first step (null after a Discord sign-in) for a forced change.
let pending = null;

function showSecond(token, username, password) {
  pending = { token, username, password };
  $('#sign-in').hidden = true;
  $('#already').hidden = true;
  $('#second').hidden = false;
  $('#title').textContent = 'Two-factor sign-in';
  document.title = 'Two-factor sign-in · Farout';
  $('#code').focus();
}

function backToPassword(text) {
  pending = null;
  $('#second').hidden = true;
  $('#sign-in').hidden = false;
  $('#title').textContent = 'Sign in';
  document.title = 'Sign in · Farout';
  say(message, 'error', text);
  $('#password').focus();
}

// After a whole sign-in: on to next, or to the forced password change.
function signedIn(res, username, password, totp) {
  if (res.must_change_password) {
    showChange(res.user && res.user.username ? res.user.username : username, password);
    $('#change-code-field').hidden = !totp;
    refreshWhoami();
    return;
  }
  location.assign(next);
}

function showChange(username, current) {
  account = { username, current };
  $('#second').hidden = true;
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
    if (res.mfa_required) {
      showSecond(res.mfa_token, username, password);
      return;
    }
    signedIn(res, username, password, false);
  } catch (err) {
    say(message, 'error', describe(err));
    $('#password').value = '';
    $('#password').focus();
  } finally {
    setBusy(loginForm, false);
  }
});

$('#code-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  quiet(message);
  const code = twoFactorCode($('#code'));
  if (!code) {
    say(message, 'error', 'Enter the code from your app, or a recovery code.');
    return;
  }
  setBusy(form, true);
  try {
    const res = await api('/api/auth/login/totp', { method: 'POST', body: { mfa_token: pending.token, code } });
    const { username, password } = pending;
    pending = null;
    signedIn(res, username, password, true);
  } catch (err) {
    $('#code').value = '';
    if (err.code === 'invalid_credentials') {
      backToPassword('That sign-in took too long or was already finished. Enter your password again.');
    } else {
      say(message, 'error', describe(err));
      $('#code').focus();
    }
  } finally {
    setBusy(form, false);
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
  const code = twoFactorCode($('#change-code'));
  if (code) body.code = code;
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
  if (fragment.get('mfa_token')) {
    showSecond(fragment.get('mfa_token'), '', null);
    return;
  }

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
