"""Metrics (API.md "Metrics"): GET /metrics/<program> in Prometheus text format
0.0.4, summed over the workers through memory they share with their parent."""

import http.client
import math
import os
import re
import signal
import subprocess
import threading

import pytest

from harness import PROGRAMS, wait_until
from helpers import PASSWORD, get, insert_user, login_response

# ---- a small parser of the text format (0.0.4) ------------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)?\}})? (\S+)(?: (-?\d+))?$")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"')
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse(text):
    """{(name, frozenset(labels.items())): value}, checking the format as it goes:
    every line a comment or a well-formed sample, each family's TYPE given once
    and before its samples, no sample twice, histograms cumulative with +Inf = count."""
    assert text.endswith("\n"), "the exposition ends with a line feed"
    samples, types = {}, {}
    for line in text.split("\n")[:-1]:
        assert line, "no blank lines"
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] == "TYPE":
                assert parts[2] not in types, f"TYPE twice: {line}"
                assert parts[3] in TYPES, line
                assert not any(k[0].startswith(parts[2]) for k in samples), \
                    f"TYPE after samples: {line}"
                types[parts[2]] = parts[3]
            elif len(parts) >= 3 and parts[1] == "HELP":
                assert re.fullmatch(NAME, parts[2]), line
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        pairs = LABEL_RE.findall(labels)
        assert len({k for k, _ in pairs}) == len(pairs), f"label twice: {line}"
        try:
            v = float(value)  # also accepts +Inf, NaN as the format does
        except ValueError:
            raise AssertionError(f"not a number: {line!r}") from None
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in types or family in types, f"sample without TYPE: {line}"
        key = (name, frozenset(pairs))
        assert key not in samples, f"sample twice: {line}"
        samples[key] = v
    for family, kind in types.items():
        if kind != "histogram":
            continue
        series = {}
        for (name, labels), v in samples.items():
            if name == family + "_bucket":
                d = dict(labels)
                le = d.pop("le")
                series.setdefault(frozenset(d.items()), []).append(
                    (math.inf if le == "+Inf" else float(le), v))
        for labels, buckets in series.items():
            buckets.sort()
            counts = [v for _, v in buckets]
            assert counts == sorted(counts), f"{family} buckets not cumulative: {buckets}"
            assert buckets[-1][0] == math.inf
            assert samples[(family + "_count", labels)] == counts[-1]
            assert (family + "_sum", labels) in samples
    return samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(stack, program):
    r = get(stack, f"/metrics/{program}")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
    return parse(r.text)


def buckets_of(samples, route):
    return sorted(float(dict(k[1])["le"]) if dict(k[1])["le"] != "+Inf" else math.inf
                  for k in samples
                  if k[0] == "farout_request_duration_seconds_bucket" and
                  dict(k[1])["route"] == route)


# ---- the tests -----------------------------------------------------------------------

def test_parser_refuses_malformed_text():
    for bad in ("farout_x 1\n", "# TYPE x counter\nx{a=\"1\"} one\n", "# TYPE x counter\nx 1",
                '# TYPE x counter\nx{a="1",a="2"} 1\n', "# TYPE x counter\nx 1\nx 1\n",
                "# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"+Inf\"} 3\n"
                "h_count 3\nh_sum 1\n"):
        with pytest.raises(AssertionError):
            parse(bad)


@pytest.mark.parametrize("program", PROGRAMS)
def test_every_program_parses(stack, program):
    samples = scrape(stack, program)
    assert value(samples, "farout_workers") == 2
    assert ("farout_worker_restarts_total", frozenset()) in samples
    for db in ("auth", "app"):
        assert ("farout_db_unavailable_total", frozenset({("db", db)})) in samples
    has_logins = any(k[0] == "farout_logins_total" for k in samples)
    assert has_logins == (program in ("login", "oauth-callback"))


def served_by(stack, program, since):
    """The worker pids that refused a token after byte offset since (requests
    are not logged one by one; a refused token is an event line)."""
    text = stack.log_path(program).read_text(errors="replace")[since:]
    return set(re.findall(rf"{re.escape(program)}\[(\d+)\] info .*token refused", text))


