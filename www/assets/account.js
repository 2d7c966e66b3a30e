// Account page: who you are, Discord linking, password change, sign-out.
import {
  $, el, api, ApiError, clear, formatDate, getMe, say, quiet, sayError, describe, setBusy,
  passwordProblem, showPasswordRules, twoFactorCode,
} from './app.js';

const status = $('#status');
let me = null;

function fact(list, term, ...value) {
  list.append(el('dt', {}, term), el('dd', {}, ...value));
}

function show() {
  const details = clear($('#details'));
  fact(details, 'Username', me.username);
  fact(details, 'Email', me.email || 'none');
  fact(details, 'Role', me.role);
  fact(details, 'Member profile', me.member
    ? el('a', { href: '/member?id=' + encodeURIComponent(me.member.discord_id) }, me.member.display_name)
    : 'none yet (it is created when you sign in with Discord)');
  fact(details, 'Account created', formatDate(me.created_at));
  fact(details, 'Last sign-in', formatDate(me.last_login));

  if (me.discord_id) {
    $('#discord-state').textContent = 'Your Discord account (id ' + me.discord_id + ') is linked; you can sign in with it.';
    $('#link-discord').hidden = true;
  } else {
    $('#discord-state').textContent = 'No Discord account is linked yet. Link one to sign in with Discord and to appear on the roster.';
    $('#link-discord').hidden = false;
  }

  $('#pw-username').value = me.username;
  if (me.must_change_password) {
    say(status, 'info', 'You must change your password before you can use the rest of the site.');
  } else {
    quiet(status);
  }
  $('#account').hidden = false;
}

$('#password-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const out = $('#password-status');
  quiet(out);
  const current = $('#current-password').value;
  const password = $('#new-password').value;
  const problem = passwordProblem(password, { confirm: $('#confirm-password').value });
  if (problem) {
    say(out, 'error', problem);
    return;
  }
  const body = { new_password: password };
  if (current) body.current_password = current;
  const code = twoFactorCode($('#password-code'));
  if (code) body.code = code;
  setBusy(form, true);
  try {
    const res = await api('/api/auth/password', { method: 'POST', body });
    form.reset();
    if (res && res.user) me = { ...me, ...res.user };
    me.must_change_password = false;
    show();
    say(out, 'ok', 'Password changed. Your other sessions have been signed out.');
  } catch (err) {
    say(out, 'error', err.code === 'invalid_credentials' ? 'The current password is wrong.' : describe(err));
  } finally {
    $('#password-code').value = '';
    setBusy(form, false);
  }
});

$('#sign-out').addEventListener('click', async (event) => {
  const button = event.currentTarget;
  const out = $('#signout-status');
  quiet(out);
  button.disabled = true;
  try {
    await api('/api/auth/logout', { method: 'POST' });
    location.assign('/login');
  } catch (err) {
    say(out, 'error', 'You are still signed in. ' + describe(err));
    button.disabled = false;
  }
});

async function main() {
  showPasswordRules($('#policy'));
  try {
    me = await getMe();
  } catch (err) {
    sayError(status, err);
    return;
  }
  if (!me) {
    sayError(status, new ApiError(401, 'not_authenticated', ''));
    return;
  }
  show();
}

main();
