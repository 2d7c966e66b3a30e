"""GET /api/auth/me and GET /api/auth/verify through nginx (API.md), roles
read from the database at request time, and the seeded admin's forced
password change.

Choices pinned down here: verify's role may be member, officer or admin
(anything else, an empty value included, is 400 invalid_request, checked
before the token); me answers 503 whenever the app database is down, also
for a user without a Discord id.
"""

import json
import re
import time

import bcrypt
import jwt
import pytest
import requests

import fcgi_client
from harness import ADMIN_PASSWORD, ADMIN_USERNAME, PROGRAMS

PASSWORD = "Correct-Horse-9-Battery"
NEW_PASSWORD = "Brand-New-Secret-77"
SNOWFLAKE = "80351110224678912"
USER_KEYS = {"id", "username", "discord_id", "discriminator", "avatar", "email", "role",
             "must_change_password", "is_active", "created_at", "last_login"}
MEMBER_KEYS = {"id", "discord_id", "display_name", "bio", "avatar_url", "rank", "missions_completed",
               "trainings_completed", "stats", "created_at", "updated_at"}
RFC3339_Z = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


# ---- helpers ---------------------------------------------------------------------

def assert_error(r, status, code):
    assert r.status_code == status, f"expected {status} {code}, got {r.status_code}: {r.text[:300]}"
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    body = r.json()
    assert body.get("error") == code, body
    assert isinstance(body.get("detail"), str) and body["detail"], body
    return body


def get(stack, path, token=None, headers=None):
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    return requests.get(stack.url(path), headers=h, timeout=30)


def add_user(stack, username, role="member", discord_id=None, email=None, password=PASSWORD):
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode() if password else None
    return stack.sql("auth", """INSERT INTO users (username, hashed_password, role, discord_id, email)
                                VALUES (%s, %s, %s, %s, %s) RETURNING id""",
                     (username, hashed, role, discord_id, email))[0][0]


