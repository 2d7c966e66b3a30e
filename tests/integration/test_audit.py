"""The audit log (API.md "Audit log"): table audit_events in farout_auth, one
row per security event, written in the same transaction as the change."""

import json

from helpers import PASSWORD


def audit_rows(stack, event=None):
    """Every audit_events row (or those of one event) as dicts, oldest first."""
    query = ("SELECT id, event, outcome, actor_user_id, target, ip, request_id, detail::text"
             " FROM audit_events")
    params = ()
    if event is not None:
        query += " WHERE event = %s"
        params = (event,)
    rows = stack.sql("auth", query + " ORDER BY id", params)
    keys = ("id", "event", "outcome", "actor_user_id", "target", "ip", "request_id", "detail")
    return [dict(zip(keys, r[:-1] + (json.loads(r[-1]),))) for r in rows]


def user_id(stack, name):
    return stack.sql("auth", "SELECT id FROM users WHERE username = %s", (name,))[0][0]


def test_migration_adds_audit_events_and_session_metadata(clean):
    cols = {r[0] for r in clean.sql(
        "auth", "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
        ("audit_events",))}
    assert cols == {"id", "at", "event", "outcome", "actor_user_id", "target", "ip",
                    "request_id", "detail"}
    cols = {r[0] for r in clean.sql(
        "auth", "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
        ("sessions",))}
    assert {"public_id", "ip", "user_agent", "method"} <= cols


def test_admin_role_change_is_recorded(clean):
    clean.add_user("dora", PASSWORD)
    r = clean.admin("user", "role", "dora", "officer")
    assert r.returncode == 0, r.stderr
    rows = audit_rows(clean, "role_change")
    assert len(rows) == 1, rows
    row = rows[0]
    assert row["outcome"] == "ok"
    assert row["target"] == str(user_id(clean, "dora"))
    assert row["actor_user_id"] is None  # an operator at the console, not a user
    assert row["detail"] == {"from": "member", "to": "officer", "via": "farout-admin"}


def test_admin_role_change_of_unknown_user_records_nothing(clean):
    r = clean.admin("user", "role", "nobody", "officer")
    assert r.returncode != 0
    assert audit_rows(clean, "role_change") == []


def test_role_change_rolled_back_leaves_no_row(clean):
    """The change and its row commit together: when the audit insert fails, the role
    stays as it was (here the insert is made to fail by a CHECK added for the test)."""
    clean.add_user("erin", PASSWORD)
    clean.sql("auth", "ALTER TABLE audit_events ADD CONSTRAINT test_refuse"
                      " CHECK (event <> 'role_change') NOT VALID")
    try:
        r = clean.admin("user", "role", "erin", "admin")
        assert r.returncode != 0, r.stdout
    finally:
        clean.sql("auth", "ALTER TABLE audit_events DROP CONSTRAINT test_refuse")
    assert clean.sql("auth", "SELECT role FROM users WHERE username = 'erin'") == [("member",)]
    assert audit_rows(clean, "role_change") == []


# ---- events through the API ---------------------------------------------------------------

import re
import urllib.parse

import requests

from harness import ADMIN_PASSWORD, ADMIN_USERNAME
from helpers import (NEW_PASSWORD, OTHER_PASSWORD, assert_error, change_admin_password, get,
                     insert_user, login_response, post, request)

NELLY_ID = "80351110224678912"  # the fake Discord's default user
REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


def only(stack, event, **match):
    """The one row of event (matching the given columns); fails when there are more or none."""
    rows = [r for r in audit_rows(stack, event) if all(r[k] == v for k, v in match.items())]
    assert len(rows) == 1, (event, match, audit_rows(stack))
    return rows[0]


def assert_request_id(row, response):
    assert REQUEST_ID.match(row["request_id"] or ""), row
    assert row["request_id"] == response.headers["X-Request-Id"]
    assert row["ip"] == "127.0.0.1"


