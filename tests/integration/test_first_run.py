"""The first run, as a new user meets it: one address whatever host name is
typed, `make run` from `cp .env.example .env` to SIGTERM, `make help`,
`make admin`, a site without bench files."""

import os
import re
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from harness import REPO, children_of, free_port, pid_alive, wait_until
from helpers import assert_error, login_response


def other_host(stack, path):
    """The same nginx, reached as localhost (PUBLIC_URL says 127.0.0.1)."""
    return f"http://localhost:{stack.port}{path}"


# ---- one address -------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_another_host_name_is_redirected_to_the_same_path_on_public_url(clean, method):
    for path in ("/", "/members?q=a%20b&rank=x", "/api/auth/me", "/no/such/page"):
        r = requests.request(method, other_host(clean, path), allow_redirects=False, timeout=10)
        assert r.status_code == 301, (path, r.status_code)
        assert r.headers["Location"] == clean.public_url + path
        # Not cached for good: PUBLIC_URL may change, and the old redirect would loop.
        assert r.headers.get("Cache-Control") == "no-store"


def test_host_header_is_compared_without_port_and_case(clean):
    r = requests.get(clean.url("/api/auth/me"), headers={"Host": "127.0.0.1"}, timeout=10)
    assert r.status_code == 401  # served, not redirected
    r = requests.get(clean.url("/members"), headers={"Host": "127.0.0.1:1"}, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    r = requests.get(clean.url("/api/members"), headers={"Host": "www.example.org"},
                     allow_redirects=False, timeout=10)
    assert r.status_code == 301 and r.headers["Location"] == clean.public_url + "/api/members"


def test_probes_answer_at_any_host_name(clean):
    # Load balancers and Prometheus address the server by IP.
    r = requests.get(clean.url("/api/health"), headers={"Host": "10.1.2.3"}, allow_redirects=False,
                     timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "ok"
    # A look-alike path is not a probe.
    r = requests.get(clean.url("/api/healthz"), headers={"Host": "10.1.2.3"}, allow_redirects=False,
                     timeout=10)
    assert r.status_code == 301
    r = requests.get(clean.url("/x%7CGET%7C/api/health"), headers={"Host": "10.1.2.3"},
                     allow_redirects=False, timeout=10)
    assert r.status_code == 301


def test_a_write_at_another_host_name_is_refused_naming_public_url(clean):
    r = requests.post(
        other_host(clean, "/api/auth/login"), json={"username": "admin", "password": "Admin123!"},
        allow_redirects=False, timeout=10)
    body = assert_error(r, 400, "invalid_request", exact=True, no_store=True)
    assert clean.public_url in body["detail"]
    assert "Set-Cookie" not in r.headers
    # Signing in at PUBLIC_URL itself works as ever.
    assert login_response(clean, "admin", "Admin123!").status_code == 200


def test_public_url_sh_refuses_what_nginx_could_not_take():
    script = REPO / "conf/nginx/public-url.sh"
    ok = subprocess.run([str(script), "http://LocalHost:8080/"], capture_output=True, text=True)
    assert ok.returncode == 0
    assert '"localhost" "";' in ok.stdout and 'default "http://localhost:8080";' in ok.stdout
    for bad in ("localhost:8080", "http://x/path", 'http://a";evil', "ftp://x", "http://a b"):
        r = subprocess.run([str(script), bad], capture_output=True, text=True)
        assert r.returncode != 0 and "PUBLIC_URL" in r.stderr, bad


# ---- the site holds only the site ------------------------------------------------------

def test_no_bench_files_in_the_site():
    assert not (REPO / "www" / "static-baseline.txt").exists()
    assert (REPO / "tests" / "bench" / "static-baseline.txt").is_file()


def test_unknown_page_is_the_styled_404_page(clean):
    r = requests.get(clean.url("/no/such/page"), timeout=10)
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("text/html")
    assert "Page not found" in r.text and "/assets/site.css" in r.text


# ---- make help, make run, make admin ------------------------------------------------------

def variant():
    """make's VARIANT=asan when the suite runs against the sanitizer build (make test-asan)."""
    bin_dir = Path(os.environ.get("FAROUT_BIN_DIR") or REPO).resolve()
    return ["VARIANT=asan"] if bin_dir == (REPO / "build" / "asan").resolve() else []


def make(*args, env=None, **kwargs):
    return subprocess.run(["make", "--no-print-directory", "-C", str(REPO), *variant(), *args],
                          env=env, capture_output=True, text=True, timeout=300, **kwargs)


def test_make_help_lists_the_targets():
    r = make("help")
    assert r.returncode == 0, r.stderr
    for target in ("make run", "make test", "make admin", "make help", "make bench"):
        assert target in r.stdout


def _tree(pid):
    """pid and every live descendant."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        if pid_alive(p):
            found.append(p)
            todo += children_of(p)
    return found


def test_make_run_with_the_example_env_serves_one_url_and_stops_on_sigterm(tmp_path):
    """`cp .env.example .env && make run`: the compose database URLs (host `db`)
    and the placeholder secret do not get in the way; the one printed URL works;
    SIGTERM to make stops everything it started."""
    port = free_port()
    var = Path(tempfile.mkdtemp(prefix="farout-run-", dir=os.environ.get("TMPDIR", "/tmp")))
    var.chmod(0o755)
    env_file = (REPO / ".env.example").read_text().replace("localhost:8080", f"localhost:{port}")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_URL", "AUTH_DATABASE_URL", "PUBLIC_URL", "JWT_", "DISCORD_"))}
    env.update({"FAROUT_VAR_DIR": str(var), "FAROUT_ENV_FILE": str(tmp_path / "env"),
                "FAROUT_WORKERS": "1"})
    (tmp_path / "env").write_text(env_file)
    out = open(tmp_path / "make-run.log", "w+")
    proc = subprocess.Popen(["make", "--no-print-directory", "-C", str(REPO), *variant(), "run"],
                            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    started = []
    try:
        def banner():
            out.flush()
            text = (tmp_path / "make-run.log").read_text()
            return "Farout auth is running" in text or proc.poll() is not None
        assert wait_until(banner, 120, 0.2), "no banner"
        started = _tree(proc.pid)
        log = (tmp_path / "make-run.log").read_text()
        assert proc.poll() is None, log
        urls = set(re.findall(r"https?://[^\s/)]+", log.split("Farout auth is running")[1]))
        assert urls == {f"http://localhost:{port}"}, log
        # The printed URL works, and the old default address redirects to it.
        assert requests.get(f"http://localhost:{port}/api/health", timeout=10).json()["status"] == "ok"
        r = requests.get(f"http://127.0.0.1:{port}/login", allow_redirects=False, timeout=10)
        assert r.status_code == 301 and r.headers["Location"] == f"http://localhost:{port}/login"
        # A Discord sign-in starts at PUBLIC_URL's callback.
        r = requests.get(f"http://localhost:{port}/api/auth/discord/login", allow_redirects=False,
                         timeout=10)
        assert r.status_code == 302
        assert f"redirect_uri=http%3A%2F%2Flocalhost%3A{port}%2Fapi%2Fauth%2Fdiscord%2Fcallback" \
            in r.headers["Location"]
        # make admin reaches the same cluster.
        admin = make("admin", "ARGS=user list", env=env)
        assert admin.returncode == 0 and "admin" in admin.stdout, admin.stderr

        assert len(started) >= 8, started  # make, run.sh, 4 programs, nginx, fake Discord, ...
        # PostgreSQL is daemonized by pg_ctl (not in the tree): followed by its pid.
        pg_pid = int((var / "pg" / "data" / "postmaster.pid").read_text().split()[0])
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(60)
        assert wait_until(lambda: not any(pid_alive(p) for p in started) and not pid_alive(pg_pid), 30), \
            [p for p in started if pid_alive(p)]
        assert "run: stopped" in (tmp_path / "make-run.log").read_text()
    finally:
        # Whatever a failure left running goes, by pid (the programs run in sessions of their own).
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
        for pid in started:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        subprocess.run([str(REPO / "conf/dev/pg-cluster.sh"), "stop", str(var / "pg")],
                       capture_output=True)
        subprocess.run(["rm", "-rf", str(var)])
        out.close()
