"""Every way an operator runs the programs (issue 11), each a focused subset
on a stack of its own next to the session's --listen stack:

  CGI under fcgiwrap      conf/nginx/fcgiwrap/ (nginx → fcgiwrap -f → the programs)
  spawn-fcgi (fd-0 mode)  stderr /dev/null, so the lines go to syslog
  PgBouncer 1.18          transaction pooling, DB_PREPARED_STATEMENTS=off
  two hosts               two sets of the programs, one nginx upstream per program

The same scripted session (sign-in, password change, me, verify, the
/officers/ guard, a Discord sign-in, members list and PATCH, logout) runs on
the reference stack and on each of these; the answers (status, keys, error
code of every step) must be the same.
"""

import pytest
import requests

import helpers
from harness import ADMIN_PASSWORD, ADMIN_USERNAME, Stack, wait_until
from helpers import NEW_PASSWORD, PASSWORD, TIMEOUT, get, insert_user, post, request


def _own_stack(request, **kwargs):
    stack = Stack(**kwargs)

    def finish():
        findings = stack.stop(keep_logs=request.session.testsfailed > 0)
        if findings:
            pytest.fail("sanitizer reports:\n  " + "\n  ".join(findings[:20]), pytrace=False)

    request.addfinalizer(finish)
    return stack.start()


def _clean(stack):
    stack.ensure_running()
    stack.reset_db()
    stack.fake.reset()
    return stack


@pytest.fixture(scope="module")
def cgi_stack(request):
    return _own_stack(request, mode="cgi")


@pytest.fixture(scope="module")
def spawn_stack(request):
    return _own_stack(request, mode="spawn-fcgi")


@pytest.fixture(scope="module")
def pgb_stack(request):
    return _own_stack(request, pgbouncer=True)


@pytest.fixture(scope="module")
def two_hosts(request):
    return _own_stack(request, hosts=2)


# ---- the scripted session -------------------------------------------------------------------

def _summary(r):
    """What must be the same in every mode: status, the keys of a JSON object, its error code."""
    body = None
    if r.headers.get("Content-Type", "").startswith("application/json") and r.content:
        body = r.json()
    if isinstance(body, dict):
        values = tuple((k, body[k]) for k in ("total", "rank", "role", "username",
                                              "must_change_password") if k in body)
        return r.status_code, tuple(sorted(body)), body.get("error"), values
    if isinstance(body, list):
        return r.status_code, "list", len(body)
    return r.status_code, None, None


def operator_session(stack):
    """Runs the session; returns [(step, summary), ...]."""
    steps = []
    origin = {"Origin": stack.public_url}

    def note(step, r):
        steps.append((step, _summary(r)))
        return r

    browser = requests.Session()
    r = note("login", browser.post(stack.url("/api/auth/login"), timeout=TIMEOUT,
                                   json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}))
    assert r.status_code == 200, r.text
    note("members before the password change", get(stack, "/api/members", r.json()["access_token"]))
    r = note("password change", browser.post(
        stack.url("/api/auth/password"), headers=origin, timeout=TIMEOUT,
        json={"current_password": ADMIN_PASSWORD, "new_password": NEW_PASSWORD}))
    assert r.status_code == 200, r.text
    admin = r.json()["access_token"]
    note("wrong password", helpers.login_response(stack, ADMIN_USERNAME, "Not-The-Password-1"))
    note("bad json", post(stack, "/api/auth/login", data="{",
                          headers={"Content-Type": "application/json"}))
    note("me", get(stack, "/api/auth/me", admin))
    note("verify admin", get(stack, "/api/auth/verify?role=admin", admin))
    note("verify bad role", get(stack, "/api/auth/verify?role=boss", admin))
    note("verify anonymous", get(stack, "/api/auth/verify"))
    # The auth_request guard goes through the internal location (its own SCRIPT_FILENAME).
    note("officers page", browser.get(stack.url("/officers/"), timeout=TIMEOUT))
    note("officers anonymous", requests.get(stack.url("/officers/"), timeout=TIMEOUT))

    discord = requests.Session()
    r = discord.get(stack.url("/api/auth/discord/login"), allow_redirects=False, timeout=TIMEOUT)
    steps.append(("discord login", r.status_code))
    assert r.status_code == 302, r.text
    r = requests.get(r.headers["Location"], allow_redirects=False, timeout=TIMEOUT)
    r = note("discord callback", discord.get(r.headers["Location"], allow_redirects=False,
                                             headers={"Accept": "application/json"},
                                             timeout=TIMEOUT))
    assert r.status_code == 200, r.text
    nelly, nelly_id = r.json()["access_token"], r.json()["user"]["discord_id"]

    note("members list", get(stack, "/api/members", admin))
    r = note("members patch", request(stack, "PATCH", f"/api/members/{nelly_id}", admin,
                                      json={"rank": "Officer", "bio": "Pilot"}))
    assert r.status_code == 200 and r.json()["rank"] == "Officer", r.text
    note("member reads own", get(stack, "/api/members/me", nelly))
    note("member may not set rank", request(stack, "PATCH", f"/api/members/{nelly_id}", nelly,
                                            json={"rank": "Admiral"}))
    note("member list as member", get(stack, "/api/members?rank=Officer", nelly))
    note("unknown member", get(stack, "/api/members/1234567890123", admin))
    note("logout", post(stack, "/api/auth/logout", admin, headers=origin))
    note("me after logout", get(stack, "/api/auth/me", admin))
    note("health", get(stack, "/api/health"))
    return steps