def login(stack, username, password=PASSWORD):
    r = requests.post(stack.url("/api/auth/login"), json={"username": username, "password": password},
                      timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def settle(stack):
    """After a database went away, lets every worker reconnect before going on."""
    params = {"REQUEST_METHOD": "GET", "DOCUMENT_URI": "/api/health", "REQUEST_URI": "/api/health",
              "QUERY_STRING": "", "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1"}
    for name in PROGRAMS:
        ok_in_a_row, deadline = 0, time.monotonic() + 20
        while ok_in_a_row < 6 and time.monotonic() < deadline:
            headers, _ = fcgi_client.request(stack.socket_path(name), params)
            ok_in_a_row = ok_in_a_row + 1 if headers.status == 200 else 0
            if headers.status != 200:
                time.sleep(0.1)
        assert ok_in_a_row >= 6, f"{name} did not recover"


# ---- GET /api/auth/me --------------------------------------------------------------------

def test_me_answers_the_user_and_identity_headers(clean):
    uid = add_user(clean, "nelly", role="officer", email="nelly@example.org")
    token = login(clean, "nelly")
    r = get(clean, "/api/auth/me", token)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Auth-User-Id"] == str(uid)
    assert r.headers["X-Auth-Username"] == "nelly"
    assert r.headers["X-Auth-Role"] == "officer"
    body = r.json()
    assert set(body) == USER_KEYS | {"member"}
    assert body["id"] == uid and body["username"] == "nelly" and body["role"] == "officer"
    assert body["email"] == "nelly@example.org"
    assert body["discord_id"] is None and body["member"] is None
    assert body["must_change_password"] is False and body["is_active"] is True
    assert re.fullmatch(RFC3339_Z, body["created_at"]) and re.fullmatch(RFC3339_Z, body["last_login"])
    assert "hashed_password" not in r.text and "$2b$" not in r.text


def test_me_includes_the_member_row(clean):
    uid = add_user(clean, "nelly", discord_id=SNOWFLAKE, password=None)
    mid = clean.sql("app", """
        INSERT INTO members (discord_id, display_name, bio, avatar_url, rank, missions_completed,
                             trainings_completed, stats)
        VALUES (%s, 'Nelly', NULL, %s, 'officer', '["m1", 2]', '[]', '{"kills": 12, "ratio": 1.5}')
        RETURNING id""",
                    (SNOWFLAKE, f"https://cdn.discordapp.com/avatars/{SNOWFLAKE}/abc.png"))[0][0]
    clean.sql("app", "INSERT INTO members (discord_id, display_name) VALUES ('123', 'Someone else')")
    jti = "session-for-a-discord-user-0123456789abc"
    clean.sql("auth", "INSERT INTO sessions (jti, user_id, expires_at) VALUES (%s, %s, now() + interval '1 hour')",
              (jti, uid))
    now = int(time.time())
    token = jwt.encode({"sub": str(uid), "jti": jti, "iat": now, "exp": now + 600, "iss": "farout"},
                       clean.env["JWT_SECRET"], algorithm="HS256")
    r = get(clean, "/api/auth/me", token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["discord_id"] == SNOWFLAKE and isinstance(body["discord_id"], str)
    member = body["member"]
    assert set(member) == MEMBER_KEYS, member
    assert member["id"] == mid and isinstance(member["id"], int)
    assert member["discord_id"] == SNOWFLAKE
    assert member["display_name"] == "Nelly"
    assert member["bio"] is None
    assert member["avatar_url"] == f"https://cdn.discordapp.com/avatars/{SNOWFLAKE}/abc.png"
    assert member["rank"] == "officer"
    assert member["missions_completed"] == ["m1", 2]
    assert member["trainings_completed"] == []
    assert member["stats"] == {"kills": 12, "ratio": 1.5}
    assert re.fullmatch(RFC3339_Z, member["created_at"]) and re.fullmatch(RFC3339_Z, member["updated_at"])


def test_me_member_is_null_without_a_row(clean):
    uid = add_user(clean, "nelly", discord_id=SNOWFLAKE)
    r = get(clean, "/api/auth/me", login(clean, "nelly"))
    assert r.status_code == 200
    assert r.json()["id"] == uid and r.json()["member"] is None


def test_me_is_503_while_the_app_database_is_down_and_verify_keeps_working(clean):
    add_user(clean, "nelly", discord_id=SNOWFLAKE)
    add_user(clean, "local")
    discord_token, local_token = login(clean, "nelly"), login(clean, "local")
    clean.sql("auth", "ALTER DATABASE farout ALLOW_CONNECTIONS false")
    try:
        clean.sql("auth", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = 'farout' AND pid <> pg_backend_pid()")
        for token in (discord_token, local_token):
            assert_error(get(clean, "/api/auth/me", token), 503, "unavailable")
            r = get(clean, "/api/auth/verify", token)
            assert r.status_code == 204, r.text
        # Sign-in and sign-out need only the auth database.
        other = login(clean, "local")
        r = requests.post(clean.url("/api/auth/logout"), headers={"Authorization": f"Bearer {other}"},
                          timeout=30)
        assert r.status_code == 204
    finally:
        clean.sql("auth", "ALTER DATABASE farout ALLOW_CONNECTIONS true")
        settle(clean)
    assert get(clean, "/api/auth/me", discord_token).status_code == 200


def test_me_is_503_while_the_auth_database_is_down(clean):
    add_user(clean, "nelly")
    token = login(clean, "nelly")
    clean.stop_postgres()
    try:
        assert_error(get(clean, "/api/auth/me", token), 503, "unavailable")
        assert_error(get(clean, "/api/auth/verify", token), 503, "unavailable")
    finally:
        clean.start_postgres()
        settle(clean)
    assert get(clean, "/api/auth/me", token).status_code == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_me_and_verify_take_only_get(clean, method):
    for path in ("/api/auth/me", "/api/auth/verify"):
        r = requests.request(method, clean.url(path), timeout=10)
        assert_error(r, 405, "method_not_allowed")
        assert r.headers["Allow"] == "GET"


# ---- GET /api/auth/verify -------------------------------------------------------------------

def test_verify_is_204_with_identity_headers_and_no_body(clean):
    uid = add_user(clean, "nelly")
    r = get(clean, "/api/auth/verify", login(clean, "nelly"))
    assert r.status_code == 204
    assert r.content == b""
    assert "Content-Type" not in r.headers
    assert r.headers["X-Auth-User-Id"] == str(uid)
    assert r.headers["X-Auth-Username"] == "nelly"
    assert r.headers["X-Auth-Role"] == "member"
    assert r.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("role, wanted, status", [
    ("member", "member", 204), ("member", "officer", 403), ("member", "admin", 403),
    ("officer", "member", 204), ("officer", "officer", 204), ("officer", "admin", 403),
    ("admin", "member", 204), ("admin", "officer", 204), ("admin", "admin", 204),
])
def test_verify_role(clean, role, wanted, status):
    add_user(clean, "someone", role=role)
    r = get(clean, f"/api/auth/verify?role={wanted}", login(clean, "someone"))
    if status == 204:
        assert r.status_code == 204 and r.content == b""
        assert r.headers["X-Auth-Role"] == role
    else:
        assert_error(r, 403, "forbidden")
        assert "X-Auth-User-Id" not in r.headers


@pytest.mark.parametrize("query", ["role=", "role=Admin", "role=superuser", "role=%zz", "role=admin%00"])
def test_verify_unknown_role_is_400(clean, query):
    add_user(clean, "nelly", role="admin")
    token = login(clean, "nelly")
    assert_error(get(clean, f"/api/auth/verify?{query}", token), 400, "invalid_request")
    assert_error(get(clean, f"/api/auth/verify?{query}"), 400, "invalid_request")


def test_verify_without_a_token_is_401_with_the_error_body(clean):
    r = get(clean, "/api/auth/verify?role=officer")
    assert_error(r, 401, "not_authenticated")
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_verify_accepts_the_cookie(clean):
    add_user(clean, "nelly", role="officer")
    token = login(clean, "nelly")
    r = get(clean, "/api/auth/verify?role=officer", headers={"Cookie": f"farout_session={token}"})
    assert r.status_code == 204


# ---- roles come from the database ----------------------------------------------------------------

def test_demotion_takes_effect_on_the_next_request(clean):
    uid = add_user(clean, "boss", role="admin")
    token = login(clean, "boss")
    assert get(clean, "/api/auth/verify?role=admin", token).status_code == 204
    clean.sql("auth", "UPDATE users SET role = 'member' WHERE id = %s", (uid,))
    assert_error(get(clean, "/api/auth/verify?role=admin", token), 403, "forbidden")
    assert_error(get(clean, "/api/auth/verify?role=officer", token), 403, "forbidden")
    r = get(clean, "/api/auth/verify", token)
    assert r.status_code == 204 and r.headers["X-Auth-Role"] == "member"
    r = get(clean, "/api/auth/me", token)
    assert r.json()["role"] == "member" and r.headers["X-Auth-Role"] == "member"
    # The members program reads the same role: admin-only writes are refused.
    r = requests.post(clean.url("/api/members"), headers={"Authorization": f"Bearer {token}"},
                      json={"discord_id": SNOWFLAKE, "display_name": "X"}, timeout=30)
    assert_error(r, 403, "forbidden")


def test_promotion_takes_effect_on_the_next_request(clean):
    uid = add_user(clean, "nelly")
    token = login(clean, "nelly")
    assert_error(get(clean, "/api/auth/verify?role=officer", token), 403, "forbidden")
    clean.admin("user", "role", "nelly", "officer")
    assert clean.sql("auth", "SELECT role FROM users WHERE id = %s", (uid,))[0][0] == "officer"
    assert get(clean, "/api/auth/verify?role=officer", token).status_code == 204


def test_role_unknown_to_this_build_grants_only_member(clean):
    uid = add_user(clean, "odd")
    token = login(clean, "odd")
    clean.sql("auth", "UPDATE users SET role = 'superuser' WHERE id = %s", (uid,))
    r = get(clean, "/api/auth/verify", token)
    assert r.status_code == 204 and r.headers["X-Auth-Role"] == "member"
    assert_error(get(clean, "/api/auth/verify?role=officer", token), 403, "forbidden")


# ---- the seeded admin's forced change -------------------------------------------------------------

def test_seeded_admin_must_change_the_password_first(clean):
    token = login(clean, ADMIN_USERNAME, ADMIN_PASSWORD)
    auth = {"Authorization": f"Bearer {token}"}
    # me and verify let the user through, so the website can ask for the change.
    r = get(clean, "/api/auth/me", token)
    assert r.status_code == 200 and r.json()["must_change_password"] is True
    assert get(clean, "/api/auth/verify?role=admin", token).status_code == 204
    # Everything else is refused until the change.
    assert_error(requests.get(clean.url("/api/members"), headers=auth, timeout=30),
                 403, "password_change_required")
    assert_error(requests.get(clean.url("/api/members/me"), headers=auth, timeout=30),
                 403, "password_change_required")
    assert_error(requests.post(clean.url("/api/members"), headers=auth,
                               json={"discord_id": SNOWFLAKE, "display_name": "X"}, timeout=30),
                 403, "password_change_required")

    r = requests.post(clean.url("/api/auth/password"), headers=auth, timeout=30,
                      json={"current_password": ADMIN_PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    new_token = r.json()["access_token"]
    assert r.json()["must_change_password"] is False
    assert clean.sql("auth", "SELECT must_change_password FROM users WHERE username = 'admin'")[0][0] is False
    # The old session is gone; the new one reaches the rest of the API.
    assert_error(get(clean, "/api/auth/me", token), 401, "not_authenticated")
    r = requests.get(clean.url("/api/members"), headers={"Authorization": f"Bearer {new_token}"}, timeout=30)
    assert r.status_code == 200, r.text
    assert json.loads(r.text)["items"] == []


def test_forced_change_set_by_an_operator_applies_to_live_sessions(clean):
    add_user(clean, "nelly")
    token = login(clean, "nelly")
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(clean.url("/api/members"), headers=auth, timeout=30).status_code == 200
    clean.sql("auth", "UPDATE users SET must_change_password = true WHERE username = 'nelly'")
    assert_error(requests.get(clean.url("/api/members"), headers=auth, timeout=30),
                 403, "password_change_required")
    assert get(clean, "/api/auth/me", token).json()["must_change_password"] is True
