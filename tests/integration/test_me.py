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

import pytest
import requests

from harness import ADMIN_PASSWORD, ADMIN_USERNAME
from helpers import (MEMBER_KEYS, USER_KEYS, assert_error, change_admin_password, get, insert_user, login,
                     post, session_token, settle)

SNOWFLAKE = "80351110224678912"
RFC3339_Z = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


# ---- GET /api/auth/me --------------------------------------------------------------------

def test_me_answers_the_user_and_identity_headers(clean):
    uid = insert_user(clean, "nelly", role="officer", email="nelly@example.org")
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
    uid = insert_user(clean, "nelly", discord_id=SNOWFLAKE, password=None)
    mid = clean.sql("app", """
        INSERT INTO members (discord_id, display_name, bio, avatar_url, rank, missions_completed,
                             trainings_completed, stats)
        VALUES (%s, 'Nelly', NULL, %s, 'officer', '["m1", 2]', '[]', '{"kills": 12, "ratio": 1.5}')
        RETURNING id""",
                    (SNOWFLAKE, f"https://cdn.discordapp.com/avatars/{SNOWFLAKE}/abc.png"))[0][0]
    clean.sql("app", "INSERT INTO members (discord_id, display_name) VALUES ('123', 'Someone else')")
    r = get(clean, "/api/auth/me", session_token(clean, uid))
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
    uid = insert_user(clean, "nelly", discord_id=SNOWFLAKE)
    r = get(clean, "/api/auth/me", login(clean, "nelly"))
    assert r.status_code == 200
    assert r.json()["id"] == uid and r.json()["member"] is None


def test_me_is_503_while_the_app_database_is_down_and_verify_keeps_working(clean):
    insert_user(clean, "nelly", discord_id=SNOWFLAKE)
    insert_user(clean, "local")
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
        r = post(clean, "/api/auth/logout", other)
        assert r.status_code == 204
    finally:
        clean.sql("auth", "ALTER DATABASE farout ALLOW_CONNECTIONS true")
        settle(clean)
    assert get(clean, "/api/auth/me", discord_token).status_code == 200


def test_me_is_503_while_the_auth_database_is_down(clean):
    insert_user(clean, "nelly")
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
    uid = insert_user(clean, "nelly")
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
    insert_user(clean, "someone", role=role)
    r = get(clean, f"/api/auth/verify?role={wanted}", login(clean, "someone"))
    if status == 204:
        assert r.status_code == 204 and r.content == b""
        assert r.headers["X-Auth-Role"] == role
    else:
        assert_error(r, 403, "forbidden")
        assert "X-Auth-User-Id" not in r.headers


@pytest.mark.parametrize("query", ["role=", "role=Admin", "role=superuser", "role=%zz", "role=admin%00"])
def test_verify_unknown_role_is_400(clean, query):
    insert_user(clean, "nelly", role="admin")
    token = login(clean, "nelly")
    assert_error(get(clean, f"/api/auth/verify?{query}", token), 400, "invalid_request")
    assert_error(get(clean, f"/api/auth/verify?{query}"), 400, "invalid_request")


def test_verify_without_a_token_is_401_with_the_error_body(clean):
    r = get(clean, "/api/auth/verify?role=officer")
    assert_error(r, 401, "not_authenticated")
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_verify_accepts_the_cookie(clean):
    insert_user(clean, "nelly", role="officer")
    token = login(clean, "nelly")
    r = get(clean, "/api/auth/verify?role=officer", cookie=token)
    assert r.status_code == 204


# ---- roles come from the database ----------------------------------------------------------------

def test_demotion_takes_effect_on_the_next_request(clean):
    uid = insert_user(clean, "boss", role="admin")
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
    r = post(clean, "/api/members", token, json={"discord_id": SNOWFLAKE, "display_name": "X"})
    assert_error(r, 403, "forbidden")


def test_promotion_takes_effect_on_the_next_request(clean):
    uid = insert_user(clean, "nelly")
    token = login(clean, "nelly")
    assert_error(get(clean, "/api/auth/verify?role=officer", token), 403, "forbidden")
    clean.admin("user", "role", "nelly", "officer")
    assert clean.sql("auth", "SELECT role FROM users WHERE id = %s", (uid,))[0][0] == "officer"
    assert get(clean, "/api/auth/verify?role=officer", token).status_code == 204


def test_role_unknown_to_this_build_grants_only_member(clean):
    uid = insert_user(clean, "odd")
    token = login(clean, "odd")
    clean.sql("auth", "UPDATE users SET role = 'superuser' WHERE id = %s", (uid,))
    r = get(clean, "/api/auth/verify", token)
    assert r.status_code == 204 and r.headers["X-Auth-Role"] == "member"
    assert_error(get(clean, "/api/auth/verify?role=officer", token), 403, "forbidden")


# ---- the seeded admin's forced change -------------------------------------------------------------

def test_seeded_admin_must_change_the_password_first(clean):
    token = login(clean, ADMIN_USERNAME, ADMIN_PASSWORD)
    # me lets the user through, so the website can ask for the change; verify does not
    # (issue 10: nothing nginx guards opens to the default password).
    r = get(clean, "/api/auth/me", token)
    assert r.status_code == 200 and r.json()["must_change_password"] is True
    assert_error(get(clean, "/api/auth/verify?role=admin", token), 403, "password_change_required")
    # Everything else is refused until the change.
    assert_error(get(clean, "/api/members", token), 403, "password_change_required")
    assert_error(get(clean, "/api/members/me", token), 403, "password_change_required")
    assert_error(post(clean, "/api/members", token, json={"discord_id": SNOWFLAKE, "display_name": "X"}),
                 403, "password_change_required")

    new_token = change_admin_password(clean, token)
    assert clean.sql("auth", "SELECT must_change_password FROM users WHERE username = 'admin'")[0][0] is False
    # The old session is gone; the new one reaches the rest of the API.
    assert_error(get(clean, "/api/auth/me", token), 401, "not_authenticated")
    r = get(clean, "/api/members", new_token)
    assert r.status_code == 200, r.text
    assert json.loads(r.text)["items"] == []


def test_forced_change_set_by_an_operator_applies_to_live_sessions(clean):
    insert_user(clean, "nelly")
    token = login(clean, "nelly")
    assert get(clean, "/api/members", token).status_code == 200
    clean.sql("auth", "UPDATE users SET must_change_password = true WHERE username = 'nelly'")
    assert_error(get(clean, "/api/members", token), 403, "password_change_required")
    assert get(clean, "/api/auth/me", token).json()["must_change_password"] is True