@pytest.fixture(scope="module")
def reference(stack):
    """The session's answers on the --listen stack (computed once)."""
    _clean(stack)
    try:
        return operator_session(stack)
    finally:
        _clean(stack)


def test_reference_session_is_what_the_contract_says(reference):
    got = dict(reference)
    assert got["login"][0] == 200
    assert got["members before the password change"][2] == "password_change_required"
    assert got["verify admin"][0] == 204
    assert got["verify anonymous"][0] == 401
    assert got["officers page"][0] in (200, 404)
    assert got["officers anonymous"][0] == 401
    assert got["member may not set rank"][2] == "forbidden_field"
    assert got["logout"][0] == 204
    assert got["me after logout"] == (401, ("detail", "error"), "not_authenticated", ())


# ---- CGI under fcgiwrap ------------------------------------------------------------------------

def test_cgi_under_fcgiwrap_answers_as_fastcgi(reference, cgi_stack):
    assert operator_session(_clean(cgi_stack)) == reference


def test_cgi_mode_does_not_fill_nginx_error_log(cgi_stack):
    """fcgiwrap -f hands the programs' stderr to nginx, which logs every line as
    an error: in CGI mode the programs write warnings and errors only."""
    _clean(cgi_stack)
    helpers.login(cgi_stack, ADMIN_USERNAME, ADMIN_PASSWORD)
    get(cgi_stack, "/api/health")
    error_log = (cgi_stack.dir / "nginx" / "error.log").read_text(errors="replace")
    assert "FastCGI sent in stderr" not in error_log, error_log[-2000:]


def test_cgi_mode_logs_at_the_level_asked(cgi_stack):
    """LOG_LEVEL=info brings the info lines back (here through fcgiwrap -f into
    nginx's log). Requests are not logged one by one; a refused token is an
    info event."""
    _clean(cgi_stack)
    cgi_stack.restart_program("fcgiwrap", {"LOG_LEVEL": "info"})
    try:
        r = get(cgi_stack, "/api/auth/verify", "not.a.token")
        assert r.status_code == 401
        rid = r.headers["X-Request-Id"]
        error_log = (cgi_stack.dir / "nginx" / "error.log").read_text(errors="replace")
        assert "FastCGI sent in stderr" in error_log and rid in error_log
        assert "token refused" in error_log
    finally:
        cgi_stack.restart_program("fcgiwrap")


# ---- spawn-fcgi: fd-0 mode, stderr /dev/null -----------------------------------------------------

def test_spawn_fcgi_answers_as_fastcgi(reference, spawn_stack):
    assert operator_session(_clean(spawn_stack)) == reference


def test_spawn_fcgi_logs_reach_syslog(spawn_stack):
    _clean(spawn_stack)
    # Requests are not logged one by one (nginx's access log has them); a
    # refused token is an event line, with the request id.
    r = get(spawn_stack, "/api/auth/verify", "not.a.token")
    assert r.status_code == 401
    rid = r.headers["X-Request-Id"]
    assert wait_until(lambda: rid in spawn_stack.log_text("me"), 5), \
        spawn_stack.log_text("me")[-1000:]
    line = next(x for x in spawn_stack.log_text("me").splitlines() if rid in x)
    # <daemon.info> and the program as the syslog ident, with its pid.
    assert line.startswith("<30>") and " me[" in line and "token refused" in line, line


