"""POST /api/auth/login and /logout through nginx (API.md "Authentication",
"POST /api/auth/login", "POST /api/auth/logout").

Choices this suite pins down where API.md leaves room:
- fields other than username and password are ignored; either one missing,
  not a string, or given twice is 400 invalid_request (and not a failure);
- a NUL byte in a password (JSON \\u0000, form %00) is 400 invalid_request:
  the request is refused whole, so the password is never cut short;
- failures of an unknown name count per name as typed, folded to lower case
  when it holds '@' (emails match case-insensitively);
- logout while the auth database is down is 503, not a 204 that revoked nothing.
"""

import functools
import json
import re
import time
import urllib.parse

import bcrypt
import jwt
import pytest
import requests

import helpers
from harness import ADMIN_PASSWORD, ADMIN_USERNAME
from helpers import (OTHER_PASSWORD, PASSWORD, SESSION_COOKIE_RE, SIGN_IN_KEYS, USER_KEYS, get, insert_user,
                     login, login_response, post, settle)


# ---- helpers ---------------------------------------------------------------------

# Every error of login and logout is exactly {"error", "detail"}.
assert_error = functools.partial(helpers.assert_error, exact=True)


def login_form(stack, fields):
    return post(stack, "/api/auth/login", data=fields,
                headers={"Content-Type": "application/x-www-form-urlencoded"})


def me(stack, token=None, cookie=None):
    return get(stack, "/api/auth/me", token, cookie)


def failures(stack):
    return {(k, key): n for k, key, n in stack.sql(
        "auth", "SELECT kind, key, failures FROM login_attempts WHERE expires_at > now()")}


def user_failures(stack, username):
    uid = stack.sql("auth", "SELECT id FROM users WHERE username = %s", (username,))[0][0]
    return failures(stack).get(("user", f"id:{uid}"), 0)


def addr_failures(stack):
    return failures(stack).get(("addr", "127.0.0.1"), 0)


def add_user(stack, username, password=PASSWORD, role="member", email=None):
    """A user made by farout-admin, as an operator would; returns its id."""
    stack.add_user(username, password, role=role, email=email)
    return stack.sql("auth", "SELECT id FROM users WHERE username = %s", (username,))[0][0]


# ---- success ---------------------------------------------------------------------------

def test_login_json_answers_the_contract_body(clean):
    uid = add_user(clean, "nelly", email="nelly@example.org", role="officer")
    r = login_response(clean, "nelly", PASSWORD)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert set(body) == SIGN_IN_KEYS
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 7 * 86400
    assert body["must_change_password"] is False
    user = body["user"]
    assert set(user) == USER_KEYS
    assert user["id"] == uid and isinstance(user["id"], int)
    assert user["username"] == "nelly"
    assert user["email"] == "nelly@example.org"
    assert user["role"] == "officer"
    assert user["discord_id"] is None and user["discriminator"] is None and user["avatar"] is None
    assert user["is_active"] is True and user["must_change_password"] is False
    for key in ("created_at", "last_login"):
        assert time.strptime(user[key], "%Y-%m-%dT%H:%M:%SZ"), user[key]
    assert "hashed_password" not in r.text and "$2b$" not in r.text
    # The token works at once.
    assert me(clean, body["access_token"]).status_code == 200


def test_login_sets_last_login(clean):
    add_user(clean, "nelly")
    assert clean.sql("auth", "SELECT last_login FROM users WHERE username = 'nelly'")[0][0] is None
    r = login_response(clean, "nelly", PASSWORD)
    assert r.status_code == 200
    (age,) = clean.sql("auth", """SELECT extract(epoch FROM now() - last_login)
                                   FROM users WHERE username = 'nelly'""")[0]
    assert 0 <= age < 30
    assert r.json()["user"]["last_login"] is not None


def test_login_session_cookie_attributes(clean):
    add_user(clean, "nelly")
    r = login_response(clean, "nelly", PASSWORD)
    assert r.status_code == 200
    cookies = [v for k, v in r.raw.headers.items() if k.lower() == "set-cookie"]
    assert len(cookies) == 1, cookies
    m = re.fullmatch(SESSION_COOKIE_RE, cookies[0])
    assert m, cookies[0]
    assert m.group(1) == r.json()["access_token"]
    assert "Secure" not in cookies[0]  # PUBLIC_URL is http:// here
    # The cookie alone authenticates.
    assert me(clean, cookie=m.group(1)).status_code == 200


