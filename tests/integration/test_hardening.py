"""Issue 10 (hardening): the contract changes and the attack run's findings,
each test named after the attack it stops, through nginx against the real
programs (fake Discord as the only stand-in)."""

import functools

import pytest
import requests

import helpers
from harness import ADMIN_PASSWORD, ADMIN_USERNAME
from helpers import PASSWORD, assert_error, get, insert_user, login, post

TIMEOUT = 15
JSON = {"Accept": "application/json"}
STRONG = "Changed-Pass-22"  # zxcvbn 39.8 bits
OAUTH_FLOWS_PER_ADDR = 20  # lib/oauth.h
assert_exact = functools.partial(assert_error, exact=True)


# ---- Discord helpers (a browser is a requests.Session keeping farout_oauth) ----------------

def begin(stack, browser, **params):
    return browser.get(stack.url("/api/auth/discord/login"), params=params, allow_redirects=False,
                       timeout=TIMEOUT)


def authorize(login_response):
    assert login_response.status_code == 302, login_response.text
    r = requests.get(login_response.headers["Location"], allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 302, r.text
    return r.headers["Location"]


def finish(browser, callback_url):
    return browser.get(callback_url, headers=JSON, allow_redirects=False, timeout=TIMEOUT)


def discord_sign_in(stack, user=None):
    if user is not None:
        stack.fake.set_user(user)
    browser = requests.Session()
    return finish(browser, authorize(begin(stack, browser)))


def admin_browser(stack):
    """The seeded admin after the forced change, signed in by cookie like the website."""
    browser = requests.Session()
    r = browser.post(stack.url("/api/auth/login"),
                     json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    r = browser.post(stack.url("/api/auth/password"),
                     json={"current_password": ADMIN_PASSWORD, "new_password": STRONG},
                     headers={"Origin": stack.public_url}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return browser


def user_row(stack, where, *params):
    rows = stack.sql("auth", "SELECT row_to_json(u) FROM users u WHERE " + where, params)
    return rows[0][0] if rows else None


# ---- contract change 1: verify refuses the default password ---------------------------------

def test_default_admin_password_opens_nothing_nginx_guards_attack(clean):
    token = login(clean, ADMIN_USERNAME, ADMIN_PASSWORD)
    for query in ("", "?role=officer", "?role=admin"):
        assert_exact(get(clean, "/api/auth/verify" + query, token), 403, "password_change_required")
    r = requests.get(clean.url("/officers/"), headers={"Authorization": f"Bearer {token}"},
                     timeout=TIMEOUT)
    assert r.status_code == 403
    r = requests.get(clean.url("/officers/"), cookies={"farout_session": token}, timeout=TIMEOUT)
    assert r.status_code == 403
    # me, password and logout stay open to that user.
    assert get(clean, "/api/auth/me", token).status_code == 200
    new = helpers.change_admin_password(clean, token, STRONG)
    r = get(clean, "/api/auth/verify?role=admin", new)
    assert r.status_code == 204 and r.headers["X-Auth-Username"] == ADMIN_USERNAME


# ---- contract change 2: guessable passwords ---------------------------------------------------

@pytest.mark.parametrize("weak", ["abcdefghij", "Password123!", "summer2024summer", "New-Password-22",
                                  "Farout-2026-farout"])
def test_guessable_new_password_attack(clean, weak):
    token = login(clean, ADMIN_USERNAME, ADMIN_PASSWORD)
    r = post(clean, "/api/auth/password", token,
             json={"current_password": ADMIN_PASSWORD, "new_password": weak})
    assert_exact(r, 400, "weak_password")
    assert "guess" in r.json()["detail"] and weak not in r.json()["detail"]
    assert user_row(clean, "username = 'admin'")["must_change_password"] is True
    assert get(clean, "/api/auth/me", token).status_code == 200


def test_email_local_part_is_a_user_word(clean):
    insert_user(clean, "nelly", email="quorvalith@example.org")
    token = login(clean, "nelly")
    r = post(clean, "/api/auth/password", token,
             json={"current_password": PASSWORD, "new_password": "Quorvalith-2031"})
    assert_exact(r, 400, "weak_password")
    # The same password is fine for a user whose own words it does not contain.
    insert_user(clean, "bob", email="bob@example.org")
    r = post(clean, "/api/auth/password", login(clean, "bob"),
             json={"current_password": PASSWORD, "new_password": "Quorvalith-2031"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("strong", ["Changed-Pass-22", "Tr0ub4dor&3"])
def test_hard_to_guess_new_password_accepted(clean, strong):
    token = login(clean, ADMIN_USERNAME, ADMIN_PASSWORD)
    r = post(clean, "/api/auth/password", token,
             json={"current_password": ADMIN_PASSWORD, "new_password": strong})
    assert r.status_code == 200, r.text
    assert login(clean, ADMIN_USERNAME, strong)


@pytest.mark.parametrize("weak", ["abcdefghij", "Password123!", "summer2024summer", "New-Password-22"])
def test_farout_admin_refuses_guessable_passwords(clean, weak):
    r = clean.admin("user", "add", "quinn", "--keep", input=weak + "\n")
    assert r.returncode != 0 and "guess" in r.stderr and weak not in r.stderr
    assert user_row(clean, "username = 'quinn'") is None
    before = user_row(clean, "username = 'admin'")["hashed_password"]
    r = clean.admin("user", "passwd", "admin", "--keep", input=weak + "\n")
    assert r.returncode != 0 and "guess" in r.stderr
    assert user_row(clean, "username = 'admin'")["hashed_password"] == before


def test_farout_admin_counts_the_email_and_accepts_strong_passwords(clean):
    r = clean.admin("user", "add", "quinn", "--email", "quorvalith@example.org", "--keep",
                    input="Quorvalith-2031\n")
    assert r.returncode != 0 and "guess" in r.stderr
    for strong in ("Changed-Pass-22", "Tr0ub4dor&3"):
        r = clean.admin("user", "passwd", "admin", "--keep", input=strong + "\n")
        assert r.returncode == 0, r.stderr
        assert login(clean, ADMIN_USERNAME, strong)
    r = clean.admin("user", "add", "quinn", "--email", "quinn@example.org", "--keep",
                    input="Quorvalith-2031\n")
    assert r.returncode == 0, r.stderr


# ---- contract change 3: Discord keeps a password account's email -----------------------------

def test_discord_link_replacing_the_admin_email_attack(clean):
    stack = clean
    browser = admin_browser(stack)
    r = finish(browser, authorize(begin(stack, browser, link="1")))
    assert r.status_code == 200, r.text
    assert r.json()["user"]["email"] == "admin@farout.local"
    assert user_row(stack, "username = 'admin'")["email"] == "admin@farout.local"
    # At every later Discord sign-in too, even with a new verified address.
    r = discord_sign_in(stack, {"email": "elsewhere@example.com", "verified": True})
    assert r.status_code == 200 and r.json()["user"]["username"] == "admin"
    assert user_row(stack, "username = 'admin'")["email"] == "admin@farout.local"
    # The admin still signs in with that email.
    assert login(stack, "admin@farout.local", STRONG)


def test_discord_fills_a_password_account_email_only_while_empty(clean):
    stack = clean
    browser = admin_browser(stack)
    stack.sql("auth", "UPDATE users SET email = NULL WHERE username = 'admin'")
    r = finish(browser, authorize(begin(stack, browser, link="1")))
    assert r.status_code == 200, r.text
    assert user_row(stack, "username = 'admin'")["email"] == "nelly@example.com"
    # A Discord-only account still follows Discord's address.
    stack.fake.set_user({"id": "222222222222222222", "username": "plain",
                         "email": "plain@example.com"})
    discord_sign_in(stack)
    discord_sign_in(stack, {"id": "222222222222222222", "username": "plain",
                            "email": "plain2@example.com"})
    assert user_row(stack, "discord_id = '222222222222222222'")["email"] == "plain2@example.com"


# ---- finding 5: a Discord username shaped like another user's email -------------------------

def test_discord_username_shadowing_an_email_login_attack(clean):
    stack = clean
    insert_user(stack, "victim", email="victim@farout.example")
    r = discord_sign_in(stack, {"id": "333333333333333333", "username": "victim@farout.example",
                                "global_name": None, "email": None})
    assert r.status_code == 200, r.text
    name = r.json()["user"]["username"]
    assert "@" not in name
    rows = stack.sql("auth", "SELECT count(*) FROM users WHERE lower(username) = 'victim@farout.example'")
    assert rows == [(0,)]
    # The victim's email still signs the victim in, and verify names the attacker by its own name.
    r = helpers.login_response(stack, "victim@farout.example")
    assert r.status_code == 200 and r.json()["user"]["username"] == "victim"
    attacker = discord_sign_in(stack).json()["access_token"]
    assert get(stack, "/api/auth/verify", attacker).headers["X-Auth-Username"] == name


# ---- finding 11: look-alike and invisible Discord names -----------------------------------------

@pytest.mark.parametrize("discord_name", ["\u0430dmin", "\uff41\uff44\uff4d\uff49\uff4e", "ad\u200bmin",
                                          "admin\u202e", "\u200badmin\u2060"])
def test_lookalike_discord_username_attack(clean, discord_name):
    r = discord_sign_in(clean, {"id": "123456789012345678", "username": discord_name,
                                "global_name": None})
    assert r.status_code == 200, r.text
    name = r.json()["user"]["username"]
    assert name.isascii() and name.isprintable() and name != "admin"
    assert name.lower() != "admin"
    # Without a global name the member's display name is the folded Discord name: nothing hidden.
    [(shown,)] = clean.sql("app", "SELECT display_name FROM members WHERE discord_id = '123456789012345678'")
    assert shown.isascii() and shown.isprintable() and shown in name


def test_invisible_only_display_name_attack(clean):
    r = discord_sign_in(clean, {"id": "123456789012345678", "username": "zoe",
                                "global_name": "\u200b\u200b"})
    assert r.status_code == 200, r.text
    row = clean.sql("app", "SELECT display_name FROM members WHERE discord_id = '123456789012345678'")
    assert row == [("zoe",)]
    # A real non-Latin name stays recognisable.
    discord_sign_in(clean, {"id": "223456789012345678", "username": "zoe2",
                            "global_name": "Zo\u00eb \u0417\u043e\u044f\u200b"})
    row = clean.sql("app", "SELECT display_name FROM members WHERE discord_id = '223456789012345678'")
    assert row == [("Zo\u00eb \u0417\u043e\u044f",)]


# ---- finding 11: integers answered as integers ---------------------------------------------------

def test_huge_offset_echoed_as_a_float_attack(clean):
    insert_user(clean, "nelly")
    token = login(clean, "nelly")
    r = get(clean, "/api/members?offset=9223372036854775807&limit=200", token)
    assert r.status_code == 200, r.text
    assert '"offset":9223372036854775807' in r.text.replace(" ", "")
    assert "e+" not in r.text
    body = r.json()
    assert body["offset"] == 9223372036854775807 and body["limit"] == 200 and body["items"] == []


# ---- finding 11: make run's FastCGI sockets ---------------------------------------------------------

def test_make_run_sockets_open_to_local_users_attack(stack, tmp_path):
    """Any local user who reaches a FastCGI socket can speak FastCGI and choose REMOTE_ADDR."""
    import os
    import signal
    import stat
    import subprocess

    from harness import free_port

    var = tmp_path / "var"
    port = free_port()
    env = {**stack.program_env(), "FAROUT_VAR_DIR": str(var), "PUBLIC_URL": f"http://localhost:{port}",
           "FAROUT_ENV_FILE": str(tmp_path / "no.env"), "FAROUT_FAKE_DISCORD": "0",
           "FAROUT_WORKERS": "1", "FAROUT_BIN_DIR": str(stack.bin_dir)}
    for key in ("DISCORD_CLIENT_ID", "DISCORD_CLIENT_SECRET", "DISCORD_REDIRECT_URI"):
        env.pop(key, None)
    proc = subprocess.Popen([str(stack.repo / "conf/dev/run.sh")], env=env, cwd=stack.repo,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    out = []
    try:
        for line in proc.stdout:
            out.append(line)
            if "is running" in line or proc.poll() is not None:
                break
        assert any("is running" in line for line in out), "".join(out)
        run = var / "run"
        assert stat.S_IMODE(run.stat().st_mode) == 0o700
        socks = sorted(run.glob("*.sock"))
        assert len(socks) == 4
        for sock in socks:
            assert stat.S_ISSOCK(sock.stat().st_mode)
            assert stat.S_IMODE(sock.stat().st_mode) & 0o007 == 0, sock
        r = requests.get(f"http://localhost:{port}/api/health", timeout=TIMEOUT)
        assert r.status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=60)
    assert proc.returncode == 0


# ---- finding 1: a Discord link flow outliving its session ------------------------------------------

def stolen_token_link_flow(stack):
    """The admin (after the forced change) is the victim; an attacker holding the victim's
    token starts a link flow in the attacker's own browser. Returns (victim browser,
    attacker browser, the flow's first response, the stolen token)."""
    victim = admin_browser(stack)
    stolen = victim.cookies.get("farout_session")
    attacker = requests.Session()
    started = attacker.get(stack.url("/api/auth/discord/login"), params={"link": "1"},
                           headers={"Authorization": f"Bearer {stolen}"}, allow_redirects=False,
                           timeout=TIMEOUT)
    assert started.status_code == 302, started.text
    stack.fake.set_user({"id": "666666666666666666", "username": "attacker",
                         "email": "attacker@example.com"})
    return victim, attacker, started, stolen


def assert_not_linked(stack, r):
    assert r.status_code in (400, 401), r.text
    assert "Set-Cookie" not in r.headers or "farout_session=" not in r.headers["Set-Cookie"]
    row = user_row(stack, "username = 'admin'")
    assert row["discord_id"] is None and row["email"] == "admin@farout.local"
    assert user_row(stack, "discord_id = '666666666666666666'") is None


def test_link_flow_outliving_logout_attack(clean):
    stack = clean
    victim, attacker, started, _ = stolen_token_link_flow(stack)
    r = victim.post(stack.url("/api/auth/logout"), headers={"Origin": stack.public_url},
                    timeout=TIMEOUT)
    assert r.status_code == 204
    # Logging out ended the flow at once.
    assert stack.sql("auth", "SELECT count(*) FROM oauth_states") == [(0,)]
    r = finish(attacker, authorize(started))
    assert_not_linked(stack, r)


def test_link_flow_outliving_password_change_attack(clean):
    stack = clean
    victim, attacker, started, stolen = stolen_token_link_flow(stack)
    r = victim.post(stack.url("/api/auth/password"),
                    json={"current_password": STRONG, "new_password": "Tr0ub4dor&3"},
                    headers={"Origin": stack.public_url}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert get(stack, "/api/auth/me", stolen).status_code == 401
    r = finish(attacker, authorize(started))
    assert_not_linked(stack, r)


def test_link_flow_whose_session_expired_attack(clean):
    """Even with the flow row still there, the callback links only while the session is live."""
    stack = clean
    _, attacker, started, stolen = stolen_token_link_flow(stack)
    stack.sql("auth", "UPDATE sessions SET expires_at = now() - interval '1 second' "
                      "WHERE revoked_at IS NULL")
    assert stack.sql("auth", "SELECT count(*) FROM oauth_states WHERE link_jti IS NOT NULL") == [(1,)]
    r = finish(attacker, authorize(started))
    assert_exact(r, 401, "not_authenticated")
    assert_not_linked(stack, r)


def test_link_flow_ended_by_operator_passwd_attack(clean):
    stack = clean
    _, attacker, started, _ = stolen_token_link_flow(stack)
    r = clean.admin("user", "passwd", "admin", "--keep", input="Tr0ub4dor&3\n")
    assert r.returncode == 0, r.stderr
    assert stack.sql("auth", "SELECT count(*) FROM oauth_states") == [(0,)]
    assert_not_linked(stack, finish(attacker, authorize(started)))


def test_link_flow_with_a_live_session_still_links(clean):
    stack = clean
    victim = admin_browser(stack)
    r = finish(victim, authorize(begin(stack, victim, link="1")))
    assert r.status_code == 200, r.text
    assert user_row(stack, "username = 'admin'")["discord_id"] == "80351110224678912"


# ---- finding 9: unlimited Discord flows ------------------------------------------------------------

def test_discord_login_flood_from_one_address_attack(clean):
    stack = clean
    statuses = []
    for _ in range(OAUTH_FLOWS_PER_ADDR + 5):
        r = requests.get(stack.url("/api/auth/discord/login"), allow_redirects=False, timeout=TIMEOUT)
        statuses.append(r.status_code)
        if r.status_code == 429:
            break
    assert statuses.count(302) == OAUTH_FLOWS_PER_ADDR, statuses
    assert_exact(r, 429, "too_many_attempts")
    assert 1 <= int(r.headers["Retry-After"]) <= 600
    assert stack.sql("auth", "SELECT count(*) FROM oauth_states") == [(OAUTH_FLOWS_PER_ADDR,)]
    # Another address is not held back by this one's flows.
    stack.sql("auth", "UPDATE oauth_states SET client_addr = '192.0.2.7'")
    r = requests.get(stack.url("/api/auth/discord/login"), allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 302


def test_discord_login_request_flood_meets_nginx_limit_attack(clean):
    import time

    statuses = []
    for _ in range(300):
        r = requests.get(clean.url("/api/auth/discord/login"), allow_redirects=False, timeout=TIMEOUT)
        statuses.append(r.status_code)
        clean.sql("auth", "DELETE FROM oauth_states")
        if helpers.is_nginx_flood_limit(r):
            break
    assert helpers.is_nginx_flood_limit(r), statuses
    assert len(statuses) < 300
    time.sleep(4)  # let the bucket refill for the suites that follow


# ---- finding 7: member rows too big for a page -------------------------------------------------------

def admin_token(stack):
    return helpers.change_admin_password(stack, login(stack, ADMIN_USERNAME, ADMIN_PASSWORD), STRONG)


def test_oversized_member_fields_break_the_directory_attack(clean):
    token = admin_token(clean)
    sid = "100000000000000001"
    r = post(clean, "/api/members", token, json={"discord_id": sid, "display_name": "Big"})
    assert r.status_code == 201, r.text
    big = ["m" * 60] * 900  # ~56 KiB of JSON
    for field, value in (("missions_completed", big), ("trainings_completed", big),
                         ("stats", {f"k{i}": "v" * 50 for i in range(900)})):
        r = helpers.request(clean, "PATCH", f"/api/members/{sid}", token, json={field: value})
        assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
        assert r.json()["field"] == field and "3500 bytes" in r.json()["detail"]
    # Numbers count as PostgreSQL writes them back: 1e300 is 301 digits there.
    r = helpers.request(clean, "PATCH", f"/api/members/{sid}", token, json={"stats": {"x": [1e300] * 12}})
    assert r.status_code == 400, r.text
    r = get(clean, "/api/members?limit=200", token)
    assert r.status_code == 200


def test_a_full_page_of_the_largest_members_fits(clean):
    token = admin_token(clean)
    emoji = "\U0001F680"
    stored = []
    for i in range(200):
        sid = str(200000000000000000 + i)
        body = {"discord_id": sid, "display_name": emoji * 64, "bio": emoji * 2000,
                "avatar_url": "https://cdn.example/" + "a" * 490, "rank": emoji * 32,
                "missions_completed": [1e300] * 10, "trainings_completed": ["\u0001" * 80] * 7,
                "stats": {"k" + "\\" * 30 + str(j): 1e-300 for j in range(9)}}
        r = post(clean, "/api/members", token, json=body)
        assert r.status_code == 201, r.text
        if i == 0:
            stored = clean.sql("app", "SELECT octet_length(missions_completed::text), "
                                      "octet_length(trainings_completed::text), "
                                      "octet_length(stats::text) FROM members WHERE discord_id = %s", (sid,))
    assert all(n <= 3500 for n in stored[0]), stored
    assert max(stored[0]) > 2900, stored  # the cap is close to what PostgreSQL really prints
    r = get(clean, "/api/members?limit=200", token)
    assert r.status_code == 200, r.text[:200]
    assert len(r.json()["items"]) == 200
    assert len(r.content) < 4 * 1024 * 1024


# ---- finding 3: parallel guesses overtaking the throttle ---------------------------------------------

def test_parallel_guesses_overtake_the_throttle_attack(clean):
    """20 wrong passwords at once for one account (a slow, cost-10 hash keeps every worker
    busy in bcrypt): exactly LOGIN_MAX_FAILURES (5) are checked, the rest are 429."""
    from concurrent.futures import ThreadPoolExecutor

    insert_user(clean, "nelly", hashed=helpers.hash_of(PASSWORD, cost=10))

    def guess(i):
        return requests.post(clean.url("/api/auth/login"),
                             json={"username": "nelly", "password": f"Wrong-Guess-{i}"},
                             timeout=60).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(guess, range(20)))
    assert statuses.count(401) == 5, statuses
    assert statuses.count(429) == 15, statuses
    assert clean.sql("auth", "SELECT failures FROM login_attempts WHERE kind = 'user'") == [(5,)]
    # Refused guesses did not count against the address either.
    assert clean.sql("auth", "SELECT failures FROM login_attempts WHERE kind = 'addr'") == [(5,)]
    r = helpers.login_response(clean, "nelly", PASSWORD)
    assert_exact(r, 429, "too_many_attempts")


def test_right_password_gives_the_reservation_back(clean):
    insert_user(clean, "nelly")
    for i in range(3):
        assert helpers.login_response(clean, "nelly", f"Wrong-{i}-guess").status_code == 401
    assert login(clean, "nelly")
    assert clean.sql("auth", "SELECT kind, failures FROM login_attempts ORDER BY kind") == [("addr", 3)]


# ---- finding 6: login CSRF -----------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Referer": "http://evil.example/phish.html"},
    {"Origin": "http://evil.example", "Referer": "PUBLIC/login"},
])
def test_login_csrf_from_a_foreign_site_attack(clean, headers):
    insert_user(clean, "attacker")
    headers = {k: v.replace("PUBLIC", clean.public_url) for k, v in headers.items()}
    r = requests.post(clean.url("/api/auth/login"), data={"username": "attacker", "password": PASSWORD},
                      headers=headers, timeout=TIMEOUT)
    assert_exact(r, 403, "csrf_failed")
    assert "Set-Cookie" not in r.headers
    assert clean.sql("auth", "SELECT count(*) FROM sessions") == [(0,)]


@pytest.mark.parametrize("headers", [{}, {"Origin": "PUBLIC"}, {"Referer": "PUBLIC/login"}])
def test_login_from_this_site_or_without_browser_headers(clean, headers):
    insert_user(clean, "nelly")
    headers = {k: v.replace("PUBLIC", clean.public_url) for k, v in headers.items()}
    r = requests.post(clean.url("/api/auth/login"), data={"username": "nelly", "password": PASSWORD},
                      headers=headers, timeout=TIMEOUT)
    assert r.status_code == 200, r.text


# ---- finding 2: a login racing a password change ---------------------------------------------------

def test_login_racing_a_password_change_attack(clean):
    """The old password is verified (a slow cost-13 hash) while the change commits: the
    login must not come out with a session that survives the change."""
    import threading
    import time

    uid = insert_user(clean, "nelly", hashed=helpers.hash_of(PASSWORD, cost=13))
    result = {}

    def old_password_login():
        result["r"] = requests.post(clean.url("/api/auth/login"),
                                    json={"username": "nelly", "password": PASSWORD}, timeout=120)

    t = threading.Thread(target=old_password_login)
    t.start()
    time.sleep(0.3)  # the login is inside bcrypt now
    # What POST /api/auth/password commits: the new hash and every session revoked.
    clean.sql("auth", "UPDATE users SET hashed_password = %s WHERE id = %s",
              (helpers.hash_of("Tr0ub4dor&3"), uid))
    clean.sql("auth", "UPDATE sessions SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL",
              (uid,))
    t.join()
    r = result["r"]
    if r.status_code == 200:
        assert get(clean, "/api/auth/me", r.json()["access_token"]).status_code == 401
    else:
        assert_exact(r, 401, "invalid_credentials")
    assert clean.sql("auth", "SELECT count(*) FROM sessions WHERE user_id = %s AND revoked_at IS NULL",
                     (uid,)) == [(0,)]
