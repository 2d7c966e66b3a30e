"""Sessions the user can see and end (API.md last section): GET /api/auth/sessions,
DELETE /api/auth/sessions/{id}, DELETE /api/auth/sessions, farout-admin user
sessions | logout."""

import re
import uuid

from helpers import (PASSWORD, assert_error, get, insert_user, login, login_response,
                     request)

UA = "Mozilla/5.0 (X11; Linux x86_64) FaroutTest/1.0"
ITEM_KEYS = {"id", "method", "created_at", "expires_at", "ip", "user_agent", "current"}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def sign_in(stack, name, ua=UA):
    r = login_response(stack, name, headers={"User-Agent": ua})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def sessions(stack, token, **kw):
    r = get(stack, "/api/auth/sessions", token, **kw)
    assert r.status_code == 200, r.text
    assert r.headers.get("Cache-Control") == "no-store"
    return r.json()["items"]


def delete(stack, path, token=None, **kw):
    return request(stack, "DELETE", path, token, **kw)


def me_status(stack, token):
    return get(stack, "/api/auth/me", token).status_code


def test_list_shows_metadata_newest_first_and_marks_current(clean):
    insert_user(clean, "ann")
    first = sign_in(clean, "ann", "Agent-One")
    second = sign_in(clean, "ann", "Agent-Two")
    items = sessions(clean, second)
    assert len(items) == 2
    for item in items:
        assert set(item) == ITEM_KEYS, item
        assert item["method"] == "password"
        assert item["ip"] == "127.0.0.1"
        assert RFC3339.match(item["created_at"]) and RFC3339.match(item["expires_at"])
        uuid.UUID(item["id"])
    assert [i["user_agent"] for i in items] == ["Agent-Two", "Agent-One"]
    assert [i["current"] for i in items] == [True, False]
    # The first session sees the same list with the other one current.
    assert [i["current"] for i in sessions(clean, first)] == [False, True]


def test_public_id_is_not_the_jti(clean):
    uid = insert_user(clean, "ben")
    token = sign_in(clean, "ben")
    item = sessions(clean, token)[0]
    jtis = [r[0] for r in clean.sql("auth", "SELECT jti FROM sessions WHERE user_id = %s", (uid,))]
    assert item["id"] not in jtis and item["id"] not in token
    assert all(j not in item["id"] for j in jtis)


def test_user_agent_is_cut_to_256_bytes(clean):
    insert_user(clean, "cat")
    token = sign_in(clean, "cat", ("é" * 200).encode())  # 400 bytes of UTF-8
    ua = sessions(clean, token)[0]["user_agent"]
    assert ua == "é" * 128  # 256 bytes, no character cut in half
    # Bytes that are not UTF-8 (Latin-1 here) are kept as '?', never refused.
    token = sign_in(clean, "cat", "caf\xe9".encode("latin-1"))
    assert sessions(clean, token)[0]["user_agent"] == "caf?"


def test_ended_and_expired_sessions_are_not_listed(clean):
    uid = insert_user(clean, "dan")
    token = sign_in(clean, "dan")
    clean.sql("auth", "INSERT INTO sessions (jti, user_id, expires_at) VALUES "
                      "('old', %s, now() - interval '1 hour')", (uid,))
    clean.sql("auth", "INSERT INTO sessions (jti, user_id, expires_at, revoked_at) VALUES "
                      "('gone', %s, now() + interval '1 hour', now())", (uid,))
    assert len(sessions(clean, token)) == 1


def test_ending_one_refuses_its_token_at_once_on_every_worker(clean):
    insert_user(clean, "eve")
    laptop = sign_in(clean, "eve", "Laptop")
    phone = sign_in(clean, "eve", "Phone")
    for _ in range(6):  # both workers have served this token
        assert me_status(clean, phone) == 200
    target = next(i for i in sessions(clean, laptop) if i["user_agent"] == "Phone")
    r = delete(clean, f"/api/auth/sessions/{target['id']}", laptop)
    assert r.status_code == 204, r.text
    # The very next request, and every one after it whichever worker answers.
    for _ in range(12):
        assert_error(get(clean, "/api/auth/me", phone), 401, "not_authenticated")
    assert me_status(clean, laptop) == 200
    assert [i["user_agent"] for i in sessions(clean, laptop)] == ["Laptop"]


