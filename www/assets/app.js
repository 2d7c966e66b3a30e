// Shared helpers for every page: API calls, DOM building, human messages.
// The session cookie is HttpOnly, so the pages never see the token; they ask
// /api/auth/me who is signed in. Nothing from the server or the URL is ever
// parsed as HTML: every string reaches the page through text nodes.

export class ApiError extends Error {
  constructor(status, code, detail, retryAfter) {
    super(detail || code);
    this.status = status;
    this.code = code;
    this.detail = detail || '';
    this.retryAfter = retryAfter;
  }
}

// Sends JSON, receives JSON. Resolves with the parsed body (null for 204) and
// rejects with an ApiError carrying the contract's {"error","detail"} fields.
export async function api(path, opts = {}) {
  const init = {
    method: opts.method || 'GET',
    credentials: 'same-origin',
    cache: 'no-store',
    headers: { Accept: 'application/json' },
  };
  if (opts.body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'network', '');
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = JSON.parse(await res.text());
  } catch (e) {
    data = null;
  }
  if (!res.ok) {
    const ok = data && typeof data === 'object';
    // A body that is not ours (an HTML 404 or 502 page) means the API is not
    // reachable behind this address, which reads better than "HTTP 502".
    const code = ok && typeof data.error === 'string' ? data.error : 'unavailable';
    const detail = ok && typeof data.detail === 'string' ? data.detail : '';
    throw new ApiError(res.status, code, detail, res.headers.get('Retry-After'));
  }
  if (data === null || typeof data !== 'object') throw new ApiError(res.status, 'unavailable', '');
  return data;
}

const MESSAGES = {
  network: 'The server could not be reached. Check your connection and try again.',
  invalid_request: 'The request was not valid.',
  unknown_field: 'One of these fields cannot be changed.',
  weak_password: 'The new password does not meet the policy.',
  invalid_state: 'The sign-in link expired or was already used. Please start again.',
  invalid_grant: 'Discord did not accept the sign-in. Please start again.',
  access_denied: 'Discord sign-in was cancelled.',
  not_authenticated: 'You are not signed in.',
  invalid_credentials: 'Wrong username or password.',
  forbidden: 'You are not allowed to do that.',
  forbidden_field: 'You are not allowed to change one of these fields.',
  account_disabled: 'This account is disabled. Ask an officer for help.',
  password_change_required: 'You must change your password before you continue.',
  csrf_failed: 'The request was refused because it did not come from this site. Reload the page and try again.',
  not_found: 'Not found.',
  method_not_allowed: 'That action is not supported.',
  conflict: 'That already exists.',
  discord_already_linked: 'That Discord account is already linked to another user.',
  not_guild_member: 'This sign-in is for members of the Farout Discord server. Join the server with this Discord account, then sign in again.',
  payload_too_large: 'That is too much data to send at once.',
  unsupported_media_type: 'The server did not accept the request format.',
  too_many_attempts: 'Too many attempts. Please wait before you try again.',
  discord_unavailable: 'Discord is not responding right now. Please try again in a moment.',
  unavailable: 'The service is unavailable right now. Please try again in a moment.',
  invalid_code: 'That code is wrong or was already used. Wait for the next code and try again.',
};

// Text for a code from the URL (?error=...): only known codes are shown.
export function messageForCode(code, fallback) {
  return Object.prototype.hasOwnProperty.call(MESSAGES, code) ? MESSAGES[code] : fallback;
}

// The API's own words (its "detail") when it gave some; our sentence for the
// code otherwise (a network failure, an nginx page that is not ours).
export function describe(err) {
  if (!(err instanceof ApiError)) return 'Something went wrong on this page. Reload it and try again.';
  let text = err.detail || messageForCode(err.code, 'Something went wrong. Please try again.');
  if (err.code === 'too_many_attempts') {
    const secs = Number.parseInt(err.retryAfter, 10);
    if (secs > 0) text += ' Try again in ' + (secs < 120 ? secs + ' seconds.' : Math.ceil(secs / 60) + ' minutes.');
  }
  return text;
}

// el('a', {href: '/x', class: 'button'}, 'text', childNode, ...)
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

// Writes a message into a status region; kind is 'error', 'ok' or 'info'.
export function say(node, kind, ...content) {
  clear(node);
  node.hidden = false;
  node.className = 'notice ' + kind;
  append(node, content);
}

export function quiet(node) {
  clear(node);
  node.hidden = true;
}

// Same rule as the server for ?next=: a path on this site only.
export function safeNext(value) {
  if (typeof value !== 'string' || value.length === 0 || value.length > 512) return null;
  if (value[0] !== '/' || value[1] === '/' || value.includes('\\')) return null;
  if (/[\u0000-\u001f\u007f]/.test(value)) return null;
  return value.split('#')[0];
}

export function here() {
  return location.pathname + location.search;
}

export function signInLink(text = 'Sign in') {
  return el('a', { href: '/login?next=' + encodeURIComponent(here()) }, text);
}

