"""The foundation: health, process model and run modes, configuration,
nginx's part of the contract, the schema, and farout-admin.

Requests go through nginx wherever the contract is about HTTP; the process
model (workers, SIGTERM, CGI, inherited socket) is driven directly.
"""

import json
import os
import re
import signal
import socket
import subprocess
import time

import bcrypt
import pytest
import requests

import fcgi_client
from harness import ADMIN_PASSWORD, ADMIN_USERNAME, PROGRAMS, REPO, group_members, pid_alive, wait_until
from helpers import OTHER_PASSWORD, PASSWORD, assert_error, change_admin_password

HEALTH_OK = {"status": "ok", "auth_db": "ok", "app_db": "ok"}
PLACEHOLDER_SECRET = "change-me-to-a-random-string-of-at-least-32-bytes"


def assert_security_headers(r):
    h = r.headers
    where = f"{r.request.method} {r.url} -> {r.status_code}"
    assert h.get("X-Content-Type-Options") == "nosniff", where
    assert h.get("X-Frame-Options") == "DENY", where
    assert h.get("Referrer-Policy") in ("no-referrer", "strict-origin-when-cross-origin"), where
    csp = h.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, where
    assert "unsafe-inline" not in csp, where
    assert re.fullmatch(r"[0-9a-f]{32}", h.get("X-Request-Id", "")), where


def fcgi_params(method, path, **extra):
    params = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REQUEST_METHOD": method,
        "DOCUMENT_URI": path,
        "SCRIPT_NAME": path,
        "REQUEST_URI": path,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "40000",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "REQUEST_ID": "0123456789abcdef0123456789abcdef",
    }
    params.update(extra)
    return params


def health_via(sock):
    headers, body = fcgi_client.request(sock, fcgi_params("GET", "/api/health"))
    return headers, body


def healthy_in_a_row(stack, n=4):
    return all(requests.get(stack.url("/api/health"), timeout=10).status_code == 200
               for _ in range(n))


def table_exists(stack, db, name):
    return stack.sql(db, "SELECT to_regclass(%s) IS NOT NULL", (f"public.{name}",))[0][0]


def user_row(stack, username):
    rows = stack.sql("auth", """
        SELECT hashed_password, role, must_change_password, is_active, email
          FROM users WHERE username = %s""", (username,))
    if not rows:
        return None
    return dict(zip(("hash", "role", "must_change", "active", "email"), rows[0]))


def output(result):
    return result.stdout + result.stderr


# --- health ------------------------------------------------------------------

def test_health_ok(stack):
    r = requests.get(stack.url("/api/health"), timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == HEALTH_OK


@pytest.mark.parametrize("name", PROGRAMS)
def test_every_program_answers_health(stack, name):
    headers, body = health_via(stack.socket_path(name))
    assert headers.status == 200, body
    assert json.loads(body) == HEALTH_OK


def test_health_503_while_postgres_is_down_then_recovers(stack):
    before = {name: stack.program_pids(name) for name in PROGRAMS}
    stack.stop_postgres()
    try:
        r = requests.get(stack.url("/api/health"), timeout=10)
        body = assert_error(r, 503, "unavailable")
        assert body["status"] == "down"
        assert body["auth_db"] == "down" and body["app_db"] == "down", body
        for name in PROGRAMS:
            headers, raw = health_via(stack.socket_path(name))
            assert headers.status == 503, (name, raw)
            assert json.loads(raw)["status"] == "down", (name, raw)
    finally:
        stack.start_postgres()

    assert wait_until(lambda: healthy_in_a_row(stack), 10), \
        "health did not come back within 10 s of PostgreSQL's restart"
    assert requests.get(stack.url("/api/health"), timeout=10).json() == HEALTH_OK
    # Recovered by reconnecting, not by restarting: the same processes serve.
    after = {name: stack.program_pids(name) for name in PROGRAMS}
    assert after == before


def test_requests_after_a_postgres_restart_succeed(clean):
    # Every worker holds connections from before the restart. Once PostgreSQL
    # is up again, no request should see a 503: a connection found dead is
    # re-opened before the request's query, not after answering it.
    clean.stop_postgres()
    clean.start_postgres()
    # All programs first, so that a failure here leaves no stale connection
    # behind for the tests that follow.
    statuses = {name: [health_via(clean.socket_path(name))[0].status for _ in range(6)]
                for name in PROGRAMS}
    assert statuses == {name: [200] * 6 for name in PROGRAMS}
    r = requests.post(clean.url("/api/auth/login"),
                      json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}, timeout=10)
    assert r.status_code == 200, r.text


