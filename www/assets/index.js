// Landing page: says who is signed in and offers the next step.
import { $, el, getMe, displayName, describe } from './app.js';

async function main() {
  const status = $('#session');
  try {
    const me = await getMe();
    if (!me) {
      status.textContent = 'You are not signed in.';
      return;
    }
    status.replaceChildren('Signed in as ', el('strong', { text: displayName(me) }), ' (' + me.role + ').');
    if (me.must_change_password) status.append(' Please change your password on your account page.');
    $('#sign-in').hidden = true;
    $('#to-members').hidden = false;
    $('#to-account').hidden = false;
  } catch (err) {
    status.textContent = 'We cannot check whether you are signed in. ' + describe(err);
  }
}

main();
