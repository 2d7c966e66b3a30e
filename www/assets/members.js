// The roster: search, rank filter and pages, kept in the address bar so a
// view can be bookmarked and the back button works.
import {
  $, el, api, avatar, clear, plural, say, quiet, sayError, describe, getMe, hasRole, setBusy, charCount,
} from './app.js';

const LIMIT = 50;
const form = $('#filters');
const status = $('#status');
const roster = $('#roster');
const pager = $('#pager');
const seenRanks = new Set(['member', 'officer']);
let loadSeq = 0;
let typingTimer = null;

function readState() {
  const p = new URLSearchParams(location.search);
  const offset = Number.parseInt(p.get('offset') || '0', 10);
  return {
    q: p.get('q') || '',
    rank: p.get('rank') || '',
    offset: Number.isFinite(offset) && offset > 0 ? offset : 0,
  };
}

function writeState(state, push) {
  const p = new URLSearchParams();
  if (state.q) p.set('q', state.q);
  if (state.rank) p.set('rank', state.rank);
  if (state.offset) p.set('offset', String(state.offset));
  const url = location.pathname + (p.toString() ? '?' + p : '');
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
}

function count(list) {
  return Array.isArray(list) ? list.length : 0;
}

function card(m) {
  if (typeof m.rank === 'string') seenRanks.add(m.rank);
  return el('li', {},
    avatar(m.avatar_url, m.display_name, 48),
    el('div', { class: 'who' },
      el('a', { class: 'name', href: '/member?id=' + encodeURIComponent(m.discord_id) }, m.display_name),
      el('span', { class: 'badge' }, m.rank),
      el('p', { class: 'counts' },
        plural(count(m.missions_completed), 'mission', 'missions') + ' · ' +
        plural(count(m.trainings_completed), 'training', 'trainings')),
      m.bio ? el('p', { class: 'bio-line' }, m.bio) : null));
}

function render(state, page) {
  const items = Array.isArray(page.items) ? page.items : [];
  const total = Number.isInteger(page.total) ? page.total : items.length;
  roster.replaceChildren(...items.map(card));
  clear($('#ranks')).append(...[...seenRanks].sort().map((r) => el('option', { value: r })));
  if (items.length === 0) {
    say(status, 'info', state.q || state.rank ? 'No members match this search.' : 'The roster is empty.');
  } else {
    quiet(status);
  }
  pager.hidden = total <= LIMIT && state.offset === 0;
  $('#range').textContent = items.length
    ? `${state.offset + 1}–${state.offset + items.length} of ${total}`
    : `${total} in total`;
  $('#prev').disabled = state.offset === 0;
  $('#next').disabled = state.offset + items.length >= total;
}

async function load() {
  const state = readState();
  $('#q').value = state.q;
  $('#rank').value = state.rank;
  const seq = ++loadSeq;
  const query = new URLSearchParams({ limit: String(LIMIT), offset: String(state.offset) });
  if (state.q) query.set('q', state.q);
  if (state.rank) query.set('rank', state.rank);
  roster.setAttribute('aria-busy', 'true');
  try {
    const page = await api('/api/members?' + query);
    if (seq === loadSeq) render(state, page);
  } catch (err) {
    if (seq !== loadSeq) return;
    roster.replaceChildren();
    pager.hidden = true;
    sayError(status, err);
  } finally {
    if (seq === loadSeq) roster.setAttribute('aria-busy', 'false');
  }
}

function search(push) {
  clearTimeout(typingTimer);
  writeState({ q: $('#q').value.trim(), rank: $('#rank').value.trim(), offset: 0 }, push);
  load();
}

function turn(delta) {
  const state = readState();
  state.offset = Math.max(0, state.offset + delta);
  writeState(state, true);
  load();
  $('#main').scrollIntoView();
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  search(true);
});
$('#q').addEventListener('input', () => {
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => search(false), 350);
});
$('#rank').addEventListener('change', () => search(true));
$('#prev').addEventListener('click', () => turn(-LIMIT));
$('#next').addEventListener('click', () => turn(LIMIT));
window.addEventListener('popstate', load);

// Admins add members here (Discord sign-in adds them too).
$('#add-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const addForm = event.currentTarget;
  const out = $('#add-status');
  quiet(out);
  const discordId = $('#new-discord-id').value.trim();
  const name = $('#new-display-name').value.trim();
  if (!/^\d{1,20}$/.test(discordId)) {
    say(out, 'error', 'The Discord id must be 1 to 20 digits.');
    return;
  }
  if (charCount(name) < 1 || charCount(name) > 64) {
    say(out, 'error', 'The display name must have 1 to 64 characters.');
    return;
  }
  setBusy(addForm, true);
  try {
    const member = await api('/api/members', { method: 'POST', body: { discord_id: discordId, display_name: name } });
    location.assign('/member?id=' + encodeURIComponent(member.discord_id));
  } catch (err) {
    say(out, 'error', 'Not added. ' + describe(err));
    setBusy(addForm, false);
  }
});

// After a deletion on a member's page: said once.
const flash = sessionStorage.getItem('farout-flash');
if (flash) {
  sessionStorage.removeItem('farout-flash');
  say($('#flash'), 'ok', flash);
}

getMe().then((me) => {
  $('#add-member').hidden = !hasRole(me, 'admin');
}).catch(() => {});

load();