def test_cookie_is_secure_when_public_url_is_https(clean):
    add_user(clean, "nelly")
    try:
        clean.restart_program("login", {"PUBLIC_URL": "https://farout.example"})
        r = login_response(clean, "nelly", PASSWORD)
        assert r.status_code == 200, r.text
        cookie = r.headers["Set-Cookie"]
        assert cookie.endswith("; Path=/; HttpOnly; SameSite=Lax; Max-Age=604800; Secure"), cookie
    finally:
        clean.restart_program("login")


def test_login_form_body(clean):
    add_user(clean, "nelly")
    r = login_form(clean, {"username": "nelly", "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["username"] == "nelly"
    # Percent-encoding and '+' decode as a browser form sends them.
    insert_user(clean, "space man", "p@ss word+&=%10chars")
    body = urllib.parse.urlencode({"username": "space man", "password": "p@ss word+&=%10chars"})
    r = post(clean, "/api/auth/login", data=body,
             headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
    assert r.status_code == 200, r.text


def test_login_by_email_case_insensitive(clean):
    add_user(clean, "nelly", email="Nelly@Example.org")
    for name in ("Nelly@Example.org", "nelly@example.org", "NELLY@EXAMPLE.ORG"):
        r = login_response(clean, name, PASSWORD)
        assert r.status_code == 200, (name, r.text)
        assert r.json()["user"]["username"] == "nelly"


def test_username_match_wins_over_email(clean):
    # A username may contain '@'; the exact username is preferred over someone's email.
    insert_user(clean, "owner", email="x@example.org")
    insert_user(clean, "x@example.org", OTHER_PASSWORD)
    r = login_response(clean, "x@example.org", OTHER_PASSWORD)
    assert r.status_code == 200 and r.json()["user"]["username"] == "x@example.org"
    assert_error(login_response(clean, "x@example.org", PASSWORD), 401, "invalid_credentials")


def test_username_is_exact_not_case_folded(clean):
    add_user(clean, "nelly")
    assert_error(login_response(clean, "Nelly", PASSWORD), 401, "invalid_credentials")
    assert_error(login_response(clean, "nelly ", PASSWORD), 401, "invalid_credentials")


def test_extra_fields_are_ignored(clean):
    add_user(clean, "nelly")
    r = post(clean, "/api/auth/login",
             json={"username": "nelly", "password": PASSWORD, "remember_me": True, "x": [1]})
    assert r.status_code == 200, r.text


def test_seeded_admin_logs_in_with_a_pending_change(clean):
    r = login_response(clean, ADMIN_USERNAME, ADMIN_PASSWORD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["must_change_password"] is True
    assert body["user"]["must_change_password"] is True
    assert body["user"]["role"] == "admin"
    claims = jwt.decode(body["access_token"], clean.env["JWT_SECRET"], algorithms=["HS256"],
                        issuer="farout")
    assert claims["must_change_password"] is True


def test_each_login_is_its_own_session(clean):
    uid = add_user(clean, "nelly")
    t1 = login(clean, "nelly")
    t2 = login(clean, "nelly")
    assert t1 != t2
    rows = clean.sql("auth", "SELECT jti FROM sessions WHERE user_id = %s", (uid,))
    assert len(rows) == 2
    jtis = {jwt.decode(t, options={"verify_signature": False})["jti"] for t in (t1, t2)}
    assert jtis == {row[0] for row in rows}


# ---- the three indistinguishable failures ----------------------------------------------------

def test_unknown_wrong_and_passwordless_are_identical_401(clean):
    add_user(clean, "nelly")
    insert_user(clean, "discordonly", password=None, discord_id="80351110224678912")
    answers = [
        login_response(clean, "nobody-here", PASSWORD),
        login_response(clean, "nelly", "Wrong-Password-123"),
        login_response(clean, "discordonly", PASSWORD),
        login_response(clean, "discordonly", ""),
    ]
    bodies = set()
    for r in answers:
        assert_error(r, 401, "invalid_credentials")
        assert r.headers.get("WWW-Authenticate") == "Bearer"
        assert "Set-Cookie" not in r.headers
        bodies.add(r.content)
    assert len(bodies) == 1, bodies
    header_sets = {tuple(sorted(k.lower() for k in r.headers
                                if k.lower() not in ("date", "x-request-id", "content-length")))
                   for r in answers}
    assert len(header_sets) == 1, header_sets


def workers_cpu_seconds(stack, program):
    """CPU time the program's workers have used so far (/proc/PID/schedstat, ns)."""
    total = 0
    for pid in stack.program_pids(program)[1]:
        with open(f"/proc/{pid}/schedstat") as f:
            total += int(f.read().split()[0])
    return total / 1e9


def test_failures_cost_a_bcrypt_check_even_for_unknown_users(clean):
    """A dummy hash is checked when the user is unknown or has no password.

    With BCRYPT_COST=10 a check costs tens of milliseconds of the login
    worker's CPU; a request that never reaches bcrypt (a malformed body) costs
    well under one. Unknown, wrong-password and password-less attempts must
    all sit well above that floor and near a successful sign-in. The login
    workers' CPU time is compared, not the wall time: it is what bcrypt
    spends, and it does not grow when the machine is busy with other work.
    """
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10)).decode()
    insert_user(clean, "slowhash", hashed=hashed)
    insert_user(clean, "nopass", password=None)
    try:
        clean.restart_program("login", {"BCRYPT_COST": "10", "LOGIN_MAX_FAILURES": "1000"})

        def cpu_per_request(fn, n=5):
            before = workers_cpu_seconds(clean, "login")
            for _ in range(n):
                r = fn()
            return r, (workers_cpu_seconds(clean, "login") - before) / n

        r, floor = cpu_per_request(lambda: post(clean, "/api/auth/login", data=b"{",
                                                headers={"Content-Type": "application/json"}))
        assert_error(r, 400, "invalid_request")
        r, unknown = cpu_per_request(lambda: login_response(clean, "nobody-at-all", PASSWORD))
        assert_error(r, 401, "invalid_credentials")
        r, wrong = cpu_per_request(lambda: login_response(clean, "slowhash", "Wrong-Password-123"))
        assert_error(r, 401, "invalid_credentials")
        r, nopass = cpu_per_request(lambda: login_response(clean, "nopass", PASSWORD))
        assert_error(r, 401, "invalid_credentials")
        r, right = cpu_per_request(lambda: login_response(clean, "slowhash", PASSWORD))
        assert r.status_code == 200

        assert floor < 0.005, f"a malformed body cost {floor:.4f} s of CPU"
        assert right > 0.01, f"a successful sign-in cost only {right:.4f} s of CPU (BCRYPT_COST ignored?)"
        for label, t in (("unknown", unknown), ("wrong", wrong), ("nopass", nopass)):
            assert t > floor + 0.5 * right, f"{label}: {t:.4f} s of CPU vs floor {floor:.4f} s (no bcrypt?)"
            assert 0.5 < t / right < 2, f"{label}: {t:.4f} s of CPU vs success {right:.4f} s"
    finally:
        clean.restart_program("login")


def test_disabled_user_right_password_is_403_wrong_is_401(clean):
    add_user(clean, "nelly")
    clean.sql("auth", "UPDATE users SET is_active = false WHERE username = 'nelly'")
    assert_error(login_response(clean, "nelly", PASSWORD), 403, "account_disabled")
    assert_error(login_response(clean, "nelly", "Wrong-Password-123"), 401, "invalid_credentials")
    assert clean.sql("auth", "SELECT count(*) FROM sessions")[0][0] == 0


def test_password_over_72_bytes_never_matches(clean):
    exact = "A" * 72
    longer = exact + "B"
    uid = add_user(clean, "nelly", password=PASSWORD)
    # A hash of the 72-byte password: bcrypt would accept any longer string with that prefix.
    clean.sql("auth", "UPDATE users SET hashed_password = %s WHERE id = %s",
              (bcrypt.hashpw(exact.encode(), bcrypt.gensalt(4)).decode(), uid))
    assert login_response(clean, "nelly", exact).status_code == 200
    assert_error(login_response(clean, "nelly", longer), 401, "invalid_credentials")
    assert_error(login_response(clean, "nelly", exact + "A" * 100), 401, "invalid_credentials")
    # Multi-byte characters count in bytes: 24 × 3 bytes = 72 works, 25 × 3 does not.
    euro72 = "€" * 24
    clean.sql("auth", "UPDATE users SET hashed_password = %s WHERE id = %s",
              (bcrypt.hashpw(euro72.encode(), bcrypt.gensalt(4)).decode(), uid))
    assert login_response(clean, "nelly", euro72).status_code == 200
    assert_error(login_response(clean, "nelly", euro72 + "€"), 401, "invalid_credentials")


def test_nul_byte_never_truncates_a_password(clean):
    uid = add_user(clean, "nelly")
    clean.sql("auth", "UPDATE users SET hashed_password = %s WHERE id = %s",
              (bcrypt.hashpw(b"abcdefghij", bcrypt.gensalt(4)).decode(), uid))
    r = post(clean, "/api/auth/login", data=b'{"username":"nelly","password":"abcdefghij\\u0000xyz"}',
             headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid_request")
    r = post(clean, "/api/auth/login", data=b"username=nelly&password=abcdefghij%00xyz",
             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(r, 400, "invalid_request")
    assert "Set-Cookie" not in r.headers
    assert login_response(clean, "nelly", "abcdefghij").status_code == 200


# ---- bcrypt from elsewhere, and re-hashing --------------------------------------------------

@pytest.mark.parametrize("prefix", [b"2a", b"2b", "2y"])
def test_hash_made_by_python_bcrypt_verifies(clean, prefix):
    if prefix == "2y":
        # PHP's $2y$ is the same algorithm under another name.
        hashed = "$2y$" + bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()[4:]
    else:
        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4, prefix=prefix)).decode()
    insert_user(clean, "imported", hashed=hashed)
    r = login_response(clean, "imported", PASSWORD)
    assert r.status_code == 200, r.text
    assert_error(login_response(clean, "imported", PASSWORD + "x"), 401, "invalid_credentials")
    # Same cost as configured (4): kept as it is.
    assert clean.sql("auth", "SELECT hashed_password FROM users WHERE username = 'imported'")[0][0] == hashed


def test_lower_cost_hash_is_rehashed_on_login(clean):
    old = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4, prefix=b"2a")).decode()
    insert_user(clean, "oldhash", hashed=old)
    try:
        clean.restart_program("login", {"BCRYPT_COST": "5"})
        assert_error(login_response(clean, "oldhash", "Wrong-Password-123"), 401, "invalid_credentials")
        assert clean.sql("auth", "SELECT hashed_password FROM users WHERE username = 'oldhash'")[0][0] == old
        r = login_response(clean, "oldhash", PASSWORD)
        assert r.status_code == 200, r.text
        (new,) = clean.sql("auth", "SELECT hashed_password FROM users WHERE username = 'oldhash'")[0]
        assert new != old and new.startswith("$2b$05$"), new
        assert bcrypt.checkpw(PASSWORD.encode(), new.encode())
        assert login_response(clean, "oldhash", PASSWORD).status_code == 200
        assert clean.sql("auth", "SELECT hashed_password FROM users WHERE username = 'oldhash'")[0][0] == new
    finally:
        clean.restart_program("login")


