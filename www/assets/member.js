// One member: the profile, and the edit forms the viewer is allowed to use.
// The server has the final word on who may write what; the forms only avoid
// offering what would be refused.
import {
  $, el, api, avatar, charCount, clear, formatDate, getMe, hasRole, isHttpUrl,
  say, quiet, sayError, describe, setBusy,
} from './app.js';

const id = new URLSearchParams(location.search).get('id') || '';
const status = $('#status');
let me = null;
let member = null;

function itemText(item) {
  if (typeof item === 'string') return item;
  if (item && typeof item === 'object' && typeof item.name === 'string') return item.name;
  return JSON.stringify(item);
}

function fillList(node, list) {
  const items = Array.isArray(list) ? list : [];
  node.replaceChildren(...(items.length
    ? items.map((item) => el('li', {}, itemText(item)))
    : [el('li', { class: 'muted' }, 'None yet.')]));
}

function fillStats(node, stats) {
  clear(node);
  const entries = stats && typeof stats === 'object' && !Array.isArray(stats) ? Object.entries(stats) : [];
  if (!entries.length) {
    node.append(el('dt', {}, 'None yet'), el('dd', {}, ''));
    return;
  }
  for (const [key, value] of entries) {
    node.append(el('dt', {}, key), el('dd', {}, typeof value === 'object' ? JSON.stringify(value) : String(value)));
  }
}

function show() {
  const self = !!(me && me.discord_id && me.discord_id === member.discord_id);
  const admin = hasRole(me, 'admin');
  const officer = hasRole(me, 'officer');

  document.title = member.display_name + ' · Farout';
  $('#avatar-slot').replaceChildren(avatar(member.avatar_url, member.display_name, 96));
  $('#name').textContent = member.display_name;
  $('#rank-badge').textContent = member.rank;
  const bio = $('#bio');
  bio.textContent = member.bio || 'No bio yet.';
  bio.classList.toggle('muted', !member.bio);
  fillList($('#missions'), member.missions_completed);
  fillList($('#trainings'), member.trainings_completed);
  fillStats($('#stats'), member.stats);
  $('#dates').textContent = 'Member since ' + formatDate(member.created_at) +
    ' · last updated ' + formatDate(member.updated_at);
  $('#view').hidden = false;

  $('#profile-edit').hidden = !(self || admin);
  $('#avatar-field').hidden = !admin;
  $('#display-name').value = member.display_name;
  $('#bio-input').value = member.bio || '';
  $('#avatar-url').value = member.avatar_url || '';

  $('#staff-edit').hidden = !officer;
  $('#danger').hidden = !admin;
  $('#rank-input').value = member.rank;
  $('#missions-input').value = JSON.stringify(member.missions_completed ?? [], null, 2);
  $('#trainings-input').value = JSON.stringify(member.trainings_completed ?? [], null, 2);
  $('#stats-input').value = JSON.stringify(member.stats ?? {}, null, 2);
}

class Invalid extends Error {}

function parseJsonField(selector, label, kind) {
  let value;
  try {
    value = JSON.parse($(selector).value);
  } catch (e) {
    throw new Invalid(label + ' is not valid JSON.');
  }
  const isArray = Array.isArray(value);
  const isObject = value !== null && typeof value === 'object' && !isArray;
  if (kind === 'array' && !isArray) throw new Invalid(label + ' must be a JSON array, like ["a", "b"].');
  if (kind === 'object' && !isObject) throw new Invalid(label + ' must be a JSON object, like {"key": 1}.');
  return value;
}

function changed(a, b) {
  return JSON.stringify(a) !== JSON.stringify(b);
}

