// Account page, "Where you are signed in": the caller's live sessions
// (GET /api/auth/sessions), ending one (DELETE /api/auth/sessions/{id}) or all
// others (DELETE /api/auth/sessions). The page sends the cookie; the API's
// CSRF rule is met by the browser's Origin header on these same-site DELETEs.
import { $, el, api, clear, formatDate, getMe, say, quiet, describe } from './app.js';

const list = $('#sessions');
const status = $('#sessions-status');
const endOthers = $('#end-others');

// "Firefox on Linux" from a User-Agent, or the raw string when nothing is recognised.
export function deviceName(ua) {
  if (!ua) return 'Unknown device';
  const browsers = [['Edg/', 'Edge'], ['OPR/', 'Opera'], ['Firefox/', 'Firefox'],
    ['Chrome/', 'Chrome'], ['Safari/', 'Safari'], ['curl/', 'curl']];
  const systems = [['Android', 'Android'], ['iPhone', 'iPhone'], ['iPad', 'iPad'],
    ['Windows', 'Windows'], ['Mac OS X', 'macOS'], ['CrOS', 'ChromeOS'], ['Linux', 'Linux']];
  const browser = browsers.find(([needle]) => ua.includes(needle));
  const system = systems.find(([needle]) => ua.includes(needle));
  if (!browser && !system) return ua.length > 80 ? ua.slice(0, 80) + '…' : ua;
  return (browser ? browser[1] : 'A browser') + (system ? ' on ' + system[1] : '');
}

function item(s) {
  const how = s.method === 'discord' ? 'with Discord' : s.method === 'password' ? 'with a password' : '';
  const end = el('button', { type: 'button', class: 'secondary', 'data-id': s.id },
    s.current ? 'Sign out here' : 'End this session');
  end.addEventListener('click', () => endOne(s, end));
  return el('li', { class: 'session' + (s.current ? ' current' : '') },
    el('div', {},
      el('strong', {}, deviceName(s.user_agent)),
      s.current ? el('span', { class: 'badge' }, 'this device') : null),
    el('div', { class: 'muted' },
      'Signed in ', how, ' from ', s.ip || 'an unknown address', ' on ', formatDate(s.created_at),
      '; expires ', formatDate(s.expires_at)),
    s.user_agent ? el('div', { class: 'muted ua', title: s.user_agent }, s.user_agent) : null,
    el('div', { class: 'actions' }, end));
}

async function load() {
  let res;
  try {
    res = await api('/api/auth/sessions');
  } catch (err) {
    say(status, 'error', describe(err));
    return;
  }
  clear(list);
  for (const s of res.items) list.append(item(s));
  endOthers.hidden = res.items.filter((s) => !s.current).length === 0;
  if (res.items.length === 0) say(status, 'info', 'No live sessions.');
}

async function endOne(s, button) {
  button.disabled = true;
  quiet(status);
  try {
    await api('/api/auth/sessions/' + encodeURIComponent(s.id), { method: 'DELETE' });
    if (s.current) {
      location.assign('/');
      return;
    }
    say(status, 'ok', 'That session has been signed out.');
    await load();
getMe().then((me) => { if (me && me.role === 'admin') $('#admin-card').hidden = false; }, () => {});
  } catch (err) {
    say(status, 'error', describe(err));
    button.disabled = false;
  }
}

endOthers.addEventListener('click', async () => {
  endOthers.disabled = true;
  quiet(status);
  try {
    await api('/api/auth/sessions', { method: 'DELETE' });
    say(status, 'ok', 'Every other session has been signed out.');
    await load();
getMe().then((me) => { if (me && me.role === 'admin') $('#admin-card').hidden = false; }, () => {});
  } catch (err) {
    say(status, 'error', describe(err));
  } finally {
    endOthers.disabled = false;
  }
});

load();
getMe().then((me) => { if (me && me.role === 'admin') $('#admin-card').hidden = false; }, () => {});
