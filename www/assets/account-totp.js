// Account page, two-factor sign-in (TOTP): its state, setup with a QR code
// drawn here in the browser (the vendored qrcode-generator; the secret never
// leaves the page except to the user's own app), the recovery codes shown
// once, and turning it off with the password and a code.
import qrcode from './vendor/qrcode-generator-2.0.4/qrcode.mjs';
import {
  $, api, clear, describe, el, getMe, say, quiet, setBusy, twoFactorCode, plural,
} from './app.js';

const SVG = 'http://www.w3.org/2000/svg';
const section = $('#totp');
const out = $('#totp-status');

// The QR code as an SVG of one path: attributes only, so the page's CSP
// (no inline styles, no data: images) has nothing to object to.
function drawQr(text) {
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const margin = 4;
  const size = n + 2 * margin;
  let d = '';
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (qr.isDark(r, c)) d += 'M' + (c + margin) + ' ' + (r + margin) + 'h1v1h-1z';
    }
  }
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 ' + size + ' ' + size);
  svg.setAttribute('width', '220');
  svg.setAttribute('height', '220');
  svg.setAttribute('shape-rendering', 'crispEdges');
  const bg = document.createElementNS(SVG, 'rect');
  bg.setAttribute('width', String(size));
  bg.setAttribute('height', String(size));
  bg.setAttribute('fill', '#fff');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000');
  svg.append(bg, path);
  return svg;
}

function show(state) {
  section.hidden = false;
  $('#totp-start-actions').hidden = true;
  $('#totp-disable-form').hidden = true;
  $('#password-code-field').hidden = !state.enabled;
  const text = $('#totp-state');
  if (!state.password_account) {
    text.textContent = 'Two-factor sign-in protects accounts that sign in with a password. ' +
      'Your account signs in with Discord only; set a password first to use it.';
    return;
  }
  if (state.enabled) {
    text.textContent = 'Two-factor sign-in is on: signing in asks for a code from your app after the password. ' +
      'You have ' + plural(state.recovery_codes_left, 'recovery code', 'recovery codes') + ' left.';
    $('#totp-disable-form').hidden = false;
  } else {
    text.textContent = 'Two-factor sign-in is off. Turn it on to ask for a code from an authenticator app ' +
      'after your password.';
    $('#totp-start-actions').hidden = false;
  }
}

async function refresh() {
  try {
    const state = await api('/api/auth/totp');
    const me = await getMe();
    if (me) $('#totp-username').value = me.username;
    show(state);
  } catch (err) {
    // Not signed in: account.js says so. Not configured here: the section stays away.
    if (err.status === 401 || err.status === 403) return;
    section.hidden = false;
    $('#totp-state').textContent = err.status === 503
      ? 'Two-factor sign-in is not available on this server.'
      : describe(err);
  }
}

$('#totp-start').addEventListener('click', async (event) => {
  const button = event.currentTarget;
  quiet(out);
  button.disabled = true;
  try {
    const res = await api('/api/auth/totp/setup', { method: 'POST' });
    const box = clear($('#totp-qr'));
    try {
      box.append(drawQr(res.otpauth_uri));
    } catch (e) {
      box.append(el('p', { class: 'hint' }, 'The QR code could not be drawn; type the secret instead.'));
    }
    $('#totp-secret').textContent = res.secret;
    $('#totp-codes').hidden = true;
    $('#totp-setup').hidden = false;
    $('#totp-start-actions').hidden = true;
    $('#totp-enable-code').focus();
  } catch (err) {
    say(out, 'error', describe(err));
  } finally {
    button.disabled = false;
  }
});

$('#totp-copy').addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText($('#totp-secret').textContent);
    say(out, 'ok', 'Secret copied.');
  } catch (e) {
    say(out, 'info', 'Select the secret and copy it by hand.');
  }
});

$('#totp-enable-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  quiet(out);
  const code = twoFactorCode($('#totp-enable-code'));
  if (!/^[0-9]{6}$/.test(code)) {
    say(out, 'error', 'Enter the 6-digit code your app shows.');
    return;
  }
  setBusy(form, true);
  try {
    const res = await api('/api/auth/totp/enable', { method: 'POST', body: { code } });
    form.reset();
    $('#totp-setup').hidden = true;
    clear($('#totp-secret'));
    clear($('#totp-qr'));
    const list = clear($('#totp-code-list'));
    for (const c of res.recovery_codes) list.append(el('li', {}, el('code', {}, c)));
    $('#totp-codes').hidden = false;
    say(out, 'ok', 'Two-factor sign-in is on.');
    await refresh();
  } catch (err) {
    say(out, 'error', err.code === 'invalid_code'
      ? 'That code does not match. Check that the phone\u2019s clock is right and try the next code.'
      : describe(err));
  } finally {
    setBusy(form, false);
  }
});

$('#totp-disable-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  quiet(out);
  const password = $('#totp-disable-password').value;
  const code = twoFactorCode($('#totp-disable-code'));
  if (!password || !code) {
    say(out, 'error', 'Enter your password and a code.');
    return;
  }
  setBusy(form, true);
  try {
    await api('/api/auth/totp/disable', { method: 'POST', body: { password, code } });
    form.reset();
    $('#totp-codes').hidden = true;
    say(out, 'ok', 'Two-factor sign-in is off.');
    await refresh();
  } catch (err) {
    say(out, 'error', err.code === 'invalid_credentials' ? 'The password is wrong.' : describe(err));
  } finally {
    setBusy(form, false);
  }
});

refresh();