function profilePatch() {
  const patch = {};
  const name = $('#display-name').value.trim();
  if (name !== member.display_name) {
    if (charCount(name) < 1 || charCount(name) > 64) throw new Invalid('The display name must have 1 to 64 characters.');
    patch.display_name = name;
  }
  const bioText = $('#bio-input').value;
  const bio = bioText.trim() === '' ? null : bioText;
  if (bio !== (member.bio ?? null)) {
    if (bio !== null && charCount(bio) > 2000) throw new Invalid('The bio may have at most 2000 characters.');
    patch.bio = bio;
  }
  if (hasRole(me, 'admin')) {
    const urlText = $('#avatar-url').value.trim();
    const url = urlText === '' ? null : urlText;
    if (url !== (member.avatar_url ?? null)) {
      if (url !== null && (!isHttpUrl(url) || !url.startsWith('https:') || url.length > 512)) {
        throw new Invalid('The avatar URL must be an https address of at most 512 characters.');
      }
      patch.avatar_url = url;
    }
  }
  return patch;
}

function staffPatch() {
  const patch = {};
  const rank = $('#rank-input').value.trim();
  if (rank !== member.rank) {
    if (charCount(rank) < 1 || charCount(rank) > 32) throw new Invalid('The rank must have 1 to 32 characters.');
    patch.rank = rank;
  }
  const missions = parseJsonField('#missions-input', 'Missions completed', 'array');
  if (changed(missions, member.missions_completed)) patch.missions_completed = missions;
  const trainings = parseJsonField('#trainings-input', 'Trainings completed', 'array');
  if (changed(trainings, member.trainings_completed)) patch.trainings_completed = trainings;
  const stats = parseJsonField('#stats-input', 'Stats', 'object');
  if (changed(stats, member.stats)) patch.stats = stats;
  return patch;
}

async function save(form, out, makePatch) {
  quiet(out);
  let patch;
  try {
    patch = makePatch();
  } catch (err) {
    if (!(err instanceof Invalid)) throw err;
    say(out, 'error', err.message);
    return;
  }
  if (Object.keys(patch).length === 0) {
    say(out, 'info', 'Nothing to save: no field was changed.');
    return;
  }
  setBusy(form, true);
  try {
    member = await api('/api/members/' + encodeURIComponent(member.discord_id), { method: 'PATCH', body: patch });
    show();
    say(out, 'ok', 'Saved.');
  } catch (err) {
    if (err.code === 'not_authenticated' || err.code === 'password_change_required') sayError(out, err);
    else say(out, 'error', 'Not saved. ' + describe(err));
  } finally {
    setBusy(form, false);
  }
}

$('#profile-form').addEventListener('submit', (event) => {
  event.preventDefault();
  save(event.currentTarget, $('#profile-status'), profilePatch);
});
$('#staff-form').addEventListener('submit', (event) => {
  event.preventDefault();
  save(event.currentTarget, $('#staff-status'), staffPatch);
});

$('#delete-member').addEventListener('click', async (event) => {
  const button = event.currentTarget;
  const out = $('#delete-status');
  quiet(out);
  if (!window.confirm('Delete ' + member.display_name + ' from the roster? This cannot be undone.')) return;
  button.disabled = true;
  try {
    await api('/api/members/' + encodeURIComponent(member.discord_id), { method: 'DELETE' });
    // Said once on the roster; kept out of the URL, where anyone could write it.
    sessionStorage.setItem('farout-flash', 'Deleted ' + member.display_name + ' from the roster.');
    location.assign('/members');
  } catch (err) {
    say(out, 'error', 'Not deleted. ' + describe(err));
    button.disabled = false;
  }
});

async function main() {
  if (!/^\d{1,20}$/.test(id)) {
    say(status, 'error', 'This page needs a member id. ', el('a', { href: '/members' }, 'Pick a member from the roster'), '.');
    return;
  }
  try {
    // A failing /me only costs the edit forms; the profile can still show.
    [me, member] = await Promise.all([getMe().catch(() => null), api('/api/members/' + id)]);
  } catch (err) {
    if (err.code === 'not_found') {
      say(status, 'error', 'There is no member with this id. ', el('a', { href: '/members' }, 'Back to the roster'), '.');
    } else {
      sayError(status, err);
    }
    return;
  }
  quiet(status);
  show();
}

main();