def test_spawn_fcgi_config_error_reaches_syslog(spawn_stack):
    """A refused start is the line an operator most needs; stderr is /dev/null here."""
    _clean(spawn_stack)
    spawn_stack.stop_program("members")
    try:
        proc = spawn_stack.start_program("members", {"BCRYPT_COST": "abc"}, wait=False)
        assert proc.wait(15) != 0
        assert wait_until(lambda: "BCRYPT_COST" in spawn_stack.log_text("members"), 5)
        line = next(x for x in spawn_stack.log_text("members").splitlines() if "BCRYPT_COST" in x)
        assert line.startswith("<27>"), line  # daemon.err
    finally:
        spawn_stack.procs.pop("members", None)
        spawn_stack.start_program("members")


# ---- PgBouncer in transaction pooling mode -----------------------------------------------------

def test_pgbouncer_answers_as_direct(reference, pgb_stack):
    assert operator_session(_clean(pgb_stack)) == reference
    log = pgb_stack.log_text("pgbouncer")
    assert "farout_auth/farout@unix" in log and "farout/farout@unix" in log, log[-1000:]


def test_pgbouncer_under_concurrency(pgb_stack):
    """More clients than PgBouncer's pool (4 per database): sign-ins, reads and
    writes from every worker at once, transactions sharing server connections."""
    import concurrent.futures

    stack = _clean(pgb_stack)
    for i in range(6):
        insert_user(stack, f"pilot{i}")
    admin = helpers.change_admin_password(stack, helpers.login(stack, ADMIN_USERNAME, ADMIN_PASSWORD))

    def one(i):
        token = helpers.login(stack, f"pilot{i % 6}", PASSWORD)
        out = [get(stack, "/api/auth/me", token).status_code,
               get(stack, "/api/auth/verify", token).status_code,
               get(stack, "/api/members?limit=5", admin).status_code,
               post(stack, "/api/auth/logout", token).status_code,
               get(stack, "/api/auth/me", token).status_code]
        return out

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        results = list(pool.map(one, range(36)))
    assert all(r == [200, 204, 200, 204, 401] for r in results), results


def test_pgbouncer_database_outage_is_503_then_recovers(pgb_stack):
    """PostgreSQL down behind PgBouncer: 503 within PgBouncer's query_wait_timeout
    (3 s here, README), not a hang; back to 200 once it is up again."""
    import time

    stack = _clean(pgb_stack)
    insert_user(stack, "nelly")
    token = helpers.login(stack, "nelly")
    stack.stop_postgres()
    try:
        started = time.monotonic()
        helpers.assert_error(get(stack, "/api/auth/me", token), 503, "unavailable")
        helpers.assert_error(helpers.login_response(stack, "nelly"), 503, "unavailable")
        assert time.monotonic() - started < 15
    finally:
        stack.start_postgres()
    helpers.settle(stack)
    assert get(stack, "/api/auth/me", token).status_code == 200
    assert helpers.login_response(stack, "nelly").status_code == 200


# ---- two hosts behind one upstream per program ------------------------------------------------------

def only_on(stack, name, host, envs=None):
    """Leaves NAME running on `host` only (nginx then reaches that one set);
    envs[host]: the extra environment it is started with."""
    for h in range(stack.hosts):
        key = stack.proc_key(name, h)
        running = key in stack.procs and stack.procs[key].poll() is None
        if h == host and not running:
            stack.start_program(name, (envs or {}).get(host), host=h)
        elif h != host and running:
            stack.stop_program(name, host=h)