def test_ending_the_current_session_clears_the_cookie(clean):
    insert_user(clean, "fay")
    token = sign_in(clean, "fay")
    sid = sessions(clean, token)[0]["id"]
    r = delete(clean, f"/api/auth/sessions/{sid}", token)
    assert r.status_code == 204
    assert "Max-Age=0" in r.headers.get("Set-Cookie", "")
    assert me_status(clean, token) == 401


def test_ending_all_others_keeps_the_current(clean):
    insert_user(clean, "gus")
    others = [sign_in(clean, "gus", f"Device-{i}") for i in range(3)]
    current = sign_in(clean, "gus", "Current")
    r = delete(clean, "/api/auth/sessions", current)
    assert r.status_code == 204, r.text
    for t in others:
        assert me_status(clean, t) == 401
    assert me_status(clean, current) == 200
    assert [i["user_agent"] for i in sessions(clean, current)] == ["Current"]


def test_another_users_session_id_is_not_found(clean):
    insert_user(clean, "hal")
    insert_user(clean, "ida")
    hal = sign_in(clean, "hal")
    ida = sign_in(clean, "ida")
    ida_sid = sessions(clean, ida)[0]["id"]
    assert_error(delete(clean, f"/api/auth/sessions/{ida_sid}", hal), 404, "not_found")
    assert me_status(clean, ida) == 200
    for junk in (str(uuid.uuid4()), "not-a-uuid", "1", "%27%20OR%201=1"):
        assert_error(delete(clean, f"/api/auth/sessions/{junk}", hal), 404, "not_found")


def test_csrf_cookie_delete_without_origin_is_refused(clean):
    insert_user(clean, "jon")
    victim = sign_in(clean, "jon", "Victim")
    cookie = sign_in(clean, "jon", "Browser")
    sid = next(i for i in sessions(clean, cookie) if i["user_agent"] == "Victim")["id"]
    for headers in ({}, {"Origin": "http://evil.example"}):
        assert_error(delete(clean, f"/api/auth/sessions/{sid}", cookie=cookie, headers=headers),
                     403, "csrf_failed")
        assert_error(delete(clean, "/api/auth/sessions", cookie=cookie, headers=headers),
                     403, "csrf_failed")
    assert me_status(clean, victim) == 200
    r = delete(clean, f"/api/auth/sessions/{sid}", cookie=cookie,
               headers={"Origin": clean.public_url})
    assert r.status_code == 204, r.text
    assert me_status(clean, victim) == 401


def test_sessions_need_authentication(clean):
    assert_error(get(clean, "/api/auth/sessions"), 401, "not_authenticated")
    assert_error(delete(clean, "/api/auth/sessions"), 401, "not_authenticated")
    assert_error(delete(clean, f"/api/auth/sessions/{uuid.uuid4()}"), 401, "not_authenticated")


def test_discord_sign_in_records_method(clean):
    # A session as the callback writes it is covered in test_discord; here the column's rule.
    uid = insert_user(clean, "kim")
    token = login(clean, "kim", PASSWORD)
    clean.sql("auth", "UPDATE sessions SET method = 'discord' WHERE user_id = %s", (uid,))
    assert sessions(clean, token)[0]["method"] == "discord"


def test_admin_lists_and_logs_out_a_user(clean):
    insert_user(clean, "lea")
    tokens = [sign_in(clean, "lea", f"Dev-{i}") for i in range(2)]
    r = clean.admin("user", "sessions", "lea")
    assert r.returncode == 0, r.stderr
    assert "Dev-0" in r.stdout and "Dev-1" in r.stdout and "127.0.0.1" in r.stdout
    r = clean.admin("user", "logout", "lea")
    assert r.returncode == 0, r.stderr
    assert "2" in r.stdout
    for t in tokens:
        assert me_status(clean, t) == 401
    r = clean.admin("user", "sessions", "lea")
    assert r.returncode == 0 and "Dev-0" not in r.stdout
    assert clean.admin("user", "sessions", "nobody").returncode != 0
    assert clean.admin("user", "logout", "nobody").returncode != 0
