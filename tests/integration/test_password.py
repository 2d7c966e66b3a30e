"""POST /api/auth/password through nginx (API.md), and the CSRF rule for
cookie-authenticated unsafe requests.

Choices pinned down here: the body is JSON only (a form is 415); fields
other than current_password and new_password are ignored; current_password
may be absent or null for a user without a password, and is required
(400 invalid_request) otherwise; the policy (400 weak_password) is checked
before the current password; a wrong current password counts against the
account's sign-in throttle like a failed login (429 after
LOGIN_MAX_FAILURES), since a stolen session must not become an unthrottled
password oracle.
"""

import json
import re

import bcrypt
import jwt
import pytest

from helpers import (NEW_PASSWORD, PASSWORD, SESSION_COOKIE_RE, SIGN_IN_KEYS, assert_error, get, insert_user,
                     login, login_response, post, session_token)


# ---- helpers ---------------------------------------------------------------------

def change(stack, body, token=None, cookie=None, headers=None, raw=None, content_type="application/json"):
    if raw is None:
        raw = json.dumps(body).encode()
    headers = {**(headers or {}), "Content-Type": content_type}
    return post(stack, "/api/auth/password", token, cookie, headers, data=raw)


def me_status(stack, token):
    return get(stack, "/api/auth/me", token).status_code


def stored_hash(stack, username):
    return stack.sql("auth", "SELECT hashed_password FROM users WHERE username = %s", (username,))[0][0]


# ---- success ------------------------------------------------------------------------------