def test_counter_grows_by_n_summed_over_workers(stack):
    route = "GET /api/auth/me"
    before = scrape(stack, "me")
    offset = len(stack.log_path("me").read_text(errors="replace"))
    n, threads = 60, []

    def hit(k):
        for _ in range(k):
            assert get(stack, "/api/auth/me", "not.a.token").status_code == 401

    for _ in range(6):
        threads.append(threading.Thread(target=hit, args=(n // 6,)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = scrape(stack, "me")
    grew = value(after, "farout_requests_total", route=route, status="401") - \
        value(before, "farout_requests_total", route=route, status="401")
    assert grew == n
    count = "farout_request_duration_seconds_count"
    assert value(after, count, route=route) - value(before, count, route=route) == n
    # Both workers answered some of them: the one total is the sum over both.
    wait_until(lambda: len(served_by(stack, "me", offset)) >= 2, 5)
    assert len(served_by(stack, "me", offset)) == 2
    bounds = buckets_of(after, route)
    assert bounds[0] == 0.0005 and bounds[-2] == 5 and bounds[-1] == math.inf


def test_a_killed_worker_keeps_the_totals(stack):
    route = "GET /api/auth/me"
    for _ in range(10):
        get(stack, "/api/auth/me")
    before = scrape(stack, "me")
    parent, workers = stack.program_pids("me")
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)
    assert wait_until(lambda: len(stack.program_pids("me")[1]) == 2 and
                      workers[0] not in stack.program_pids("me")[1], 10)
    for _ in range(6):  # the new worker gets some of these
        assert get(stack, "/api/auth/me").status_code == 401
    after = scrape(stack, "me")
    assert value(after, "farout_requests_total", route=route, status="401") == \
        value(before, "farout_requests_total", route=route, status="401") + 6
    assert value(after, "farout_worker_restarts_total") == \
        value(before, "farout_worker_restarts_total") + 1
    assert value(after, "farout_workers") == 2


def test_sign_ins_by_method_and_outcome(clean):
    insert_user(clean, "vic")
    before = scrape(clean, "login")
    login_response(clean, "vic")
    login_response(clean, "vic", "wrong-password-1")
    login_response(clean, "vic", "wrong-password-1")
    after = scrape(clean, "login")
    for outcome, n in (("ok", 1), ("invalid_credentials", 2)):
        key = dict(method="password", outcome=outcome)
        assert value(after, "farout_logins_total", **key) - \
            value(before, "farout_logins_total", **key) == n
    assert value(after, "farout_requests_total", route="POST /api/auth/login", status="401") - \
        value(before, "farout_requests_total", route="POST /api/auth/login", status="401") == 2
    r = get(clean, "/api/auth/discord/callback?state=x", headers={"Accept": "application/json"})
    assert r.status_code == 400
    assert value(scrape(clean, "oauth-callback"), "farout_logins_total", method="discord",
                 outcome="invalid_state") >= 1


def test_database_unavailability_is_counted(clean):
    from helpers import settle
    before = scrape(clean, "me")
    clean.stop_postgres()
    try:
        assert get(clean, "/api/health").status_code == 503
    finally:
        clean.start_postgres()
    settle(clean)
    after = scrape(clean, "me")
    assert value(after, "farout_db_unavailable_total", db="auth") > \
        value(before, "farout_db_unavailable_total", db="auth")


def get_from(stack, source, path):
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10,
                                      source_address=(source, 0))
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type"), r.read().decode()
    finally:
        conn.close()


def reload_nginx(stack, source, path, status):
    """nginx -s reload, then until every one of 20 fresh connections from source gets
    status for path: the old nginx workers keep answering for a moment after a reload."""
    ngdir = stack.dir / "nginx"
    subprocess.run(["nginx", "-p", str(ngdir), "-c", str(ngdir / "nginx.conf"),
                    "-e", str(ngdir / "error.log"), "-s", "reload"], check=True)
    assert wait_until(lambda: all(get_from(stack, source, path)[0] == status for _ in range(20)),
                      15), f"{path} from {source} did not settle on {status}"


@pytest.mark.parametrize("where", ["conf/nginx/local", "local"])
def test_other_addresses_are_refused_unless_allowed(stack, where):
    """The allow-list file as API.md names it (conf/nginx/local/, through the conf/
    folder beside nginx.conf) and beside the deployment's other local/ files."""
    for program in [*PROGRAMS, "nonexistent"]:
        status, ctype, body = get_from(stack, "127.0.0.2", f"/metrics/{program}")
        assert status == 403, (program, status, body)
        assert ctype.startswith("application/json") and '"error":"forbidden"' in body
    folder = stack.dir / "nginx" / where
    folder.mkdir(exist_ok=True)
    allow = folder / "metrics_allow.conf"
    assert not allow.exists()
    allow.write_text("allow 127.0.0.2;\n")
    try:
        reload_nginx(stack, "127.0.0.2", "/metrics/me", 200)
        assert get_from(stack, "127.0.0.3", "/metrics/me")[0] == 403
    finally:
        allow.unlink()
        reload_nginx(stack, "127.0.0.2", "/metrics/me", 403)
    assert get(stack, "/metrics/nonexistent").status_code == 404


def test_no_endpoint_in_cgi_mode(stack):
    result = stack.run_program("me", extra_env={
        "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET", "DOCUMENT_URI": "/metrics/me",
        "SCRIPT_NAME": "/metrics/me", "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1"})
    assert result.returncode == 0
    assert result.stdout.startswith(b"Status: 404"), result.stdout[:200]


def test_hot_routes_write_nothing(clean):
    """verify and me count in memory only: no "last seen" or any other row changes."""
    insert_user(clean, "wes")
    token = login_response(clean, "wes", PASSWORD).json()["access_token"]
    tables = ("users", "sessions", "login_attempts", "audit_events", "oauth_states")

    def rows():
        return {t: clean.sql("auth", f"SELECT row_to_json(x)::text FROM {t} x ORDER BY 1")
                for t in tables}

    before = rows()
    for _ in range(10):
        assert get(clean, "/api/auth/me", token).status_code == 200
        assert get(clean, "/api/auth/verify", token).status_code in (200, 204)
    assert rows() == before