def test_two_hosts_discord_sign_in_started_on_one_finished_on_the_other(two_hosts):
    stack = _clean(two_hosts)
    browser = requests.Session()
    only_on(stack, "oauth-callback", 0)
    r = browser.get(stack.url("/api/auth/discord/login"), allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 302, r.text
    callback = requests.get(r.headers["Location"], allow_redirects=False,
                            timeout=TIMEOUT).headers["Location"]
    only_on(stack, "oauth-callback", 1)
    r = browser.get(callback, headers={"Accept": "application/json"}, allow_redirects=False,
                    timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    only_on(stack, "me", 1)
    assert get(stack, "/api/auth/me", token).status_code == 200
    only_on(stack, "me", 0)
    assert get(stack, "/api/auth/me", token).status_code == 200
    assert "discord sign-in" in stack.log_text("oauth-callback-1")


def test_two_hosts_share_the_login_throttle(two_hosts):
    stack = _clean(two_hosts)
    insert_user(stack, "nelly")
    max_failures = 5  # LOGIN_MAX_FAILURES's default
    for i in range(max_failures):
        only_on(stack, "login", i % 2)
        r = helpers.login_response(stack, "nelly", "Wrong-Password-1")
        assert r.status_code == 401, r.text
    for host in (0, 1):
        only_on(stack, "login", host)
        helpers.assert_error(helpers.login_response(stack, "nelly"), 429, "too_many_attempts")


def test_two_hosts_logout_on_one_is_refused_on_the_other_at_once(two_hosts):
    stack = _clean(two_hosts)
    insert_user(stack, "nelly")
    only_on(stack, "login", 0)
    token = helpers.login(stack, "nelly")
    only_on(stack, "me", 1)
    assert get(stack, "/api/auth/me", token).status_code == 200
    assert post(stack, "/api/auth/logout", token).status_code == 204
    helpers.assert_error(get(stack, "/api/auth/me", token), 401, "not_authenticated")
    only_on(stack, "me", 0)
    helpers.assert_error(get(stack, "/api/auth/me", token), 401, "not_authenticated")
    assert get(stack, "/api/auth/verify", token).status_code == 401


def test_two_hosts_both_serve_through_one_upstream(two_hosts):
    """With both sets up, nginx spreads requests over both (round robin)."""
    stack = _clean(two_hosts)
    stack.ensure_running()
    # A refused token is logged with the request id: which host answered.
    rids = [get(stack, "/api/auth/verify", "not.a.token").headers["X-Request-Id"] for _ in range(12)]
    assert wait_until(lambda: all(
        rid in stack.log_text("me") + stack.log_text("me-1") for rid in rids), 5)
    assert any(rid in stack.log_text("me") for rid in rids)
    assert any(rid in stack.log_text("me-1") for rid in rids)


# ---- JWT_SECRET_PREVIOUS: a rolling rotation over both hosts -------------------------------------------

def test_two_hosts_rolling_jwt_rotation(two_hosts):
    """README "Rotating JWT_SECRET": every token stays valid on every host at
    every step; a third secret is refused; once PREVIOUS is dropped, the old
    secret's tokens stop."""
    import jwt as pyjwt

    stack = _clean(two_hosts)
    insert_user(stack, "nelly")
    old, new = stack.env["JWT_SECRET"], "rotated-" + "n" * 40
    third = "a-third-secret-" + "t" * 30
    programs = ("login", "me", "members", "oauth-callback")

    envs = {0: None, 1: None}

    def on_host(host, env):
        envs[host] = env
        for name in programs:
            if stack.proc_key(name, host) in stack.procs:
                stack.stop_program(name, host=host)
            stack.start_program(name, env, host=host)

    def sign_in_on(host):
        only_on(stack, "login", host, envs)
        return helpers.login(stack, "nelly")

    def accepted_everywhere(token):
        for host in (0, 1):
            only_on(stack, "me", host, envs)
            only_on(stack, "members", host, envs)
            if get(stack, "/api/auth/me", token).status_code != 200:
                return False
            if get(stack, "/api/members", token).status_code != 200:
                return False
        return True

    try:
        tokens = [sign_in_on(0)]
        # 1. Every host learns the new secret (verifies only).
        for host in (0, 1):
            on_host(host, {"JWT_SECRET": old, "JWT_SECRET_PREVIOUS": new})
            tokens.append(sign_in_on(host))
            assert all(accepted_everywhere(t) for t in tokens)
        # 2. Every host signs with it, the old one kept for verifying.
        for host in (0, 1):
            on_host(host, {"JWT_SECRET": new, "JWT_SECRET_PREVIOUS": old})
            tokens.append(sign_in_on(host))
            assert all(accepted_everywhere(t) for t in tokens)
        latest = tokens[-1]
        pyjwt.decode(latest, new, algorithms=["HS256"], issuer="farout")
        with pytest.raises(pyjwt.InvalidSignatureError):
            pyjwt.decode(latest, old, algorithms=["HS256"])
        forged = pyjwt.encode(pyjwt.decode(latest, new, algorithms=["HS256"]), third,
                              algorithm="HS256")
        assert not accepted_everywhere(forged)
        # 3. After JWT_EXPIRATION_DAYS: PREVIOUS dropped, the old secret's tokens stop.
        for host in (0, 1):
            on_host(host, {"JWT_SECRET": new, "JWT_SECRET_PREVIOUS": None})
        for host in (0, 1):
            only_on(stack, "me", host, envs)
            helpers.assert_error(get(stack, "/api/auth/me", tokens[0]), 401, "not_authenticated")
            assert get(stack, "/api/auth/me", latest).status_code == 200
    finally:
        for host in (0, 1):
            on_host(host, None)


# ---- the shipped configuration: systemd units, nginx flavours ------------------------------------------

UNITS = ("farout-auth@login.service", "farout-auth-socket@me.socket",
         "farout-auth-socket@me.service", "farout-fcgiwrap.service", "farout-auth-migrate.service")


def test_systemd_units_verify_clean(stack, tmp_path):
    """`systemd-analyze verify` of every unit, with the install paths pointed at
    this build: no error and no warning."""
    import subprocess

    for unit in (stack.repo / "conf/systemd").iterdir():
        text = unit.read_text()
        text = text.replace("/usr/local/lib/farout-auth/cgi-bin/", f"{stack.bin_dir}/cgi-bin/")
        text = text.replace("/usr/local/bin/farout-admin", str(stack.admin_bin))
        (tmp_path / unit.name).write_text(text)
    r = subprocess.run(["systemd-analyze", "verify", *(f"./{u}" for u in UNITS)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr
    socket_unit = (tmp_path / "farout-auth-socket@.socket").read_text()
    service = (tmp_path / "farout-auth-socket@.service").read_text()
    assert "ListenStream=/run/farout/%i.sock" in socket_unit
    assert "StandardInput=socket" in service and "StandardOutput=journal" in service
    # fd-0 mode with workers: what test_operations' socket-activation test runs.
    assert f"{stack.bin_dir}/cgi-bin/%i --workers ${{FAROUT_WORKERS}}" in service


def test_nginx_flavours_load(stack, tmp_path):
    """nginx.conf with each shipped local/http.conf (docker, systemd, fcgiwrap): `nginx -t`."""
    import subprocess

    for flavour in ("docker", "systemd", "fcgiwrap"):
        conf = tmp_path / flavour
        subprocess.run([str(stack.repo / "conf/nginx/mklocal.sh"), str(conf), "8080",
                        str(tmp_path / "run"), str(stack.repo / "www")], check=True)
        http = (stack.repo / "conf/nginx" / flavour / "http.conf").read_text()
        http = http.replace("/var/log/nginx/", f"{conf}/").replace("/dev/stdout", f"{conf}/access.log")
        (conf / "local" / "http.conf").write_text(http)
        r = subprocess.run(["nginx", "-t", "-q", "-p", str(conf), "-c", str(conf / "nginx.conf"),
                            "-e", str(conf / "error.log")], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"{flavour}: {r.stderr}"


def test_fastcgi_params_include_from_another_nginx_conf(stack, tmp_path):
    """An operator's own nginx.conf elsewhere includes the shipped snippet by
    its absolute path: nothing in it may be relative to our layout."""
    import subprocess

    params = stack.repo / "conf/nginx/fastcgi_params.conf"
    (tmp_path / "nginx.conf").write_text(f"""
pid {tmp_path}/nginx.pid;
events {{}}
http {{
    map $document_uri $farout_script_filename {{ default ""; }}
    server {{
        listen 127.0.0.1:{stack.port};
        location = /api/auth/me {{
            fastcgi_pass unix:{stack.socket_path("me")};
            include {params};
        }}
    }}
}}
""")
    r = subprocess.run(["nginx", "-t", "-q", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                        "-e", str(tmp_path / "error.log")], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