# ---- malformed requests ---------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    b"",
    b"{",
    b"[]",
    b'"admin"',
    b'{"username":"admin"}',
    b'{"password":"Admin123!"}',
    b'{"username":1,"password":"Admin123!"}',
    b'{"username":"admin","password":null}',
    b'{"username":"admin","password":["Admin123!"]}',
    b'{"username":"admin","password":"x","password":"Admin123!"}',
    b'{"username":"admin","password":"Admin123!"} trailing',
    b'{"username":"\xff","password":"Admin123!"}',
    b'{"username":"admin","password":"Admin123!","x":' + b"[" * 40 + b"]" * 40 + b"}",
])
def test_malformed_json_is_400_and_not_counted(clean, body):
    r = post(clean, "/api/auth/login", data=body, headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid_request")
    assert failures(clean) == {}


@pytest.mark.parametrize("body", [
    b"",
    b"username=admin",
    b"password=Admin123%21",
    b"username=admin&password=Admin123%21&password=x",
    b"username=admin&password=%zz",
    b"username=%ff&password=Admin123%21",
    b"username=ad%00min&password=Admin123%21",
])
def test_malformed_form_is_400_and_not_counted(clean, body):
    r = post(clean, "/api/auth/login", data=body,
             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(r, 400, "invalid_request")
    assert failures(clean) == {}


def test_wrong_content_type_is_415(clean):
    for ctype in ("text/plain", "multipart/form-data; boundary=x", "application/jsonx", None):
        headers = {"Content-Type": ctype} if ctype else {}
        r = post(clean, "/api/auth/login", data=b'{"username":"admin","password":"Admin123!"}',
                 headers=headers)
        assert_error(r, 415, "unsupported_media_type")
    assert failures(clean) == {}


def test_body_over_16_kib_is_413(clean):
    pad = "x" * (16 * 1024)
    r = post(clean, "/api/auth/login", json={"username": "admin", "password": "Admin123!", "pad": pad})
    assert_error(r, 413, "payload_too_large")
    # Just under the cap is read (and the extra field ignored).
    body = {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "pad": ""}
    body["pad"] = "x" * (16 * 1024 - len(json.dumps(body)))
    raw = json.dumps(body).encode()
    assert len(raw) == 16 * 1024
    r = post(clean, "/api/auth/login", data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(clean, method):
    for path in ("/api/auth/login", "/api/auth/logout", "/api/auth/password"):
        r = requests.request(method, clean.url(path), timeout=10)
        assert_error(r, 405, "method_not_allowed")
        assert r.headers["Allow"] == "POST"


# ---- throttling -----------------------------------------------------------------------------

def test_sixth_attempt_is_429_even_with_the_right_password(clean):
    add_user(clean, "nelly")
    add_user(clean, "bystander")
    for i in range(5):
        assert_error(login_response(clean, "nelly", f"Wrong-Password-{i}"), 401, "invalid_credentials")
    assert user_failures(clean, "nelly") == 5
    r = login_response(clean, "nelly", PASSWORD)
    assert_error(r, 429, "too_many_attempts")
    retry = int(r.headers["Retry-After"])
    assert 880 <= retry <= 900, retry
    assert "Set-Cookie" not in r.headers
    # Refused attempts do not count.
    assert_error(login_response(clean, "nelly", "Wrong-Password-x"), 429, "too_many_attempts")
    assert user_failures(clean, "nelly") == 5
    # Other accounts are unaffected.
    assert login_response(clean, "bystander", PASSWORD).status_code == 200


def test_username_and_email_share_one_count(clean):
    add_user(clean, "nelly", email="nelly@example.org")
    for name in ("nelly", "nelly@example.org", "NELLY@example.org", "nelly", "Nelly@Example.org"):
        assert_error(login_response(clean, name, "Wrong-Password-123"), 401, "invalid_credentials")
    assert user_failures(clean, "nelly") == 5
    assert_error(login_response(clean, "nelly@example.org", PASSWORD), 429, "too_many_attempts")
    assert_error(login_response(clean, "nelly", PASSWORD), 429, "too_many_attempts")


def test_unknown_names_are_throttled_like_accounts(clean):
    # Otherwise the throttle would tell which names exist.
    for i in range(5):
        assert_error(login_response(clean, "ghost", f"Wrong-{i}"), 401, "invalid_credentials")
    r = login_response(clean, "ghost", "Wrong-5")
    assert_error(r, 429, "too_many_attempts")
    assert int(r.headers["Retry-After"]) > 0
    # The table keeps a digest of the name, never the name itself.
    keys = [key for (kind, key) in failures(clean) if kind == "user"]
    assert len(keys) == 1 and keys[0].startswith("name:") and "ghost" not in keys[0]
    # An unknown email is folded to lower case, like a real one would match.
    for name in ("Ghost@Example.org", "ghost@example.org", "GHOST@EXAMPLE.ORG", "ghost@Example.org",
                 "ghost@example.ORG"):
        assert_error(login_response(clean, name, "Wrong"), 401, "invalid_credentials")
    assert_error(login_response(clean, "ghost@example.org", "Wrong"), 429, "too_many_attempts")


def test_success_clears_the_account_count(clean):
    add_user(clean, "nelly")
    for i in range(4):
        assert_error(login_response(clean, "nelly", f"Wrong-{i}"), 401, "invalid_credentials")
    assert login_response(clean, "nelly", PASSWORD).status_code == 200
    assert user_failures(clean, "nelly") == 0
    for i in range(4):
        assert_error(login_response(clean, "nelly", f"Wrong-{i}"), 401, "invalid_credentials")
    assert login_response(clean, "nelly", PASSWORD).status_code == 200
    # The address's count is not the account's: it keeps the eight failures.
    assert addr_failures(clean) == 8


def test_a_count_that_cannot_be_cleared_does_not_refuse_the_sign_in(clean):
    # The session is committed before the account's failures are cleared; a
    # failed clear is logged, and the sign-in stands (as for a password change).
    add_user(clean, "nelly")
    for i in range(2):
        assert_error(login_response(clean, "nelly", f"Wrong-{i}"), 401, "invalid_credentials")
    # Giving back the reservation leaves two failures; only clearing deletes the row.
    clean.sql("auth", """
        CREATE FUNCTION refuse_clear() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'clearing refused by the test'; END $$;
        CREATE TRIGGER refuse_clear BEFORE DELETE ON login_attempts FOR EACH ROW
            WHEN (OLD.kind = 'user' AND OLD.failures >= 2) EXECUTE FUNCTION refuse_clear()""")
    try:
        r = login_response(clean, "nelly", PASSWORD)
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        assert get(clean, "/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert user_failures(clean, "nelly") == 2
        assert "could not clear the sign-in failures" in clean.log_text("login")
    finally:
        clean.sql("auth", "DROP TRIGGER refuse_clear ON login_attempts; DROP FUNCTION refuse_clear()")


def test_address_is_throttled_at_four_times_the_limit(clean):
    add_user(clean, "nelly")
    # 20 failures spread over names that each stay under their own limit.
    for i in range(20):
        assert_error(login_response(clean, f"someone{i % 5}-{i // 5}", "Wrong"), 401, "invalid_credentials")
    assert addr_failures(clean) == 20
    r = login_response(clean, "nelly", PASSWORD)
    assert_error(r, 429, "too_many_attempts")
    assert 880 <= int(r.headers["Retry-After"]) <= 900
    # X-Forwarded-For is not trusted to pick another address.
    r = login_response(clean, "nelly", PASSWORD, headers={"X-Forwarded-For": "203.0.113.9"})
    assert_error(r, 429, "too_many_attempts")
    assert addr_failures(clean) == 20


def test_counters_hold_across_processes(clean):
    add_user(clean, "nelly")
    for i in range(5):
        assert_error(login_response(clean, "nelly", f"Wrong-{i}"), 401, "invalid_credentials")
    clean.restart_program("login")
    assert_error(login_response(clean, "nelly", PASSWORD), 429, "too_many_attempts")


def test_window_passes_and_counting_starts_again(clean):
    add_user(clean, "nelly")
    try:
        clean.restart_program("login", {"LOGIN_WINDOW_SECONDS": "2", "LOGIN_MAX_FAILURES": "2"})
        for i in range(2):
            assert_error(login_response(clean, "nelly", f"Wrong-{i}"), 401, "invalid_credentials")
        r = login_response(clean, "nelly", PASSWORD)
        assert_error(r, 429, "too_many_attempts")
        assert 1 <= int(r.headers["Retry-After"]) <= 2
        time.sleep(2.2)
        assert_error(login_response(clean, "nelly", "Wrong-again"), 401, "invalid_credentials")
        assert user_failures(clean, "nelly") == 1
        assert login_response(clean, "nelly", PASSWORD).status_code == 200
    finally:
        clean.restart_program("login")


def test_expired_counters_are_pruned_by_logins(clean):
    clean.sql("auth", """INSERT INTO login_attempts (kind, key, failures, window_start, expires_at)
                          SELECT 'user', 'name:' || g, 3, now() - interval '2 hours',
                                 now() - interval '1 hour' FROM generate_series(1, 50) g""")
    add_user(clean, "nelly")
    # One sign-in in 64 prunes a batch: 800 tries make a miss vanishingly unlikely.
    for _ in range(800):
        assert login_response(clean, "nelly", PASSWORD).status_code == 200
        if clean.sql("auth", "SELECT count(*) FROM login_attempts")[0][0] == 0:
            break
    assert clean.sql("auth", "SELECT count(*) FROM login_attempts")[0][0] == 0


# ---- logout -----------------------------------------------------------------------------------

def test_logout_with_bearer_revokes_the_session(clean):
    add_user(clean, "nelly")
    token = login(clean, "nelly")
    other = login(clean, "nelly")
    r = post(clean, "/api/auth/logout", token)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert r.headers["Set-Cookie"] == "farout_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
    assert_error(me(clean, token), 401, "not_authenticated")
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    assert clean.sql("auth", "SELECT revoked_at IS NOT NULL FROM sessions WHERE jti = %s", (jti,))[0][0]
    # Only that session.
    assert me(clean, other).status_code == 200
    # Logging out twice is still 204.
    assert post(clean, "/api/auth/logout", token).status_code == 204


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer garbage"},
    {"Authorization": "Bearer "},
    {"Cookie": "farout_session=garbage"},
    {"Cookie": "farout_session=a.b.c", "Origin": "http://evil.example"},
])
def test_logout_without_a_valid_token_is_204(clean, headers):
    r = post(clean, "/api/auth/logout", headers=headers)
    assert r.status_code == 204, r.text
    assert r.headers["Set-Cookie"] == "farout_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"


def test_logout_with_cookie_needs_the_own_origin(clean):
    add_user(clean, "nelly")
    token = login(clean, "nelly")
    for extra in ({}, {"Origin": "http://evil.example"}, {"Origin": "null"},
                  {"Referer": "http://evil.example/page"}):
        r = post(clean, "/api/auth/logout", cookie=token, headers=extra)
        assert_error(r, 403, "csrf_failed")
        assert "Set-Cookie" not in r.headers
        assert me(clean, cookie=token).status_code == 200
    r = post(clean, "/api/auth/logout", cookie=token, headers={"Origin": clean.public_url})
    assert r.status_code == 204
    assert_error(me(clean, cookie=token), 401, "not_authenticated")

    token = login(clean, "nelly")
    r = post(clean, "/api/auth/logout", cookie=token, headers={"Referer": clean.public_url + "/account"})
    assert r.status_code == 204
    assert_error(me(clean, token), 401, "not_authenticated")


def test_logout_works_for_a_disabled_user(clean):
    add_user(clean, "nelly")
    token = login(clean, "nelly")
    clean.sql("auth", "UPDATE users SET is_active = false WHERE username = 'nelly'")
    assert post(clean, "/api/auth/logout", token).status_code == 204
    clean.sql("auth", "UPDATE users SET is_active = true WHERE username = 'nelly'")
    # Enabling the account again does not bring the session back.
    assert_error(me(clean, token), 401, "not_authenticated")


def test_logout_of_a_pending_change_user(clean):
    token = login(clean, ADMIN_USERNAME, ADMIN_PASSWORD)
    assert post(clean, "/api/auth/logout", token).status_code == 204
    assert_error(me(clean, token), 401, "not_authenticated")


# ---- the auth database going away -------------------------------------------------------------

def test_login_is_503_while_the_database_is_down_then_recovers(clean):
    add_user(clean, "nelly")
    token = login(clean, "nelly")
    clean.stop_postgres()
    try:
        assert_error(login_response(clean, "nelly", PASSWORD), 503, "unavailable")
        assert_error(post(clean, "/api/auth/logout", token),
                     503, "unavailable")
    finally:
        clean.start_postgres()
        settle(clean)
    assert login_response(clean, "nelly", PASSWORD).status_code == 200
    assert post(clean, "/api/auth/logout", token).status_code == 204