def test_login_success_and_each_failure_reason(clean):
    uid = insert_user(clean, "mia")
    r = login_response(clean, "mia")
    assert r.status_code == 200
    row = only(clean, "login", outcome="ok")
    assert row["actor_user_id"] == uid and row["target"] == str(uid)
    assert row["detail"] == {"method": "password"}
    assert_request_id(row, r)

    r = login_response(clean, "mia", "wrong-password-1")
    assert r.status_code == 401
    row = only(clean, "login", outcome="invalid_credentials", target=str(uid))
    assert row["actor_user_id"] is None
    assert_request_id(row, r)

    r = login_response(clean, "ghost-name", "wrong-password-1")
    assert r.status_code == 401
    only(clean, "login", outcome="invalid_credentials", target="ghost-name")

    clean.sql("auth", "UPDATE users SET is_active = false WHERE id = %s", (uid,))
    assert login_response(clean, "mia").status_code == 403
    only(clean, "login", outcome="account_disabled", target=str(uid))


def test_login_throttled_is_recorded(clean):
    uid = insert_user(clean, "ned")
    for _ in range(5):
        assert login_response(clean, "ned", "wrong-password-1").status_code == 401
    r = login_response(clean, "ned")
    assert r.status_code == 429
    row = only(clean, "login", outcome="too_many_attempts")
    assert row["target"] == str(uid)
    assert_request_id(row, r)


def test_password_change_required_is_not_a_failure(clean):
    r = login_response(clean, ADMIN_USERNAME, ADMIN_PASSWORD)
    assert r.status_code == 200 and r.json()["must_change_password"] is True
    row = only(clean, "login")
    assert row["outcome"] == "ok"
    assert row["detail"] == {"method": "password", "must_change_password": True}


def test_logout_password_change_and_session_end(clean):
    uid = insert_user(clean, "ola")
    other = login_response(clean, "ola").json()["access_token"]
    token = login_response(clean, "ola").json()["access_token"]

    r = post(clean, "/api/auth/password", token,
             json={"current_password": "wrong-password-1", "new_password": NEW_PASSWORD})
    assert r.status_code == 401
    only(clean, "password_change", outcome="invalid_credentials", target=str(uid))

    r = post(clean, "/api/auth/password", token,
             json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    row = only(clean, "password_change", outcome="ok")
    assert row["actor_user_id"] == uid and row["target"] == str(uid)
    assert row["detail"] == {"sessions_ended": 2}
    assert_request_id(row, r)
    token = r.json()["access_token"]
    assert get(clean, "/api/auth/me", other).status_code == 401

    second = login_response(clean, "ola", NEW_PASSWORD).json()["access_token"]
    r = request(clean, "DELETE", "/api/auth/sessions", token)
    assert r.status_code == 204
    row = only(clean, "session_end", outcome="ok")
    assert row["actor_user_id"] == uid and row["detail"] == {"scope": "others", "sessions_ended": 1}
    assert_request_id(row, r)
    assert get(clean, "/api/auth/me", second).status_code == 401

    sid = get(clean, "/api/auth/sessions", token).json()["items"][0]["id"]
    r = request(clean, "DELETE", f"/api/auth/sessions/{sid}", token)
    assert r.status_code == 204
    row = [x for x in audit_rows(clean, "session_end") if x["detail"].get("scope") == "one"][0]
    assert row["detail"] == {"scope": "one", "session": sid, "current": True}

    token = login_response(clean, "ola", NEW_PASSWORD).json()["access_token"]
    r = post(clean, "/api/auth/logout", token)
    assert r.status_code == 204
    row = only(clean, "logout")
    assert row["actor_user_id"] == uid and row["target"] == str(uid) and row["outcome"] == "ok"
    assert_request_id(row, r)


def test_not_found_session_end_records_nothing(clean):
    insert_user(clean, "pia")
    token = login_response(clean, "pia").json()["access_token"]
    r = request(clean, "DELETE", "/api/auth/sessions/00000000-0000-0000-0000-000000000000", token)
    assert r.status_code == 404
    assert audit_rows(clean, "session_end") == []


def discord_flow(stack, browser, link=None):
    params = {"link": link} if link else {}
    r = browser.get(stack.url("/api/auth/discord/login"), params=params, allow_redirects=False,
                    timeout=15)
    assert r.status_code == 302, r.text
    r = requests.get(r.headers["Location"], allow_redirects=False, timeout=15)
    callback = r.headers["Location"]
    return callback, browser.get(callback, headers={"Accept": "application/json"},
                                 allow_redirects=False, timeout=15)


def admin_browser(stack):
    browser = requests.Session()
    r = browser.post(stack.url("/api/auth/login"),
                     json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}, timeout=15)
    assert r.status_code == 200
    r = browser.post(stack.url("/api/auth/password"),
                     json={"current_password": ADMIN_PASSWORD, "new_password": NEW_PASSWORD},
                     headers={"Origin": stack.public_url}, timeout=15)
    assert r.status_code == 200, r.text
    return browser