def test_health_names_the_database_that_is_down(stack):
    assert wait_until(lambda: healthy_in_a_row(stack), 10)
    # The app database alone refuses connections: auth stays ok.
    stack.sql("auth", "ALTER DATABASE farout ALLOW_CONNECTIONS false")
    try:
        stack.sql("auth", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = 'farout' AND pid <> pg_backend_pid()")
        r = requests.get(stack.url("/api/health"), timeout=10)
        body = assert_error(r, 503, "unavailable")
        assert (body["status"], body["auth_db"], body["app_db"]) == ("down", "ok", "down"), body
    finally:
        stack.sql("auth", "ALTER DATABASE farout ALLOW_CONNECTIONS true")
    assert wait_until(lambda: requests.get(stack.url("/api/health"), timeout=10).status_code == 200, 10)


# --- process model -----------------------------------------------------------------

def test_killed_worker_is_replaced(stack):
    parent, workers = stack.program_pids("me")
    assert len(workers) == 2, workers
    os.kill(workers[0], signal.SIGKILL)

    def replaced():
        p, w = stack.program_pids("me")
        return len(w) == 2 and workers[0] not in w and p == parent

    assert wait_until(replaced, 10), f"no replacement worker: {stack.program_pids('me')}"
    for _ in range(4):
        r = requests.get(stack.url("/api/health"), timeout=10)
        assert r.status_code == 200 and r.json() == HEALTH_OK


def test_sigterm_lets_the_request_in_flight_finish(clean):
    stack = clean
    parent, workers = stack.program_pids("login")
    proc = stack.procs["login"]
    body = json.dumps({"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}).encode()
    body += b" " * (400 - len(body))  # JSON allows trailing whitespace; 400 bytes trickle well
    params = fcgi_params("POST", "/api/auth/login", CONTENT_TYPE="application/json",
                         CONTENT_LENGTH=str(len(body)))
    signalled = []

    def after_chunk(i):
        if i == 0:
            os.kill(parent, signal.SIGTERM)
            signalled.append(time.monotonic())

    try:
        # 10 chunks 0.22 s apart: the body takes ~2 s, SIGTERM arrives after the first.
        headers, resp = fcgi_client.request(stack.socket_path("login"), params, body,
                                            chunk_size=40, chunk_delay=0.22,
                                            on_chunk=after_chunk, timeout=20)
        assert signalled
        assert headers.status == 200, resp
        answer = json.loads(resp)
        assert answer["token_type"] == "bearer" and answer["access_token"]
        status = proc.wait(20)
        assert status == 0, f"login exited {status} after SIGTERM"
        assert not any(pid_alive(w) for w in workers), "a worker outlived its parent"
        assert group_members(parent) == []
    finally:
        stack.procs.pop("login", None)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stack.start_program("login")
    assert requests.get(stack.url("/api/health"), timeout=10).status_code == 200


# --- run modes ---------------------------------------------------------------------

def test_cgi_mode(stack):
    result = stack.run_program("me", extra_env={
        "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET", "DOCUMENT_URI": "/api/health",
        "SCRIPT_NAME": "/api/health", "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"Status: 200"), result.stdout[:200]
    headers, body = fcgi_client.parse_cgi_response(result.stdout)
    assert headers.status == 200
    assert headers.get("Content-Type", "").startswith("application/json")
    assert json.loads(body) == HEALTH_OK


def test_cgi_mode_reads_the_body(clean):
    stack = clean
    body = json.dumps({"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}).encode()
    result = stack.run_program("login", input=body, extra_env={
        "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "POST", "DOCUMENT_URI": "/api/auth/login",
        "SCRIPT_NAME": "/api/auth/login", "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body))})
    assert result.returncode == 0, result.stderr
    headers, resp = fcgi_client.parse_cgi_response(result.stdout)
    assert headers.status == 200, resp
    assert json.loads(resp)["access_token"]


def test_inherited_socket_on_fd0(stack):
    path = stack.dir / "run" / "inherited.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(16)
    with open(stack.log_path("inherited"), "ab") as log:
        proc = subprocess.Popen([str(stack.program_path("me"))], stdin=listener.fileno(),
                                stdout=log, stderr=log, env=stack.program_env(),
                                start_new_session=True)
    listener.close()
    try:
        for _ in range(3):
            headers, body = health_via(path)
            assert headers.status == 200, body
            assert json.loads(body) == HEALTH_OK
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --- configuration -----------------------------------------------------------------

CONFIG_ERRORS = [
    ("JWT_SECRET", {"JWT_SECRET": "only-thirty-one-bytes-long-here"}, "only-thirty-one-bytes-long-here"),
    ("JWT_SECRET", {"JWT_SECRET": PLACEHOLDER_SECRET}, PLACEHOLDER_SECRET),
    ("BCRYPT_COST", {"BCRYPT_COST": "abc"}, None),
    ("JWT_ALGORITHM", {"JWT_ALGORITHM": "RS256"}, None),
    ("DATABASE_URL", {"DATABASE_URL": "mysql://x"}, None),
    ("DATABASE_URL", {"DATABASE_URL": "mysql://farout:s3cr3t-db-pw@x/farout"}, "s3cr3t-db-pw"),
]


@pytest.mark.parametrize("name", PROGRAMS)
@pytest.mark.parametrize("variable,env,secret", CONFIG_ERRORS,
                         ids=[f"{v}-{i}" for i, (v, _, _) in enumerate(CONFIG_ERRORS)])
def test_config_error_names_the_variable(stack, name, variable, env, secret):
    sock = stack.dir / "run" / f"cfg-{name}.sock"
    proc = subprocess.Popen([str(stack.program_path(name)), "--listen", f"unix:{sock}",
                             "--workers", "1"], env=stack.program_env(env),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"{name} started with a bad {variable}")
    err = err.decode(errors="replace")
    stack._note_sanitizer(f"{name} with bad {variable}", err)
    assert proc.returncode != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got: {err!r}"
    assert variable in lines[0], lines[0]
    for value in (secret, stack.env["JWT_SECRET"], stack.env["DISCORD_CLIENT_SECRET"]):
        if value:
            assert value not in err + out.decode(errors="replace")


def test_asyncpg_url_prefix_is_accepted(stack):
    urls = {k: stack.env[k].replace("postgresql://", "postgresql+asyncpg://", 1)
            for k in ("DATABASE_URL", "AUTH_DATABASE_URL")}
    assert all(u.startswith("postgresql+asyncpg://") for u in urls.values())
    try:
        stack.restart_program("me", extra_env=urls)
        r = requests.get(stack.url("/api/health"), timeout=10)
        assert r.status_code == 200 and r.json() == HEALTH_OK
    finally:
        stack.restart_program("me")
    status = stack.admin("migrate", "status", extra_env=urls)
    assert status.returncode == 0, output(status)


# --- what nginx adds ---------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/nope", "/api/auth/nope", "/api/auth/me/extra", "/api",
                                  "/api/auth/discord/nope", "/api/members/me/extra"])
def test_unknown_api_path_is_404_json(stack, path):
    r = requests.get(stack.url(path), timeout=10)
    assert_error(r, 404, "not_found")
    assert "no-store" in r.headers.get("Cache-Control", "")
    assert_security_headers(r)


@pytest.mark.parametrize("method,path,allowed", [
    ("GET", "/api/auth/login", "POST"),
    ("PUT", "/api/auth/logout", "POST"),
    ("GET", "/api/auth/password", "POST"),
    ("POST", "/api/auth/me", "GET"),
    ("DELETE", "/api/health", "GET"),
    ("POST", "/api/auth/discord/login", "GET"),
])
def test_wrong_method_is_405_with_allow(stack, method, path, allowed):
    r = requests.request(method, stack.url(path), timeout=10)
    assert_error(r, 405, "method_not_allowed")
    allow = [m.strip() for m in r.headers.get("Allow", "").split(",")]
    assert allowed in allow, r.headers.get("Allow")
    assert method not in allow


def login_body(size):
    """A well-formed login body padded with JSON whitespace to exactly size bytes."""
    body = json.dumps({"username": "nobody-here", "password": "wrong-password"}).encode()
    return body + b" " * (size - len(body))


def test_login_body_limit_is_16_kib(clean):
    headers = {"Content-Type": "application/json"}
    r = requests.post(clean.url("/api/auth/login"), data=login_body(16 * 1024), headers=headers,
                      timeout=10)
    assert_error(r, 401, "invalid_credentials")
    r = requests.post(clean.url("/api/auth/login"), data=login_body(16 * 1024 + 1),
                      headers=headers, timeout=10)
    assert_error(r, 413, "payload_too_large")
    assert_security_headers(r)


def test_members_body_limit_is_64_kib(clean):
    clean.add_user("boss", PASSWORD, role="admin")
    token = clean.login("boss", PASSWORD)
    body = json.dumps({"discord_id": "123", "display_name": "x", "bio": "b" * (64 * 1024)}).encode()
    r = requests.post(clean.url("/api/members"), data=body, timeout=10,
                      headers={"Content-Type": "application/json",
                               "Authorization": f"Bearer {token}"})
    assert_error(r, 413, "payload_too_large")


def test_nginx_own_413_is_json(stack):
    r = requests.post(stack.url("/api/auth/login"), data=b"x" * (200 * 1024), timeout=10,
                      headers={"Content-Type": "application/json"})
    assert_error(r, 413, "payload_too_large")
    assert "no-store" in r.headers.get("Cache-Control", "")
    assert_security_headers(r)


def test_program_down_is_503_json(stack):
    stack.stop_program("members")
    try:
        r = requests.get(stack.url("/api/members"), timeout=10)
        assert_error(r, 503, "unavailable")
        assert "no-store" in r.headers.get("Cache-Control", "")
        assert_security_headers(r)
    finally:
        stack.start_program("members")
    assert requests.get(stack.url("/api/members"), timeout=10).status_code != 503


def test_login_burst_is_not_cut_off_by_nginx(clean):
    clean.add_user("burst", PASSWORD)
    started = time.monotonic()
    for i in range(40):
        r = requests.post(clean.url("/api/auth/login"),
                          json={"username": "burst", "password": PASSWORD}, timeout=10)
        assert r.status_code == 200, f"login {i + 1} of 40: {r.status_code} {r.text}"
    assert time.monotonic() - started < 30


def test_cache_control_no_store_on_api_responses(clean):
    token = clean.login(ADMIN_USERNAME, ADMIN_PASSWORD)
    responses = [
        requests.get(clean.url("/api/health"), timeout=10),
        requests.post(clean.url("/api/auth/login"), json={"username": "x", "password": "y"}, timeout=10),
        requests.post(clean.url("/api/auth/login"),
                      json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}, timeout=10),
        requests.get(clean.url("/api/auth/me"), timeout=10),
        requests.get(clean.url("/api/auth/me"), headers={"Authorization": f"Bearer {token}"}, timeout=10),
        requests.get(clean.url("/api/auth/verify"), timeout=10),
        requests.get(clean.url("/api/members"), timeout=10),
        requests.get(clean.url("/api/nope"), timeout=10),
        requests.post(clean.url("/api/auth/logout"), headers={"Authorization": f"Bearer {token}"},
                      timeout=10),
    ]
    for r in responses:
        assert "no-store" in r.headers.get("Cache-Control", ""), \
            f"{r.request.method} {r.url} -> {r.status_code} without Cache-Control: no-store"


def test_security_headers_on_every_response(clean):
    responses = [
        requests.get(clean.url("/"), timeout=10),
        requests.get(clean.url("/no-such-page"), timeout=10),
        requests.get(clean.url("/api/health"), timeout=10),
        requests.post(clean.url("/api/auth/login"), json={"username": "x", "password": "y"}, timeout=10),
        requests.get(clean.url("/api/auth/me"), timeout=10),
        requests.get(clean.url("/api/auth/discord/login"), allow_redirects=False, timeout=10),
        requests.get(clean.url("/api/nope"), timeout=10),
        requests.get(clean.url("/officers/"), timeout=10),
    ]
    for r in responses:
        assert_security_headers(r)
    ids = {r.headers["X-Request-Id"] for r in responses}
    assert len(ids) == len(responses), "request ids repeat"


def test_request_id_reaches_the_program(stack):
    # Requests are not logged one by one (nginx's access log has them), but
    # every event line carries the request id: a refused token is one.
    r = requests.get(stack.url("/api/auth/verify"), headers={"Authorization": "Bearer not.a.token"},
                     timeout=10)
    assert r.status_code == 401
    rid = r.headers["X-Request-Id"]
    assert wait_until(lambda: rid in stack.log_text("me"), 5), "the program did not log nginx's request id"


def test_requests_are_not_logged_one_by_one(clean):
    for _ in range(3):
        assert requests.get(clean.url("/api/health"), timeout=10).status_code == 200
    assert "/api/health" not in clean.log_text("me")


def test_nginx_login_flood_limit_is_json_429(clean):
    # Malformed bodies: refused at once, and not counted by the database
    # throttle, so only nginx's limit (30/s, burst 100) can answer 429.
    with requests.Session() as http:
        answers = [http.post(clean.url("/api/auth/login"), data=b"{",
                             headers={"Content-Type": "application/json"}, timeout=10)
                   for _ in range(300)]
    limited = [r for r in answers if r.status_code == 429]
    assert limited, "nginx never limited a flood of 300 logins"
    assert all(r.status_code in (400, 429) for r in answers)
    r = limited[0]
    assert_error(r, 429, "too_many_attempts")
    assert r.headers.get("Retry-After") == "1"
    assert "no-store" in r.headers.get("Cache-Control", "")
    assert_security_headers(r)

    # The burst of 100 drains at 30/s: the tests that follow find it empty.
    time.sleep(4)
    r = requests.post(clean.url("/api/auth/login"), data=b"{", timeout=10,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400


def test_officers_area_is_guarded_by_auth_request(clean):
    clean.add_user("mia", PASSWORD, role="member")
    clean.add_user("olga", PASSWORD, role="officer")
    r = requests.get(clean.url("/officers/"), timeout=10)
    assert_error(r, 401, "not_authenticated")
    assert_security_headers(r)
    member = clean.login("mia", PASSWORD)
    r = requests.get(clean.url("/officers/"), headers={"Authorization": f"Bearer {member}"}, timeout=10)
    assert_error(r, 403, "forbidden")
    officer = clean.login("olga", PASSWORD)
    admin = clean.login(ADMIN_USERNAME, ADMIN_PASSWORD)
    # Issue 10: the seeded admin still on the default password opened /officers/ to anyone.
    for headers in ({"Authorization": f"Bearer {admin}"}, {"Cookie": f"farout_session={admin}"}):
        r = requests.get(clean.url("/officers/"), headers=headers, timeout=10)
        assert_error(r, 403, "forbidden")
    admin = change_admin_password(clean, admin)
    has_page = (REPO / "www" / "officers" / "index.html").exists()
    for headers in ({"Authorization": f"Bearer {officer}"}, {"Cookie": f"farout_session={officer}"},
                    {"Authorization": f"Bearer {admin}"}):
        r = requests.get(clean.url("/officers/"), headers=headers, timeout=10)
        assert r.status_code == (200 if has_page else 404), (headers.keys(), r.status_code, r.text[:200])
        assert "no-store" in r.headers.get("Cache-Control", "")


# --- schema --------------------------------------------------------------------------

# Column for column the Phase 1 schema (shared/seed): name, type, length,
# nullable, default; in table order.
USERS_COLUMNS = [
    ("id", "integer", None, "NO", "nextval('users_id_seq'::regclass)"),
    ("discord_id", "character varying", 32, "YES", None),
    ("username", "character varying", 64, "NO", None),
    ("discriminator", "character varying", 8, "YES", None),
    ("avatar", "character varying", 255, "YES", None),
    ("email", "character varying", 255, "YES", None),
    ("hashed_password", "character varying", 255, "YES", None),
    ("role", "character varying", 32, "NO", "'member'::character varying"),
    ("must_change_password", "boolean", None, "NO", "false"),
    ("created_at", "timestamp with time zone", None, "NO", "now()"),
    ("last_login", "timestamp with time zone", None, "YES", None),
    ("is_active", "boolean", None, "NO", "true"),
]
MEMBERS_COLUMNS = [
    ("id", "integer", None, "NO", "nextval('members_id_seq'::regclass)"),
    ("discord_id", "character varying", 32, "NO", None),
    ("display_name", "character varying", 64, "NO", None),
    ("bio", "text", None, "YES", None),
    ("avatar_url", "character varying", 512, "YES", None),
    ("rank", "character varying", 32, "NO", "'member'::character varying"),
    ("missions_completed", "jsonb", None, "NO", "'[]'::jsonb"),
    ("trainings_completed", "jsonb", None, "NO", "'[]'::jsonb"),
    ("stats", "jsonb", None, "NO", "'{}'::jsonb"),
    ("created_at", "timestamp with time zone", None, "NO", "now()"),
    ("updated_at", "timestamp with time zone", None, "NO", "now()"),
]
# name -> (unique, indexed columns)
USERS_INDEXES = {
    "users_pkey": (True, "(id)"),
    "ix_users_discord_id": (True, "(discord_id)"),
    "ix_users_username": (True, "(username)"),
    "ix_users_email": (True, "(email)"),
    "ix_users_role": (False, "(role)"),
}
MEMBERS_INDEXES = {
    "members_pkey": (True, "(id)"),
    "ix_members_discord_id": (True, "(discord_id)"),
    "ix_members_rank": (False, "(rank)"),
}


def columns_of(stack, db, table):
    return [tuple(r) for r in stack.sql(db, """
        SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
          FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position""", (table,))]


def indexes_of(stack, db, table):
    found = {}
    for name, definition in stack.sql(db, "SELECT indexname, indexdef FROM pg_indexes "
                                          "WHERE schemaname = 'public' AND tablename = %s", (table,)):
        found[name] = (definition.startswith("CREATE UNIQUE INDEX"),
                       definition[definition.rindex("("):])
    return found


def schema_of(stack):
    return (columns_of(stack, "auth", "users"), indexes_of(stack, "auth", "users"),
            columns_of(stack, "app", "members"), indexes_of(stack, "app", "members"))


def assert_seed_indexes(found, expected):
    # The seed's indexes exactly; later migrations may add indexes for speed,
    # but a unique one would change which rows the seed's table accepts.
    assert {name: found.get(name) for name in expected} == expected
    extra_unique = [name for name, (unique, _) in found.items() if unique and name not in expected]
    assert extra_unique == []


def test_schema_equals_the_seed(stack):
    assert columns_of(stack, "auth", "users") == USERS_COLUMNS
    assert_seed_indexes(indexes_of(stack, "auth", "users"), USERS_INDEXES)
    assert columns_of(stack, "app", "members") == MEMBERS_COLUMNS
    assert_seed_indexes(indexes_of(stack, "app", "members"), MEMBERS_INDEXES)


def test_updated_at_follows_updates(clean):
    clean.sql("app", "INSERT INTO members (discord_id, display_name, updated_at) "
                     "VALUES ('42', 'Nelly', now() - interval '1 hour')")
    clean.sql("app", "UPDATE members SET bio = 'hello' WHERE discord_id = '42'")
    fresh = clean.sql("app", "SELECT updated_at > now() - interval '1 minute' FROM members "
                             "WHERE discord_id = '42'")[0][0]
    assert fresh


def test_seeded_admin(clean):
    row = user_row(clean, ADMIN_USERNAME)
    assert row is not None
    assert row["hash"][:4] in ("$2a$", "$2b$", "$2y$"), row["hash"][:7]
    assert bcrypt.checkpw(ADMIN_PASSWORD.encode(), row["hash"].encode())
    assert row["must_change"] is True
    assert row["role"] == "admin" and row["active"] is True
    assert row["email"] == "admin@farout.local"
    r = requests.post(clean.url("/api/auth/login"),
                      json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}, timeout=10)
    assert r.status_code == 200 and r.json()["must_change_password"] is True


# --- farout-admin migrate ---------------------------------------------------------------

SEED_LINES = ("Users table created", "Members table created", "Default admin user created")


def test_first_migrate_up_reports_the_seed(stack):
    for line in SEED_LINES:
        assert line in stack.first_migrate_output, stack.first_migrate_output


def migrations_rows(stack):
    return {db: stack.sql(db, "SELECT version, name, applied_at FROM schema_migrations ORDER BY 1")
            for db in ("auth", "app")}


def test_migrate_up_twice_changes_nothing(clean):
    before = migrations_rows(clean)
    users = clean.sql("auth", "SELECT id, username, hashed_password FROM users ORDER BY id")
    result = clean.admin("migrate", "up")
    assert result.returncode == 0, output(result)
    assert "up to date" in output(result).lower(), output(result)
    for line in SEED_LINES:
        assert line not in output(result)
    assert migrations_rows(clean) == before
    assert clean.sql("auth", "SELECT id, username, hashed_password FROM users ORDER BY id") == users


def test_migrate_down_then_up_round_trips(clean):
    schema = schema_of(clean)
    down = clean.admin("migrate", "down", "--yes")
    assert down.returncode == 0, output(down)
    assert not table_exists(clean, "auth", "users")
    assert not table_exists(clean, "app", "members")
    up = clean.admin("migrate", "up")
    assert up.returncode == 0, output(up)
    for line in SEED_LINES:
        assert line in output(up), output(up)
    assert schema_of(clean) == schema
    assert user_row(clean, ADMIN_USERNAME)["must_change"] is True
    assert requests.get(clean.url("/api/health"), timeout=10).status_code == 200


@pytest.mark.parametrize("answer", ["n\n", "no\n", ""])
def test_migrate_down_declined_drops_nothing(clean, answer):
    before = migrations_rows(clean)
    result = clean.admin("migrate", "down", input=answer)
    # Declining exits 1; no answer at all (end of input) must not count as yes.
    if answer:
        assert result.returncode == 1, output(result)
    else:
        assert result.returncode != 0, output(result)
    assert table_exists(clean, "auth", "users") and table_exists(clean, "app", "members")
    assert user_row(clean, ADMIN_USERNAME) is not None
    assert migrations_rows(clean) == before


def test_migrate_status(clean):
    result = clean.admin("migrate", "status")
    assert result.returncode == 0, output(result)
    for path in sorted((REPO / "db" / "migrations").glob("*.up.sql")):
        name = path.name[:-len(".up.sql")].split("_", 1)[1]
        assert name in output(result), f"{name} missing from: {output(result)}"


# --- farout-admin user ---------------------------------------------------------------------

def test_user_add_forces_a_password_change(clean):
    r = clean.admin("user", "add", "carol", "--email", "carol@example.org", "--role", "officer",
                    input=PASSWORD + "\n")
    assert r.returncode == 0, output(r)
    assert "carol" in output(r)
    row = user_row(clean, "carol")
    assert row["role"] == "officer" and row["email"] == "carol@example.org"
    assert row["must_change"] is True and row["active"] is True
    assert bcrypt.checkpw(PASSWORD.encode(), row["hash"].encode())
    login = requests.post(clean.url("/api/auth/login"),
                          json={"username": "carol", "password": PASSWORD}, timeout=10)
    assert login.status_code == 200 and login.json()["must_change_password"] is True


def test_user_add_keep(clean):
    r = clean.admin("user", "add", "dan", "--keep", input=PASSWORD + "\n")
    assert r.returncode == 0, output(r)
    row = user_row(clean, "dan")
    assert row["must_change"] is False and row["role"] == "member"


def test_user_add_duplicate_is_refused(clean):
    clean.add_user("carol", PASSWORD)
    r = clean.admin("user", "add", "carol", input=OTHER_PASSWORD + "\n")
    assert r.returncode != 0 and "carol" in r.stderr, output(r)
    assert clean.sql("auth", "SELECT count(*) FROM users WHERE username = 'carol'")[0][0] == 1
    assert bcrypt.checkpw(PASSWORD.encode(), user_row(clean, "carol")["hash"].encode())


def test_user_add_bad_role_is_refused(clean):
    r = clean.admin("user", "add", "erin", "--role", "superuser", input=PASSWORD + "\n")
    assert r.returncode != 0, output(r)
    assert "superuser" in r.stderr or "role" in r.stderr.lower(), r.stderr
    assert user_row(clean, "erin") is None


@pytest.mark.parametrize("args", [("user", "add", "frank", PASSWORD),
                                  ("user", "add", "frank", "--password", PASSWORD),
                                  ("user", "add", "frank", f"--password={PASSWORD}")])
def test_user_password_as_an_argument_is_refused(clean, args):
    r = clean.admin(*args, input=PASSWORD + "\n")
    assert r.returncode != 0, output(r)
    assert user_row(clean, "frank") is None
    assert PASSWORD not in output(r)


@pytest.mark.parametrize("password", ["", "\n", "short\n", "x" * 73 + "\n"])
def test_user_add_empty_or_weak_password_is_refused(clean, password):
    r = clean.admin("user", "add", "gina", input=password)
    assert r.returncode != 0, output(r)
    assert r.stderr.strip(), "no explanation on stderr"
    assert user_row(clean, "gina") is None


def test_user_passwd(clean):
    clean.add_user("hank", PASSWORD)
    r = clean.admin("user", "passwd", "hank", input=OTHER_PASSWORD + "\n")
    assert r.returncode == 0, output(r)
    row = user_row(clean, "hank")
    assert bcrypt.checkpw(OTHER_PASSWORD.encode(), row["hash"].encode())
    assert row["must_change"] is True
    old = requests.post(clean.url("/api/auth/login"),
                        json={"username": "hank", "password": PASSWORD}, timeout=10)
    assert_error(old, 401, "invalid_credentials")
    r = clean.admin("user", "passwd", "hank", "--keep", input=PASSWORD + "\n")
    assert r.returncode == 0, output(r)
    assert user_row(clean, "hank")["must_change"] is False
    clean.login("hank", PASSWORD)


def test_user_passwd_weak_password_is_refused(clean):
    clean.add_user("hank", PASSWORD)
    before = user_row(clean, "hank")["hash"]
    r = clean.admin("user", "passwd", "hank", input="short\n")
    assert r.returncode != 0, output(r)
    assert user_row(clean, "hank")["hash"] == before


def test_user_role(clean):
    clean.add_user("ivy", PASSWORD)
    r = clean.admin("user", "role", "ivy", "officer")
    assert r.returncode == 0, output(r)
    assert user_row(clean, "ivy")["role"] == "officer"
    r = clean.admin("user", "role", "ivy", "emperor")
    assert r.returncode != 0, output(r)
    assert user_row(clean, "ivy")["role"] == "officer"


def test_user_disable_and_enable(clean):
    clean.add_user("jack", PASSWORD)
    r = clean.admin("user", "disable", "jack")
    assert r.returncode == 0, output(r)
    assert user_row(clean, "jack")["active"] is False
    r = requests.post(clean.url("/api/auth/login"),
                      json={"username": "jack", "password": PASSWORD}, timeout=10)
    assert_error(r, 403, "account_disabled")
    r = clean.admin("user", "enable", "jack")
    assert r.returncode == 0, output(r)
    assert user_row(clean, "jack")["active"] is True
    clean.login("jack", PASSWORD)


@pytest.mark.parametrize("args,stdin", [
    (("user", "passwd", "nosuchuser"), PASSWORD + "\n"),
    (("user", "role", "nosuchuser", "officer"), None),
    (("user", "disable", "nosuchuser"), None),
    (("user", "enable", "nosuchuser"), None),
])
def test_user_commands_on_an_unknown_user(clean, args, stdin):
    r = clean.admin(*args, input=stdin)
    assert r.returncode != 0, output(r)
    assert "nosuchuser" in r.stderr, r.stderr


def test_user_list_shows_users_without_hashes(clean):
    clean.add_user("kate", PASSWORD, role="officer", email="kate@example.org")
    r = clean.admin("user", "list")
    assert r.returncode == 0, output(r)
    assert "admin" in r.stdout and "kate" in r.stdout
    assert "officer" in r.stdout
    assert "$2" not in output(r) and "hashed_password" not in output(r)
    for (stored,) in clean.sql("auth", "SELECT hashed_password FROM users"):
        assert stored[7:] not in output(r)


@pytest.mark.parametrize("args", [(), ("user",), ("user", "frobnicate", "x"), ("migrate",),
                                  ("migrate", "sideways")])
def test_admin_usage_errors(clean, args):
    r = clean.admin(*args)
    assert r.returncode != 0, output(r)
    assert r.stderr.strip()


def test_admin_reports_a_database_that_is_down(stack):
    r = stack.admin("user", "list", extra_env={"AUTH_DATABASE_URL": "postgresql:///farout_auth?"
                                               "host=/nonexistent&port=1&user=farout"})
    assert r.returncode != 0
    assert r.stderr.strip()