def test_change_answers_like_login_and_revokes_every_session(clean):
    uid = insert_user(clean, "nelly", must_change=True)
    token = login(clean, "nelly")
    other = login(clean, "nelly")
    r = change(clean, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, token=token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == SIGN_IN_KEYS
    assert body["token_type"] == "bearer" and body["expires_in"] == 7 * 86400
    assert body["must_change_password"] is False
    assert body["user"]["id"] == uid and body["user"]["must_change_password"] is False
    assert "hashed_password" not in r.text
    m = re.fullmatch(SESSION_COOKIE_RE, r.headers["Set-Cookie"])
    assert m and m.group(1) == body["access_token"]
    claims = jwt.decode(body["access_token"], clean.env["JWT_SECRET"], algorithms=["HS256"],
                        issuer="farout")
    assert claims["must_change_password"] is False and claims["sub"] == str(uid)

    # Every earlier session is revoked, the new one lives.
    assert me_status(clean, token) == 401
    assert me_status(clean, other) == 401
    assert me_status(clean, body["access_token"]) == 200
    rows = clean.sql("auth", "SELECT jti, revoked_at IS NULL FROM sessions WHERE user_id = %s", (uid,))
    live = [jti for jti, alive in rows if alive]
    assert live == [claims["jti"]] and len(rows) == 3

    # The new password signs in, the old one does not.
    assert login_response(clean, "nelly", NEW_PASSWORD).status_code == 200
    assert_error(login_response(clean, "nelly", PASSWORD), 401, "invalid_credentials")
    h = stored_hash(clean, "nelly")
    assert h.startswith("$2b$04$") and bcrypt.checkpw(NEW_PASSWORD.encode(), h.encode())
    assert clean.sql("auth", "SELECT must_change_password FROM users WHERE id = %s", (uid,))[0][0] is False


def test_sessions_of_other_users_are_untouched(clean):
    insert_user(clean, "nelly")
    insert_user(clean, "bystander")
    bystander = login(clean, "bystander")
    r = change(clean, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, token=login(clean, "nelly"))
    assert r.status_code == 200
    assert me_status(clean, bystander) == 200


# Boundaries of length (10 and 72 bytes, 10 bytes in 5 characters) with passwords hard to guess.
@pytest.mark.parametrize("new", ["Kq7#vX2!mZ", "Gx7#Lw2q-Vb9!Tz4" * 4 + "Kd8&Pm3r", "ñßøåü",
                                 "Pass phrase with spaces"])
def test_policy_boundaries_that_pass(clean, new):
    insert_user(clean, "nelly")
    r = change(clean, {"current_password": PASSWORD, "new_password": new}, token=login(clean, "nelly"))
    assert r.status_code == 200, r.text
    assert login_response(clean, "nelly", new).status_code == 200


def test_user_without_a_password_sets_one_without_current(clean):
    uid = insert_user(clean, "discorduser", password=None)
    for body in ({"new_password": NEW_PASSWORD}, {"current_password": None, "new_password": NEW_PASSWORD}):
        clean.sql("auth", "UPDATE users SET hashed_password = NULL WHERE id = %s", (uid,))
        token = session_token(clean, uid)
        r = change(clean, body, token=token)
        assert r.status_code == 200, r.text
        assert me_status(clean, token) == 401
        assert login_response(clean, "discorduser", NEW_PASSWORD).status_code == 200


def test_extra_fields_are_ignored(clean):
    insert_user(clean, "nelly")
    r = change(clean, {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
               token=login(clean, "nelly"))
    assert r.status_code == 200, r.text


# ---- refused --------------------------------------------------------------------------------------

@pytest.mark.parametrize("new, why", [
    ("short-9ch", "9 bytes"),
    ("", "empty"),
    ("x" * 73, "73 bytes"),
    ("é" * 36 + "x", "73 bytes in 37 characters"),
    (PASSWORD, "the current one"),
    ("my-nelly-password", "contains the username"),
    ("My-NELLY-Password", "contains the username, other case"),
])
def test_weak_new_password_is_400(clean, new, why):
    insert_user(clean, "nelly")
    token = login(clean, "nelly")
    before = stored_hash(clean, "nelly")
    r = change(clean, {"current_password": PASSWORD, "new_password": new}, token=token)
    assert_error(r, 400, "weak_password")
    assert "Set-Cookie" not in r.headers
    assert stored_hash(clean, "nelly") == before, why
    assert me_status(clean, token) == 200


def test_wrong_current_password_is_401_and_changes_nothing(clean):
    insert_user(clean, "nelly", must_change=True)
    token = login(clean, "nelly")
    before = stored_hash(clean, "nelly")
    r = change(clean, {"current_password": "Not-The-Password-1", "new_password": NEW_PASSWORD}, token=token)
    assert_error(r, 401, "invalid_credentials")
    assert stored_hash(clean, "nelly") == before
    assert me_status(clean, token) == 200
    assert clean.sql("auth", "SELECT must_change_password FROM users WHERE username = 'nelly'")[0][0] is True


def test_wrong_current_passwords_are_throttled(clean):
    insert_user(clean, "nelly")
    token = login(clean, "nelly")
    for i in range(5):
        r = change(clean, {"current_password": f"Wrong-{i}-password", "new_password": NEW_PASSWORD},
                   token=token)
        assert_error(r, 401, "invalid_credentials")
    r = change(clean, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, token=token)
    assert_error(r, 429, "too_many_attempts")
    assert int(r.headers["Retry-After"]) > 0
    # They are the account's failures: sign-in is refused too.
    assert_error(login_response(clean, "nelly", PASSWORD), 429, "too_many_attempts")


@pytest.mark.parametrize("raw", [
    b"",
    b"{",
    b"[]",
    b'{"current_password": "Correct-Horse-9-Battery"}',
    b'{"current_password": "Correct-Horse-9-Battery", "new_password": null}',
    b'{"current_password": "Correct-Horse-9-Battery", "new_password": 1234567890}',
    b'{"current_password": 5, "new_password": "Brand-New-Secret-77"}',
    b'{"new_password": "Brand-New-Secret-77"}',
    b'{"current_password": null, "new_password": "Brand-New-Secret-77"}',
    b'{"current_password": "Correct-Horse-9-Battery", "new_password": "Brand-New-Secret-77\\u0000x"}',
    b'{"current_password": "Correct-Horse-9-Battery", "new_password": "a", "new_password": "Brand-New-Secret-77"}',
])
def test_malformed_body_is_400(clean, raw):
    insert_user(clean, "nelly")
    token = login(clean, "nelly")
    assert_error(change(clean, None, token=token, raw=raw), 400, "invalid_request")
    assert me_status(clean, token) == 200


def test_form_body_is_415_and_big_body_is_413(clean):
    insert_user(clean, "nelly")
    token = login(clean, "nelly")
    r = change(clean, None, token=token, raw=b"current_password=x&new_password=y",
               content_type="application/x-www-form-urlencoded")
    assert_error(r, 415, "unsupported_media_type")
    r = change(clean, {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "pad": "x" * 70000},
               token=token)
    assert_error(r, 413, "payload_too_large")


def test_without_a_session_is_401(clean):
    insert_user(clean, "nelly")
    r = change(clean, {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert_error(r, 401, "not_authenticated")
    r = change(clean, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, token="garbage")
    assert_error(r, 401, "not_authenticated")
    assert login_response(clean, "nelly", PASSWORD).status_code == 200


def test_disabled_user_cannot_change(clean):
    insert_user(clean, "nelly")
    token = login(clean, "nelly")
    clean.sql("auth", "UPDATE users SET is_active = false WHERE username = 'nelly'")
    r = change(clean, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, token=token)
    assert_error(r, 401, "not_authenticated")


# ---- CSRF ------------------------------------------------------------------------------------------

def change_by_cookie(stack, headers):
    """A signed-in user's password change authenticated by the session cookie alone,
    with headers besides ("SELF" in a value stands for the site's own origin)."""
    insert_user(stack, "nelly")
    token = login(stack, "nelly")
    headers = {k: v.replace("SELF", stack.public_url) for k, v in headers.items()}
    return change(stack, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, cookie=token,
                  headers=headers)


@pytest.mark.parametrize("headers", [
    {},
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Origin": "https://127.0.0.1"},
    {"Referer": "http://evil.example/form"},
    {"Origin": "http://evil.example", "Referer": "SELF/account"},
])
def test_cookie_without_the_own_origin_is_refused(clean, headers):
    r = change_by_cookie(clean, headers)
    assert_error(r, 403, "csrf_failed")
    assert "Set-Cookie" not in r.headers
    assert login_response(clean, "nelly", PASSWORD).status_code == 200


@pytest.mark.parametrize("headers", [
    {"Origin": "SELF"},
    {"Referer": "SELF/account/password?x=1"},
])
def test_cookie_with_the_own_origin_is_accepted(clean, headers):
    r = change_by_cookie(clean, headers)
    assert r.status_code == 200, r.text


def test_bearer_needs_no_origin(clean):
    insert_user(clean, "nelly")
    token = login(clean, "nelly")
    r = change(clean, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, token=token,
               headers={"Origin": "http://evil.example"})
    assert r.status_code == 200, r.text


def test_csrf_is_checked_for_cookie_writes_on_members_too(clean):
    # The rule lives in lib/auth, so every program's unsafe routes share it.
    insert_user(clean, "boss", role="admin")
    token = login(clean, "boss")
    body = {"discord_id": "80351110224678912", "display_name": "Nelly"}
    r = post(clean, "/api/members", cookie=token, json=body)
    assert_error(r, 403, "csrf_failed")
    r = post(clean, "/api/members", cookie=token, headers={"Origin": clean.public_url}, json=body)
    assert r.status_code == 201, r.text
    # Reads by cookie need no Origin.
    r = get(clean, "/api/members", cookie=token)
    assert r.status_code == 200