def test_discord_login_link_and_failure(clean):
    callback, r = discord_flow(clean, requests.Session())
    assert r.status_code == 200, r.text
    uid = r.json()["user"]["id"]
    row = only(clean, "discord_login", outcome="ok")
    assert row["actor_user_id"] == uid and row["target"] == str(uid)
    assert row["detail"] == {"discord_id": NELLY_ID}
    assert_request_id(row, r)
    assert clean.sql("auth", "SELECT method FROM sessions WHERE user_id = %s", (uid,)) == \
        [("discord",)]

    # The state is used up: replaying the callback fails, and that is recorded too.
    r = requests.get(callback, headers={"Accept": "application/json"}, timeout=15)
    assert r.status_code == 400
    only(clean, "discord_login", outcome="invalid_state")

    clean.sql("auth", "UPDATE users SET discord_id = NULL WHERE id = %s", (uid,))
    admin_id = clean.sql("auth", "SELECT id FROM users WHERE username = 'admin'")[0][0]
    _, r = discord_flow(clean, admin_browser(clean), link="1")
    assert r.status_code == 200, r.text
    row = only(clean, "discord_link", outcome="ok")
    assert row["actor_user_id"] == admin_id and row["target"] == str(admin_id)
    assert row["detail"] == {"discord_id": NELLY_ID}


def test_discord_link_conflict_is_recorded(clean):
    _, r = discord_flow(clean, requests.Session())
    assert r.status_code == 200
    admin_id = clean.sql("auth", "SELECT id FROM users WHERE username = 'admin'")[0][0]
    _, r = discord_flow(clean, admin_browser(clean), link="1")
    assert_error(r, 409, "discord_already_linked")
    row = only(clean, "discord_link")
    assert row["outcome"] == "discord_already_linked"
    assert row["actor_user_id"] == admin_id and row["target"] == NELLY_ID
    assert clean.sql("auth", "SELECT discord_id FROM users WHERE id = %s", (admin_id,)) == [(None,)]


