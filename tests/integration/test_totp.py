"""Two-factor sign-in (API.md "Two-factor sign-in", issue 15) through nginx.

Codes are computed here with Python's hmac (RFC 6238: HMAC-SHA-1, 6 digits,
30 s steps), never by the programs. A test that needs a particular step
first waits until it is at least a few seconds away from a step boundary,
so the server's clock cannot move to the next step in between.

Choices pinned down here (README "Where the contract is silent"):
- a step is accepted only when it is newer than the last accepted one for
  that user (RFC 6238 §5.2), which also makes each step single-use;
- the code that enables TOTP uses its step up;
- an unknown, used or expired mfa_token is 401 invalid_credentials (sign in
  with the password again); a wrong code is 401 invalid_code and leaves the
  mfa_token usable until it expires or the throttle stops the account;
- the password step of a TOTP user does not clear the account's failures:
  only a finished sign-in does;
- GET /api/auth/totp tells the website the state; a password change by a
  TOTP user needs "code" in its body.
"""

import base64
import hashlib
import hmac
import json
import re
import struct
import subprocess
import time

import pytest
import requests
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import fcgi_client
from helpers import (NEW_PASSWORD, PASSWORD, SIGN_IN_KEYS, assert_error, get, insert_user, login,
                     login_response, post, session_token)
from harness import wait_until

STEP = 30
RECOVERY_RE = r"[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}"


# ---- RFC 6238 in Python ------------------------------------------------------------------

