// Admin page: the audit log (GET /api/admin/audit), filtered by event and
// user, paged with before_id (newest first). Every value reaches the page as
// text, never as HTML.
import { $, el, api, clear, formatDate, say, quiet, describe } from './app.js';

const EVENTS = ['login', 'logout', 'password_change', 'session_end', 'discord_login',
  'discord_link', 'totp_enable', 'totp_disable', 'role_change', 'user_disable', 'user_enable',
  'user_add', 'member_create', 'member_update', 'member_delete'];
const PAGE = 50;

const status = $('#status');
const table = $('#audit');
const rows = $('#rows');
const pager = $('#pager');
let next = null;
let filters = {};

function query(before) {
  const q = new URLSearchParams({ limit: String(PAGE) });
  if (filters.event) q.set('event', filters.event);
  if (filters.user_id) q.set('user_id', filters.user_id);
  if (before) q.set('before_id', String(before));
  return '/api/admin/audit?' + q.toString();
}

function row(e) {
  const detail = e.detail && Object.keys(e.detail).length ? JSON.stringify(e.detail) : '';
  return el('tr', {},
    el('td', {}, el('time', { datetime: e.at }, formatDate(e.at))),
    el('td', {}, e.event),
    el('td', { class: e.outcome === 'ok' ? '' : 'muted' }, e.outcome),
    el('td', {}, e.actor_user_id === null ? '—' : String(e.actor_user_id)),
    el('td', {}, e.target || '—'),
    el('td', {}, e.ip || '—'),
    el('td', { class: 'detail' }, detail));
}

async function show(before) {
  quiet(status);
  let res;
  try {
    res = await api(query(before));
  } catch (err) {
    table.hidden = true;
    pager.hidden = true;
    say(status, 'error', describe(err));
    return;
  }
  clear(rows);
  for (const e of res.items) rows.append(row(e));
  table.hidden = res.items.length === 0;
  if (res.items.length === 0) say(status, 'info', 'No events match.');
  next = res.next_before_id;
  $('#older').disabled = next === null;
  $('#newest').disabled = !before;
  pager.hidden = next === null && !before;
}

$('#filters').addEventListener('submit', (event) => {
  event.preventDefault();
  const userId = $('#user-id').value.trim();
  if (userId && !/^[1-9][0-9]{0,15}$/.test(userId)) {
    say(status, 'error', 'A user id is a positive whole number.');
    return;
  }
  filters = { event: $('#event').value, user_id: userId };
  show(null);
});
$('#older').addEventListener('click', () => { if (next !== null) show(next); });
$('#newest').addEventListener('click', () => show(null));

for (const name of EVENTS) $('#event').append(el('option', { value: name }, name));
show(null);