// Renders an API error, with the one action that fixes the common cases.
export function sayError(node, err) {
  if (err instanceof ApiError && err.code === 'not_authenticated') {
    say(node, 'info', 'You need to sign in to see this page. ', signInLink('Sign in'), '.');
  } else if (err instanceof ApiError && err.code === 'password_change_required') {
    say(node, 'info', describe(err), ' ', el('a', { href: '/account' }, 'Change your password'), '.');
  } else {
    say(node, 'error', describe(err));
  }
}

let mePromise = null;

// The signed-in user (with "member"), or null when nobody is signed in.
// Other failures reject, so a page can tell "signed out" from "API down".
export function getMe() {
  if (!mePromise) {
    mePromise = api('/api/auth/me').catch((err) => {
      if (err instanceof ApiError && err.code === 'not_authenticated') return null;
      throw err;
    });
  }
  return mePromise;
}

export function displayName(me) {
  return (me.member && me.member.display_name) || me.username;
}

export const ROLE_LEVEL = { member: 0, officer: 1, admin: 2 };

export function hasRole(me, role) {
  return !!me && (ROLE_LEVEL[me.role] ?? -1) >= ROLE_LEVEL[role];
}

export function formatDate(value) {
  if (!value) return 'never';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toLocaleString();
}

export function plural(n, one, many) {
  return n + ' ' + (n === 1 ? one : many);
}

// Unicode code points, which is how the server counts characters.
export function charCount(s) {
  return Array.from(s).length;
}

export function byteLength(s) {
  return new TextEncoder().encode(s).length;
}

// Every rule POST /api/auth/password applies, stated before the user types.
export const PASSWORD_RULES = [
  '10 to 72 bytes long (most characters are one byte; accented letters and emoji take more);',
  'not containing your username, and different from your current password;',
  'hard to guess: the zxcvbn estimator must put it at 10^10 guesses or more, with your username, ' +
    'your email and "farout" counting as easy words. Four or more unrelated words, or a long ' +
    'mix of words, digits and symbols, will do.',
];

// Fills a hint element with the rules as a list.
export function showPasswordRules(node) {
  node.replaceChildren(el('span', {}, 'Your new password must be:'),
    el('ul', {}, PASSWORD_RULES.map((rule) => el('li', {}, rule))));
}

// What only the page can check: that a password was typed, the same twice.
// Every rule of the policy is the server's to judge, so that a refusal shows
// in the API's own words.
export function passwordProblem(password, { confirm } = {}) {
  if (password.length === 0) return 'Enter a new password.';
  if (confirm !== undefined && password !== confirm) return 'The two new passwords do not match.';
  return null;
}

export function isHttpUrl(value) {
  try {
    const u = new URL(value);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch (e) {
    return false;
  }
}

export const DEFAULT_AVATAR = '/assets/avatar.svg';

// Pictures the Content-Security-Policy lets in (img-src 'self' https:).
export function isShowableImage(value) {
  try {
    const u = new URL(value, location.href);
    return u.protocol === 'https:' || u.origin === location.origin;
  } catch (e) {
    return false;
  }
}

// An avatar: the picture when it loads, the default avatar when it fails (an
// offline CDN, a dead link), initials when there is no picture at all.
export function avatar(url, name, size = 48) {
  const initials = Array.from((name || '?').trim()).slice(0, 1).join('').toUpperCase() || '?';
  const box = el('span', { class: 'avatar', 'aria-hidden': 'true' }, initials);
  box.classList.add(size > 64 ? 'large' : 'small');
  if (typeof url === 'string' && url !== '') {
    const img = el('img', {
      src: isShowableImage(url) ? url : DEFAULT_AVATAR, alt: '', width: size, height: size,
      loading: 'lazy', referrerpolicy: 'no-referrer',
    });
    img.addEventListener('error', () => {
      if (img.getAttribute('src') !== DEFAULT_AVATAR) img.src = DEFAULT_AVATAR;
      else img.remove();
    });
    box.append(img);
  }
  return box;
}

export function setBusy(form, busy) {
  for (const b of form.querySelectorAll('button, input[type=submit]')) b.disabled = busy;
  form.setAttribute('aria-busy', busy ? 'true' : 'false');
}

async function renderWhoami() {
  const slot = document.getElementById('whoami');
  if (!slot) return;
  try {
    const me = await getMe();
    if (me) {
      slot.replaceChildren('Signed in as ', el('a', { href: '/account' }, displayName(me)));
    } else {
      slot.replaceChildren(signInLink('Sign in'));
    }
  } catch (err) {
    slot.replaceChildren(el('span', { class: 'muted' }, 'Sign-in status unavailable'));
  }
}

// After signing in or out on the same page.
export function refreshWhoami() {
  mePromise = null;
  return renderWhoami();
}

// Back and forward must not show a signed-out visitor a page rendered for the
// signed-in user from the browser's back-forward cache: such a page reloads.
window.addEventListener('pageshow', (event) => {
  if (event.persisted) location.reload();
});

renderWhoami();

// A two-factor code as typed into input: a TOTP code loses its spaces
// ("123 456"); a recovery code is sent as typed (the server ignores case,
// dashes and spaces). '' when empty.
export function twoFactorCode(input) {
  const raw = input ? input.value.trim() : '';
  return /^[0-9][0-9 ]*$/.test(raw) ? raw.replace(/ /g, '') : raw;
}