def b32decode(secret):
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def totp(secret, step):
    """The 6-digit code of the base32 secret for a step number (time // 30)."""
    mac = hmac.new(b32decode(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10 ** 6:06d}"


def test_python_totp_matches_rfc6238_appendix_b():
    # The helper itself, on the RFC's SHA-1 vectors (the 6-digit truncation of each).
    seed = base64.b32encode(b"12345678901234567890").decode().rstrip("=")
    for t, code8 in [(59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
                     (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130")]:
        assert totp(seed, t // STEP) == code8[-6:]


def current_step(margin=5):
    """The current step, after waiting (when needed) until at least margin
    seconds remain before the next one."""
    now = time.time()
    if STEP - now % STEP < margin:
        time.sleep(STEP - now % STEP + 0.2)
    return int(time.time() // STEP)


# ---- requests ---------------------------------------------------------------------------------

def start_setup(stack, token):
    return post(stack, "/api/auth/totp/setup", token)


def enable(stack, token, code):
    return post(stack, "/api/auth/totp/enable", token, json={"code": code})


def second_step(stack, mfa_token, code):
    return post(stack, "/api/auth/login/totp", json={"mfa_token": mfa_token, "code": code})


def status(stack, token):
    r = get(stack, "/api/auth/totp", token)
    assert r.status_code == 200, r.text
    return r.json()


def mfa_token(stack, username, password=PASSWORD):
    """The password step of a TOTP user: 200 {"mfa_required", "mfa_token"}, no session."""
    r = login_response(stack, username, password)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"mfa_required", "mfa_token"} and body["mfa_required"] is True, body
    assert "Set-Cookie" not in r.headers
    assert isinstance(body["mfa_token"], str) and len(body["mfa_token"]) >= 43
    return body["mfa_token"]


def totp_user(stack, username="nelly", *, previous_step=True):
    """A password user with TOTP on; returns (user id, base32 secret, recovery codes, token).

    Enabled with the code of the previous step, so the current one is still
    unused (unless previous_step is False: then the current one is used up).
    """
    uid = insert_user(stack, username)
    token = login(stack, username)
    r = start_setup(stack, token)
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]
    step = current_step()
    r = enable(stack, token, totp(secret, step - 1 if previous_step else step))
    assert r.status_code == 200, r.text
    return uid, secret, r.json()["recovery_codes"], token


def user_failures(stack, uid):
    rows = stack.sql("auth", "SELECT failures FROM login_attempts WHERE kind = 'user' AND key = %s",
                     (f"id:{uid}",))
    return rows[0][0] if rows else 0


# ---- another login process (another worker, another host) ------------------------------------

@pytest.fixture
def other_login(clean):
    """A second, separate login program on its own socket, sharing the databases."""
    sock = clean.dir / "run" / "login-other.sock"
    if sock.exists():
        sock.unlink()
    log = open(clean.dir / "log" / "login-other.log", "ab")
    proc = subprocess.Popen([str(clean.program_path("login")), "--listen", f"unix:{sock}",
                             "--workers", "1"], env=clean.program_env(), stdin=subprocess.DEVNULL,
                            stdout=log, stderr=log, start_new_session=True)
    assert wait_until(lambda: sock.exists(), 20), "the second login program did not start"

    def call(path, body):
        raw = json.dumps(body).encode()
        params = {"REQUEST_METHOD": "POST", "DOCUMENT_URI": path, "REQUEST_URI": path,
                  "QUERY_STRING": "", "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
                  "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(raw))}
        headers, out = fcgi_client.request(sock, params, raw)
        return headers.status, json.loads(out) if out else None

    yield call
    proc.terminate()
    proc.wait(15)
    log.close()


# ---- setup and enable ---------------------------------------------------------------------------

def test_setup_enable_and_sign_in_with_a_code_computed_here(clean):
    uid = insert_user(clean, "nelly")
    token = login(clean, "nelly")
    assert status(clean, token) == {"enabled": False, "pending": False, "recovery_codes_left": 0,
                                    "password_account": True}
    r = start_setup(clean, token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"secret", "otpauth_uri"}
    secret = body["secret"]
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    assert len(b32decode(secret)) == 20
    assert body["otpauth_uri"] == (f"otpauth://totp/Farout:nelly?secret={secret}&issuer=Farout"
                                   "&algorithm=SHA1&digits=6&period=30")
    assert r.headers["Cache-Control"] == "no-store"
    assert status(clean, token)["pending"] is True

    # A new setup replaces the pending secret: the first one no longer enables.
    second = start_setup(clean, token).json()["secret"]
    assert second != secret
    step = current_step()
    assert_error(enable(clean, token, totp(secret, step)), 400, "invalid_code")
    assert_error(enable(clean, token, "12345"), 400, "invalid_code")
    r = enable(clean, token, totp(second, step))
    assert r.status_code == 200, r.text
    codes = r.json()["recovery_codes"]
    assert set(r.json()) == {"recovery_codes"}
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(RECOVERY_RE, c) for c in codes), codes
    assert status(clean, token) == {"enabled": True, "pending": False, "recovery_codes_left": 10,
                                    "password_account": True}

    # Recovery codes are stored only as hashes.
    stored = [h for (h,) in clean.sql("auth", "SELECT code_hash FROM totp_recovery_codes "
                                               "WHERE user_id = %s", (uid,))]
    assert len(stored) == 10
    assert not any(c in h or c.replace("-", "") in h for c in codes for h in stored)

    # Enabled: no second setup, no second enable.
    assert_error(start_setup(clean, token), 409, "conflict")
    assert_error(enable(clean, token, totp(second, step)), 409, "conflict")

    # Sign-in: the password step gives no session, the code step does.
    sessions_before = clean.sql("auth", "SELECT count(*) FROM sessions WHERE user_id = %s", (uid,))
    mfa = mfa_token(clean, "nelly")
    assert clean.sql("auth", "SELECT count(*) FROM sessions WHERE user_id = %s", (uid,)) == sessions_before
    r = second_step(clean, mfa, totp(second, current_step() + 1))  # the enable used the current step
    assert r.status_code == 200, r.text
    assert set(r.json()) == SIGN_IN_KEYS
    assert r.json()["user"]["id"] == uid
    assert re.match(r"farout_session=", r.headers["Set-Cookie"])
    assert get(clean, "/api/auth/me", r.json()["access_token"]).status_code == 200


def test_setup_needs_a_signed_in_user(clean):
    assert_error(post(clean, "/api/auth/totp/setup"), 401, "not_authenticated")
    assert_error(post(clean, "/api/auth/totp/enable", json={"code": "123456"}), 401,
                 "not_authenticated")
    assert_error(get(clean, "/api/auth/totp"), 401, "not_authenticated")


def test_discord_only_account_cannot_set_it_up(clean):
    uid = insert_user(clean, "nelly_d", password=None, discord_id="80351110224678912")
    token = session_token(clean, uid)
    assert status(clean, token)["password_account"] is False
    assert_error(start_setup(clean, token), 400, "invalid_request")
    assert clean.sql("auth", "SELECT count(*) FROM user_totp")[0][0] == 0


def test_enable_without_setup_is_refused(clean):
    insert_user(clean, "nelly")
    token = login(clean, "nelly")
    assert_error(enable(clean, token, "123456"), 400, "invalid_request")
    assert_error(post(clean, "/api/auth/totp/enable", token, json={"code": 123456}), 400,
                 "invalid_request")


# ---- codes: window, replay, recovery ----------------------------------------------------------------

def test_adjacent_step_accepted_two_steps_away_refused(clean):
    uid, secret, _, _ = totp_user(clean, previous_step=False)
    step = current_step()
    # Two steps ahead: refused by the window (it is newer than the last used step).
    assert_error(second_step(clean, mfa_token(clean, "nelly"), totp(secret, step + 2)), 401,
                 "invalid_code")
    # One step ahead: accepted.
    assert second_step(clean, mfa_token(clean, "nelly"), totp(secret, step + 1)).status_code == 200

    # Backwards, with no step used yet: two behind refused, one behind accepted.
    clean.sql("auth", "UPDATE user_totp SET last_step = NULL WHERE user_id = %s", (uid,))
    step = current_step()
    assert_error(second_step(clean, mfa_token(clean, "nelly"), totp(secret, step - 2)), 401,
                 "invalid_code")
    assert second_step(clean, mfa_token(clean, "nelly"), totp(secret, step - 1)).status_code == 200


def test_replayed_code_is_refused_also_by_another_login_process(clean, other_login):
    _, secret, _, _ = totp_user(clean)
    step = current_step()
    code = totp(secret, step)
    assert second_step(clean, mfa_token(clean, "nelly"), code).status_code == 200
    # The same code again, through nginx and on a separate process: refused.
    assert_error(second_step(clean, mfa_token(clean, "nelly"), code), 401, "invalid_code")
    st, body = other_login("/api/auth/login/totp",
                           {"mfa_token": mfa_token(clean, "nelly"), "code": code})
    assert (st, body["error"]) == (401, "invalid_code")
    # An older step than the last one used is refused too.
    assert_error(second_step(clean, mfa_token(clean, "nelly"), totp(secret, step - 1)), 401,
                 "invalid_code")


def test_replay_race_between_two_processes_lets_one_through(clean, other_login):
    """The step is used by one UPDATE: whichever process comes second is refused."""
    _, secret, _, _ = totp_user(clean)
    code = totp(secret, current_step())
    first, second = mfa_token(clean, "nelly"), mfa_token(clean, "nelly")
    st, _ = other_login("/api/auth/login/totp", {"mfa_token": first, "code": code})
    assert st == 200
    assert_error(second_step(clean, second, code), 401, "invalid_code")


def test_recovery_code_works_once(clean):
    uid, _, codes, token = totp_user(clean)
    r = second_step(clean, mfa_token(clean, "nelly"), codes[0])
    assert r.status_code == 200, r.text
    assert_error(second_step(clean, mfa_token(clean, "nelly"), codes[0]), 401, "invalid_code")
    # Case, dashes and spaces do not matter.
    typed = codes[1].upper().replace("-", " ")
    assert second_step(clean, mfa_token(clean, "nelly"), typed).status_code == 200
    assert status(clean, r.json()["access_token"])["recovery_codes_left"] == 8
    # Another user's recovery code is nothing to this one.
    assert_error(second_step(clean, mfa_token(clean, "nelly"), "aaaa-bbbb-cccc"), 401,
                 "invalid_code")


# ---- throttle ----------------------------------------------------------------------------------------

def test_wrong_codes_count_towards_the_login_throttle(clean):
    uid, secret, codes, _ = totp_user(clean)
    mfa = mfa_token(clean, "nelly")
    for i in range(4):
        assert_error(second_step(clean, mfa, f"00000{i}"), 401, "invalid_code")
    assert user_failures(clean, uid) == 4
    # A right password does not wipe the count of wrong codes.
    mfa = mfa_token(clean, "nelly")
    assert user_failures(clean, uid) == 4
    assert_error(second_step(clean, mfa, "999999"), 401, "invalid_code")
    assert user_failures(clean, uid) == 5
    # From now on 429, even with a right code, and for the password step too.
    r = second_step(clean, mfa, totp(secret, current_step()))
    assert_error(r, 429, "too_many_attempts")
    assert 1 <= int(r.headers["Retry-After"]) <= 900
    assert_error(second_step(clean, mfa, codes[0]), 429, "too_many_attempts")
    assert_error(login_response(clean, "nelly"), 429, "too_many_attempts")


def test_a_finished_sign_in_clears_the_count(clean):
    uid, secret, _, _ = totp_user(clean)
    mfa = mfa_token(clean, "nelly")
    assert_error(second_step(clean, mfa, "000000"), 401, "invalid_code")
    assert user_failures(clean, uid) == 1
    # A wrong code leaves the mfa_token usable.
    assert second_step(clean, mfa, totp(secret, current_step())).status_code == 200
    assert user_failures(clean, uid) == 0


# ---- mfa_token -------------------------------------------------------------------------------------

def test_mfa_token_is_single_use_expires_and_is_stored_hashed(clean):
    uid, secret, codes, _ = totp_user(clean)
    mfa = mfa_token(clean, "nelly")
    rows = clean.sql("auth", "SELECT token_hash, user_id, expires_at - created_at, method FROM mfa_tokens")
    assert len(rows) == 1
    assert rows[0][0] == hashlib.sha256(mfa.encode()).hexdigest() and mfa not in rows[0][0]
    assert rows[0][1] == uid and rows[0][2].total_seconds() == 300 and rows[0][3] == "password"

    assert second_step(clean, mfa, totp(secret, current_step())).status_code == 200
    assert_error(second_step(clean, mfa, codes[0]), 401, "invalid_credentials")

    mfa = mfa_token(clean, "nelly")
    clean.sql("auth", "UPDATE mfa_tokens SET expires_at = now() - interval '1 second'")
    assert_error(second_step(clean, mfa, codes[0]), 401, "invalid_credentials")
    assert_error(second_step(clean, "not-a-token", codes[0]), 401, "invalid_credentials")
    # The recovery code offered with a dead token was not used up.
    assert second_step(clean, mfa_token(clean, "nelly"), codes[0]).status_code == 200


def test_mfa_token_cannot_be_used_for_another_user(clean):
    _, secret_a, _, _ = totp_user(clean, "alice")
    uid_b, secret_b, codes_b, _ = totp_user(clean, "bob")
    mfa_a = mfa_token(clean, "alice")
    step = current_step()
    # Alice's token with Bob's codes: nobody is signed in.
    assert_error(second_step(clean, mfa_a, totp(secret_b, step)), 401, "invalid_code")
    assert_error(second_step(clean, mfa_a, codes_b[0]), 401, "invalid_code")
    # Bob's codes were not used up by it.
    r = second_step(clean, mfa_token(clean, "bob"), totp(secret_b, step))
    assert r.status_code == 200 and r.json()["user"]["id"] == uid_b
    # Alice's token still signs in Alice, never Bob.
    r = second_step(clean, mfa_a, totp(secret_a, step))
    assert r.status_code == 200 and r.json()["user"]["username"] == "alice"


# ---- storage --------------------------------------------------------------------------------------------

def test_stored_secret_is_sealed_and_bound_to_its_user(clean):
    uid, secret, _, _ = totp_user(clean, "alice")
    uid_b, _, _, _ = totp_user(clean, "bob")
    ct, nonce, tag = [bytes(x) for x in clean.sql(
        "auth", "SELECT secret_ct, nonce, tag FROM user_totp WHERE user_id = %s", (uid,))[0]]
    raw = b32decode(secret)
    assert ct != raw and raw not in ct + nonce + tag and secret.encode() not in ct + nonce + tag
    assert len(nonce) == 12 and len(tag) == 16

    key = base64.b64decode(clean.env["TOTP_KEY"])
    aead = AESGCM(key)
    assert aead.decrypt(nonce, ct + tag, f"farout-totp-v1:user:{uid}".encode()) == raw
    with pytest.raises(InvalidTag):
        aead.decrypt(nonce, ct + tag, f"farout-totp-v1:user:{uid_b}".encode())

    # Alice's sealed secret copied into Bob's row does not open for Bob.
    clean.sql("auth", "UPDATE user_totp SET secret_ct = %s, nonce = %s, tag = %s, last_step = NULL "
                      "WHERE user_id = %s", (ct, nonce, tag, uid_b))
    r = second_step(clean, mfa_token(clean, "bob"), totp(secret, current_step()))
    assert r.status_code == 500, r.text
    assert "access_token" not in r.text
    assert "does not open under TOTP_KEY" in clean.log_text("login")


# ---- disable, password change, reset ------------------------------------------------------------------------

def test_disable_needs_the_password_and_a_code(clean):
    uid, secret, codes, token = totp_user(clean)
    path = "/api/auth/totp/disable"
    step = current_step()
    assert_error(post(clean, path, token, json={"password": PASSWORD}), 400, "invalid_request")
    assert_error(post(clean, path, token, json={"code": totp(secret, step)}), 400, "invalid_request")
    assert_error(post(clean, path, token, json={"password": "Wrong-Password-1", "code": totp(secret, step)}),
                 401, "invalid_credentials")
    assert_error(post(clean, path, token, json={"password": PASSWORD, "code": "000000"}),
                 401, "invalid_code")
    assert status(clean, token)["enabled"] is True
    assert user_failures(clean, uid) == 2
    r = post(clean, path, token, json={"password": PASSWORD, "code": totp(secret, step)})
    assert r.status_code == 204, r.text
    assert status(clean, token) == {"enabled": False, "pending": False, "recovery_codes_left": 0,
                                    "password_account": True}
    assert clean.sql("auth", "SELECT count(*) FROM totp_recovery_codes")[0][0] == 0
    assert_error(post(clean, path, token, json={"password": PASSWORD, "code": codes[0]}), 409, "conflict")
    # Plain password sign-in again.
    assert set(login_response(clean, "nelly").json()) == SIGN_IN_KEYS


def test_disable_with_a_recovery_code(clean):
    _, _, codes, token = totp_user(clean)
    r = post(clean, "/api/auth/totp/disable", token, json={"password": PASSWORD, "code": codes[3]})
    assert r.status_code == 204, r.text


def test_password_change_of_a_totp_user_needs_a_code(clean):
    uid, secret, _, token = totp_user(clean)
    path = "/api/auth/password"
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert_error(post(clean, path, token, json=body), 400, "invalid_request")
    assert_error(post(clean, path, token, json={**body, "code": "000000"}), 401, "invalid_code")
    assert user_failures(clean, uid) == 1
    r = post(clean, path, token, json={**body, "code": totp(secret, current_step())})
    assert r.status_code == 200, r.text
    assert set(r.json()) == SIGN_IN_KEYS
    # TOTP stays on for the new password.
    mfa_token(clean, "nelly", NEW_PASSWORD)


def test_farout_admin_totp_reset(clean):
    uid, _, _, _ = totp_user(clean)
    mfa_token(clean, "nelly")
    r = clean.admin("user", "totp-reset", "nelly")
    assert r.returncode == 0, r.stderr
    assert "turned off" in r.stdout
    for table in ("user_totp", "totp_recovery_codes", "mfa_tokens"):
        assert clean.sql("auth", f"SELECT count(*) FROM {table} WHERE user_id = %s", (uid,))[0][0] == 0
    assert set(login_response(clean, "nelly").json()) == SIGN_IN_KEYS
    r = clean.admin("user", "totp-reset", "nelly")
    assert r.returncode == 0 and "nothing to do" in r.stdout
    r = clean.admin("user", "totp-reset", "ghost")
    assert r.returncode == 1 and "does not exist" in r.stderr


# ---- without TOTP_KEY ------------------------------------------------------------------------------------------

def test_without_totp_key_routes_are_503_and_totp_users_cannot_sign_in(clean):
    _, secret, _, token = totp_user(clean)
    insert_user(clean, "plain")
    try:
        clean.restart_program("login", {"TOTP_KEY": None})
        assert_error(start_setup(clean, token), 503, "unavailable")
        assert_error(get(clean, "/api/auth/totp", token), 503, "unavailable")
        assert_error(second_step(clean, "x", "123456"), 503, "unavailable")
        assert_error(login_response(clean, "nelly"), 503, "unavailable")
        assert "TOTP_KEY is not set" in clean.log_text("login")
        # Users without TOTP sign in as before.
        assert set(login_response(clean, "plain").json()) == SIGN_IN_KEYS
    finally:
        clean.restart_program("login")
    mfa_token(clean, "nelly")


def test_a_bad_totp_key_stops_the_program(clean):
    r = clean.run_program("login", ["--listen", "unix:/nonexistent/x.sock"],
                          extra_env={"TOTP_KEY": "too-short"})
    assert r.returncode != 0
    assert b"TOTP_KEY" in r.stderr and b"too-short" not in r.stderr


# ---- Discord sign-in of an account with TOTP on ------------------------------------------------------------------

def test_discord_sign_in_of_a_totp_account_asks_for_the_code(clean):
    from test_discord import NELLY_ID, sign_in

    uid, secret, codes, _ = totp_user(clean)
    clean.sql("auth", "UPDATE users SET discord_id = %s WHERE id = %s", (NELLY_ID, uid))
    sessions = clean.sql("auth", "SELECT count(*) FROM sessions WHERE user_id = %s", (uid,))

    # JSON mode: the same answer as the password step.
    r = sign_in(clean)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"mfa_required", "mfa_token"}
    assert not any(c.startswith("farout_session=") for c in r.raw.headers.getlist("Set-Cookie"))
    assert clean.sql("auth", "SELECT count(*) FROM sessions WHERE user_id = %s", (uid,)) == sessions
    assert clean.sql("auth", "SELECT method FROM mfa_tokens") == [("discord",)]
    r = second_step(clean, r.json()["mfa_token"], totp(secret, current_step()))
    assert r.status_code == 200 and r.json()["user"]["id"] == uid

    # Browser mode: to the sign-in page, the token in the fragment only.
    r = sign_in(clean, json=False, next="/members/me")
    assert r.status_code == 302
    m = re.fullmatch(re.escape(clean.public_url) + r"/login#mfa_token=([A-Za-z0-9_-]{43})&next=%2Fmembers%2Fme",
                     r.headers["Location"])
    assert m, r.headers["Location"]
    assert not any(c.startswith("farout_session=") for c in r.raw.headers.getlist("Set-Cookie"))
    assert second_step(clean, m.group(1), codes[0]).status_code == 200


def test_linking_discord_from_a_totp_session_needs_no_second_code(clean):
    from test_discord import authorize, begin, finish

    _, secret, _, _ = totp_user(clean)
    browser = requests.Session()
    r = browser.post(clean.url("/api/auth/login/totp"),
                     json={"mfa_token": mfa_token(clean, "nelly"), "code": totp(secret, current_step())})
    assert r.status_code == 200, r.text
    r = finish(browser, authorize(begin(clean, browser, link="1")))
    assert r.status_code == 200, r.text
    assert set(r.json()) == SIGN_IN_KEYS and r.json()["user"]["discord_id"] is not None


# ---- audit rows ---------------------------------------------------------------------------------------------------

def audit_rows(stack, since_id=0):
    return stack.sql("auth", "SELECT event, outcome, actor_user_id, target, detail FROM audit_events "
                             "WHERE id > %s AND event IN ('login', 'discord_login', 'totp_enable', "
                             "'totp_disable', 'password_change') ORDER BY id", (since_id,))


def last_audit_id(stack):
    return stack.sql("auth", "SELECT coalesce(max(id), 0) FROM audit_events")[0][0]


def test_audit_rows_of_enable_sign_in_failed_codes_disable_and_reset(clean):
    from test_discord import NELLY_ID, sign_in

    uid = insert_user(clean, "nelly")
    token = login(clean, "nelly")
    secret = start_setup(clean, token).json()["secret"]
    step = current_step()
    start = last_audit_id(clean)
    assert_error(enable(clean, token, totp(secret, step - 3)), 400, "invalid_code")
    codes = enable(clean, token, totp(secret, step - 1)).json()["recovery_codes"]
    mfa = mfa_token(clean, "nelly")
    assert_error(second_step(clean, mfa, "000000"), 401, "invalid_code")
    assert second_step(clean, mfa, totp(secret, step)).status_code == 200
    assert second_step(clean, mfa_token(clean, "nelly"), codes[0]).status_code == 200
    assert_error(post(clean, "/api/auth/password", token,
                      json={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "code": "111111"}),
                 401, "invalid_code")
    assert_error(post(clean, "/api/auth/totp/disable", token, json={"password": "Wrong-Password-1", "code": codes[1]}),
                 401, "invalid_credentials")
    assert_error(post(clean, "/api/auth/totp/disable", token, json={"password": PASSWORD, "code": "222222"}),
                 401, "invalid_code")
    assert post(clean, "/api/auth/totp/disable", token,
                json={"password": PASSWORD, "code": codes[1]}).status_code == 204
    u = str(uid)
    assert audit_rows(clean, start) == [
        ("totp_enable", "invalid_code", None, u, {}),
        ("totp_enable", "ok", uid, u, {}),
        ("login", "invalid_code", None, u, {}),
        ("login", "ok", uid, u, {"method": "password", "second_factor": "totp"}),
        ("login", "ok", uid, u, {"method": "password", "second_factor": "recovery_code"}),
        ("password_change", "invalid_code", None, u, {}),
        ("totp_disable", "invalid_credentials", None, u, {}),
        ("totp_disable", "invalid_code", None, u, {}),
        ("totp_disable", "ok", uid, u, {"code": "recovery_code"}),
    ]

    # The operator's reset and a Discord sign-in's second step.
    _, secret, _, _ = totp_user(clean, "alice")
    alice = clean.sql("auth", "SELECT id FROM users WHERE username = 'alice'")[0][0]
    clean.sql("auth", "UPDATE users SET discord_id = %s WHERE id = %s", (NELLY_ID, alice))
    start = last_audit_id(clean)
    r = second_step(clean, sign_in(clean).json()["mfa_token"], totp(secret, current_step()))
    assert r.status_code == 200, r.text
    assert clean.admin("user", "totp-reset", "alice").returncode == 0
    a = str(alice)
    assert audit_rows(clean, start) == [
        ("discord_login", "ok", alice, a, {"method": "discord", "second_factor": "totp"}),
        ("totp_disable", "ok", None, a, {"reset": True}),
    ]

    # Never a code, a recovery code, a token or the secret.
    dump = " ".join(str(r) for r in clean.sql("auth", "SELECT row_to_json(e) FROM audit_events e"))
    for needle in [secret, mfa, *codes, totp(secret, step)]:
        assert needle not in dump