def test_cli_user_events(clean):
    r = clean.admin("user", "add", "quin", "--role", "officer", input=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    uid = user_id(clean, "quin")
    row = only(clean, "user_add")
    assert row["target"] == str(uid) and row["actor_user_id"] is None
    assert row["detail"] == {"username": "quin", "role": "officer", "via": "farout-admin"}
    assert clean.admin("user", "disable", "quin").returncode == 0
    assert only(clean, "user_disable")["target"] == str(uid)
    assert clean.admin("user", "enable", "quin").returncode == 0
    assert only(clean, "user_enable")["target"] == str(uid)
    assert clean.admin("user", "passwd", "quin", input=OTHER_PASSWORD + "\n").returncode == 0
    row = only(clean, "password_change")
    assert row["target"] == str(uid) and row["detail"]["via"] == "farout-admin"
    assert clean.admin("user", "logout", "quin").returncode == 0
    row = only(clean, "session_end")
    assert row["target"] == str(uid) and row["detail"]["scope"] == "all"


# ---- members: the other database ----------------------------------------------------------

def admin_token(stack):
    token = login_response(stack, ADMIN_USERNAME, ADMIN_PASSWORD).json()["access_token"]
    return change_admin_password(stack, token)


def test_member_create_update_delete(clean):
    token = admin_token(clean)
    admin_id = user_id(clean, ADMIN_USERNAME)
    r = post(clean, "/api/members", token,
             json={"discord_id": "123456789012345678", "display_name": "Secret Name Value"})
    assert r.status_code == 201, r.text
    row = only(clean, "member_create")
    assert row["actor_user_id"] == admin_id and row["target"] == "123456789012345678"
    assert row["detail"] == {"fields": ["display_name"]}
    assert_request_id(row, r)

    r = request(clean, "PATCH", "/api/members/123456789012345678", token,
                json={"bio": "my private bio text", "rank": "veteran",
                      "stats": {"kills": 9876543}})
    assert r.status_code == 200, r.text
    row = only(clean, "member_update")
    assert sorted(row["detail"]["fields"]) == ["bio", "rank", "stats"]
    text = json.dumps(row)
    for value in ("my private bio text", "veteran", "9876543", "kills"):
        assert value not in text, text
    assert_request_id(row, r)

    r = request(clean, "DELETE", "/api/members/123456789012345678", token)
    assert r.status_code == 204
    row = only(clean, "member_delete")
    assert row["actor_user_id"] == admin_id and row["target"] == "123456789012345678"


def test_member_change_rolled_back_when_its_row_cannot_be_written(clean):
    """No change without its row, across the two databases: the member stays as it was."""
    token = admin_token(clean)
    r = post(clean, "/api/members", token, json={"discord_id": "42", "display_name": "Before"})
    assert r.status_code == 201
    clean.sql("auth", "ALTER TABLE audit_events ADD CONSTRAINT test_refuse"
                      " CHECK (event NOT IN ('member_update', 'member_delete')) NOT VALID")
    try:
        r = request(clean, "PATCH", "/api/members/42", token, json={"display_name": "After"})
        assert r.status_code >= 500, r.text
        r = request(clean, "DELETE", "/api/members/42", token)
        assert r.status_code >= 500, r.text
    finally:
        clean.sql("auth", "ALTER TABLE audit_events DROP CONSTRAINT test_refuse")
    assert clean.sql("app", "SELECT display_name FROM members WHERE discord_id = '42'") == \
        [("Before",)]
    assert audit_rows(clean, "member_update") == [] and audit_rows(clean, "member_delete") == []


def test_failed_member_change_records_nothing(clean):
    token = admin_token(clean)
    assert request(clean, "PATCH", "/api/members/999", token,
                   json={"display_name": "X"}).status_code == 404
    assert request(clean, "DELETE", "/api/members/999", token).status_code == 404
    assert post(clean, "/api/members", token, json={"discord_id": "7", "display_name": "A"}
                ).status_code == 201
    assert post(clean, "/api/members", token, json={"discord_id": "7", "display_name": "A"}
                ).status_code == 409
    assert [r["event"] for r in audit_rows(clean) if r["event"].startswith("member_")] == \
        ["member_create"]


# ---- nothing secret in the log ----------------------------------------------------------

def test_no_secret_hash_or_token_in_any_row(clean):
    """Every kind of event once, then every row scanned for what must never be there."""
    secrets_seen = {PASSWORD, NEW_PASSWORD, OTHER_PASSWORD, ADMIN_PASSWORD, "wrong-password-1",
                    clean.env["JWT_SECRET"]}
    uid = insert_user(clean, "rex")
    r = login_response(clean, "rex")
    tokens = [r.json()["access_token"]]
    login_response(clean, "rex", "wrong-password-1")
    login_response(clean, "nobody-here", "wrong-password-1")
    tokens.append(login_response(clean, "rex").json()["access_token"])
    r = post(clean, "/api/auth/password", tokens[-1],
             json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    tokens.append(r.json()["access_token"])
    request(clean, "DELETE", "/api/auth/sessions", tokens[-1])
    post(clean, "/api/auth/logout", tokens[-1])
    callback, r = discord_flow(clean, requests.Session())
    tokens.append(r.json()["access_token"])
    secrets_seen.add(urllib.parse.parse_qs(urllib.parse.urlparse(callback).query)["code"][0])
    secrets_seen.update(clean.fake._access.keys())
    clean.admin("user", "passwd", "rex", input=OTHER_PASSWORD + "\n")
    clean.admin("user", "role", "rex", "officer")
    clean.admin("user", "logout", "rex")
    admin = admin_token(clean)
    tokens.append(admin)
    post(clean, "/api/members", admin, json={"discord_id": "77", "display_name": "Z"})
    request(clean, "PATCH", "/api/members/77", admin, json={"bio": "b"})
    request(clean, "DELETE", "/api/members/77", admin)
    secrets_seen.update(tokens)
    secrets_seen.update(r[0] for r in clean.sql("auth", "SELECT jti FROM sessions"))
    secrets_seen.update(r[0] for r in clean.sql(
        "auth", "SELECT hashed_password FROM users WHERE hashed_password IS NOT NULL"))

    rows = clean.sql("auth", "SELECT row_to_json(a)::text FROM audit_events a")
    events = {json.loads(r[0])["event"] for r in rows}
    assert {"login", "logout", "password_change", "session_end", "discord_login", "role_change",
            "member_create", "member_update", "member_delete"} <= events, events
    for (text,) in rows:
        for s in secrets_seen:
            assert s not in text, f"a secret in {text}"
        assert not re.search(r"\$2[aby]\$", text), text             # bcrypt hashes
        assert not re.search(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", text), text  # JWTs
        assert "password" not in json.loads(text)["detail"] or \
            json.loads(text)["detail"] == {"method": "password"}, text
    assert uid


# ---- GET /api/admin/audit -----------------------------------------------------------------

def test_admin_only(clean):
    insert_user(clean, "sam")
    member = login_response(clean, "sam").json()["access_token"]
    assert_error(get(clean, "/api/admin/audit"), 401, "not_authenticated")
    assert_error(get(clean, "/api/admin/audit", member), 403, "forbidden")
    pending = login_response(clean, ADMIN_USERNAME, ADMIN_PASSWORD).json()["access_token"]
    assert_error(get(clean, "/api/admin/audit", pending), 403, "password_change_required")
    r = get(clean, "/api/admin/audit", change_admin_password(clean, pending))
    assert r.status_code == 200
    assert r.headers.get("Cache-Control") == "no-store"


def test_paging_filters_and_limits(clean):
    token = admin_token(clean)
    uid = insert_user(clean, "tia")
    for _ in range(4):
        assert login_response(clean, "tia", "wrong-password-1").status_code == 401
    for i in range(3):
        assert login_response(clean, f"stranger{i}", "wrong-password-1").status_code == 401
    everything = get(clean, "/api/admin/audit", token).json()
    assert everything["next_before_id"] is None
    ids = [i["id"] for i in everything["items"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == len(audit_rows(clean))
    item = everything["items"][0]
    assert set(item) == {"id", "at", "event", "outcome", "actor_user_id", "target", "ip",
                         "request_id", "detail"}

    pages, before = [], None
    while True:
        params = {"limit": 3, **({"before_id": before} if before else {})}
        page = get(clean, "/api/admin/audit", token, params=params).json()
        assert len(page["items"]) <= 3
        pages += [i["id"] for i in page["items"]]
        before = page["next_before_id"]
        if before is None:
            break
        assert before == page["items"][-1]["id"]
    assert pages == ids

    tia = get(clean, "/api/admin/audit", token, params={"user_id": uid}).json()["items"]
    assert len(tia) == 4 and all(i["target"] == str(uid) for i in tia)
    logins = get(clean, "/api/admin/audit", token,
                 params={"event": "login", "limit": 200}).json()["items"]
    assert {i["event"] for i in logins} == {"login"}
    assert get(clean, "/api/admin/audit", token, params={"event": "nothing"}).json() == \
        {"items": [], "next_before_id": None}

    for bad in ({"limit": 0}, {"limit": 201}, {"limit": "x"}, {"before_id": "-1"},
                {"user_id": "abc"}, {"before_id": "1e3"}, {"colour": "red"},
                {"user_id": "2147483648"}, {"user_id": "9007199254740991"},
                {"event": b"\xff"}, {"event": "Login"}, {"event": "login%"}):
        assert_error(get(clean, "/api/admin/audit", token, params=bad), 400, "invalid_request")
    assert len(get(clean, "/api/admin/audit", token,
                   params={"limit": 200}).json()["items"]) == len(ids)


# ---- farout-admin audit and prune ------------------------------------------------------------

def test_cli_audit_and_prune(clean):
    uid = insert_user(clean, "uma")
    for _ in range(3):
        login_response(clean, "uma", "wrong-password-1")
    login_response(clean, "uma")
    r = clean.admin("audit")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 4 and all(" login " in line for line in lines)
    assert "invalid_credentials" in lines[-1] and " ok " in lines[0]
    assert f"target={uid}" in lines[0]

    r = clean.admin("audit", "--user", "uma", "--event", "login", "--limit", "2")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 2
    assert clean.admin("audit", "--since", "2999-01-01").stdout == ""
    assert len(clean.admin("audit", "--since", "2000-01-01").stdout.splitlines()) == 4
    assert clean.admin("audit", "--user", "nobody").stdout == ""
    # --since is UTC midnight even when the session's time zone is another (PGTZ, a server setting).
    clean.sql("auth", "UPDATE audit_events SET at = '2026-06-01T23:30:00Z'"
                      " WHERE id = (SELECT max(id) FROM audit_events)")
    for tz in ("UTC", "Etc/GMT-3", "Etc/GMT+3"):
        since = clean.admin("audit", "--since", "2026-06-02", extra_env={"PGTZ": tz}).stdout
        assert "2026-06-01T23:30:00Z" not in since, tz
        since = clean.admin("audit", "--since", "2026-06-01", extra_env={"PGTZ": tz}).stdout
        assert "2026-06-01T23:30:00Z" in since, tz
    clean.sql("auth", "UPDATE audit_events SET at = now() WHERE id = (SELECT max(id) FROM audit_events)")
    assert clean.admin("audit", "--since", "2024-02-29").returncode == 0
    for bad in (["--limit", "0"], ["--since", "yesterday"], ["--event"], ["--colour", "red"],
                ["--since", "2026-02-30"], ["--since", "2025-02-29"], ["--since", "0000-01-01"]):
        assert clean.admin("audit", *bad).returncode == 2, bad

    clean.sql("auth", "UPDATE audit_events SET at = now() - interval '400 days'"
                      " WHERE id = (SELECT min(id) FROM audit_events)")
    r = clean.admin("prune")
    assert r.returncode == 0, r.stderr
    assert "audit_events: 1 event(s) older than 365 day(s) deleted" in r.stdout
    r = clean.admin("prune", extra_env={"AUDIT_RETENTION_DAYS": "1"})
    assert "audit_events: 0" in r.stdout
    clean.sql("auth", "UPDATE audit_events SET at = now() - interval '2 days'")
    r = clean.admin("prune", extra_env={"AUDIT_RETENTION_DAYS": "1"})
    assert "audit_events: 3 event(s)" in r.stdout
    for bad in ("0", "abc", "99999999"):
        r = clean.admin("prune", extra_env={"AUDIT_RETENTION_DAYS": bad})
        assert r.returncode != 0 and "AUDIT_RETENTION_DAYS" in r.stderr
