"""Issue 9's levers that change behaviour, not just speed.

The database layer's prepared statements: each statement is
prepared once per connection and only executed after that, prepared again
after a reconnect, and never named with DB_PREPARED_STATEMENTS=off (what
transaction-mode PgBouncer needs).

PostgreSQL itself is the witness: with log_min_duration_statement = 0 on
farout_auth it logs every protocol step, "parse farout_…" for a named
statement being prepared, "execute farout_…" for a run of it, and
"execute <unnamed>" for a PQexecParams.

The accept loop wakes one idle worker per connection (EPOLLEXCLUSIVE), seen
in the workers' voluntary context switches.

--pin-workers gives each worker slot one CPU, round robin over the CPUs the
program was started with, and a replacement worker its slot's CPU, seen in
/proc/PID/status.
"""

import os
import re
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path

import psycopg2
import pytest

import fcgi_client
from harness import free_port, wait_until
from helpers import get, insert_user, login, settle

VERIFY_SQL = r"SELECT u\.id, u\.discord_id, u\.username.* FROM sessions s JOIN users u"


def superuser(stack):
    conn = psycopg2.connect(host=str(stack.dir / "pg" / "sock"), port=stack.pg_port,
                            user="postgres", dbname="postgres")
    conn.autocommit = True
    return conn


class StatementLog:
    def __init__(self, stack):
        self.stack = stack
        self.path = stack.dir / "pg" / "postgres.log"

    def mark(self):
        return self.path.stat().st_size

    def since(self, mark):
        with open(self.path, "rb") as f:
            f.seek(mark)
            return f.read().decode(errors="replace")

    def steps(self, mark, step, name=r"farout_\d+_\d+"):
        """The statement names of the parse/execute lines of the verify query since mark."""
        return re.findall(rf"\b{step} ({name}): {VERIFY_SQL}", self.since(mark))


@pytest.fixture
def statement_log(clean):
    su = superuser(clean)
    with su.cursor() as cur:
        cur.execute("ALTER DATABASE farout_auth SET log_min_duration_statement = 0")
    # New sessions take the setting: restart me so that its workers reconnect.
    clean.restart_program("me")
    try:
        yield StatementLog(clean)
    finally:
        with su.cursor() as cur:
            cur.execute("ALTER DATABASE farout_auth RESET log_min_duration_statement")
        su.close()
        clean.restart_program("me")


def verify_n_times(stack, token, n):
    for _ in range(n):
        r = get(stack, "/api/auth/verify", token)
        assert r.status_code == 204, r.text


def test_each_statement_is_prepared_once_per_connection(statement_log):
    stack = statement_log.stack
    insert_user(stack, "pat")
    token = login(stack, "pat")
    mark = statement_log.mark()
    verify_n_times(stack, token, 12)
    parsed = statement_log.steps(mark, "parse")
    executed = statement_log.steps(mark, "execute")
    assert len(executed) == 12, statement_log.since(mark)[-2000:]
    # Once per worker that served (me runs 2): never once per request.
    assert 1 <= len(parsed) <= 2 and len(set(parsed)) == len(parsed)
    assert set(executed) == set(parsed)
    assert not statement_log.steps(mark, "execute", "<unnamed>")


def test_statements_are_prepared_again_after_a_reconnect(statement_log):
    stack = statement_log.stack
    insert_user(stack, "pat")
    token = login(stack, "pat")
    verify_n_times(stack, token, 4)
    su = superuser(stack)
    with su.cursor() as cur:
        # The timeout waits until each backend has exited, so that its socket is
        # closed before the next request (without it a request could still
        # meet a backend that is dying: a 503, which is allowed, but not this test).
        cur.execute("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                    " WHERE datname = 'farout_auth' AND pid <> pg_backend_pid()")
    su.close()
    mark = statement_log.mark()
    # Every worker notices its connection is gone before sending, reconnects
    # and prepares on the new one: no request fails.
    verify_n_times(stack, token, 8)
    parsed = statement_log.steps(mark, "parse")
    executed = statement_log.steps(mark, "execute")
    assert len(executed) == 8 and 1 <= len(parsed) <= 2
    assert set(executed) == set(parsed)
    settle(stack)


def test_prepared_statements_off_runs_every_statement_unnamed(statement_log):
    stack = statement_log.stack
    stack.restart_program("me", {"DB_PREPARED_STATEMENTS": "off"})
    insert_user(stack, "pat")
    token = login(stack, "pat")
    mark = statement_log.mark()
    verify_n_times(stack, token, 5)
    assert len(statement_log.steps(mark, "execute", "<unnamed>")) == 5
    assert "farout_" not in statement_log.since(mark)


def test_prepared_statements_setting_is_checked(stack):
    r = stack.run_program("me", extra_env={"DB_PREPARED_STATEMENTS": "sometimes"})
    assert r.returncode != 0
    assert b"DB_PREPARED_STATEMENTS" in r.stderr and b"on or off" in r.stderr


# ---- statements the server lost (SQLSTATE 26000) ----------------------------------------------

@pytest.fixture
def pgbouncer(clean):
    """PgBouncer 1.18 in transaction mode with one server connection per
    database, in front of the stack's cluster, on a unix socket. It refuses to
    run as root, so as root it runs as postgres."""
    folder = clean.dir / "pgbouncer"
    folder.mkdir(mode=0o755)
    port = free_port()
    (folder / "users.txt").write_text('"farout" ""\n"admin" ""\n')
    sock = clean.dir / "pg" / "sock"
    (folder / "pgbouncer.ini").write_text(f"""
[databases]
farout_auth = host={sock} port={clean.pg_port} dbname=farout_auth user=farout
farout = host={sock} port={clean.pg_port} dbname=farout user=farout
[pgbouncer]
listen_addr =
listen_port = {port}
unix_socket_dir = {folder}
auth_type = trust
auth_file = {folder}/users.txt
admin_users = admin
pool_mode = transaction
default_pool_size = 1
logfile = {folder}/pgbouncer.log
pidfile = {folder}/pgbouncer.pid
""")
    cmd = ["pgbouncer", str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    assert wait_until(lambda: (folder / f".s.PGSQL.{port}").exists(), 10), "pgbouncer did not start"
    url = f"postgresql:///%s?host={folder}&port={port}&user=farout"
    try:
        yield clean, {"AUTH_DATABASE_URL": url % "farout_auth", "DATABASE_URL": url % "farout"}, \
            lambda: psycopg2.connect(host=str(folder), port=port, user="admin", dbname="pgbouncer")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
        clean.restart_program("me")


def test_statements_lost_by_the_server_are_prepared_again(pgbouncer):
    # Prepared statements on behind transaction-mode PgBouncer is the
    # misconfiguration DB_PREPARED_STATEMENTS=off exists for; with a single
    # server connection it is a reliable way to make the server forget them:
    # RECONNECT closes that connection, and the next execute meets SQLSTATE
    # 26000. The call is run again unnamed, the table emptied, and the
    # statement prepared again on the next request.
    stack, env, admin_console = pgbouncer
    insert_user(stack, "pat")
    token = login(stack, "pat")
    stack.restart_program("me", env)
    verify_n_times(stack, token, 6)
    console = admin_console()
    console.autocommit = True
    with console.cursor() as cur:
        cur.execute("RECONNECT")
    console.close()
    verify_n_times(stack, token, 6)
    assert "the server lost our prepared statements" in stack.log_text("me")


# ---- one worker woken per connection --------------------------------------------------------

def voluntary_switches(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    raise AssertionError(f"no voluntary_ctxt_switches for {pid}")


def test_a_connection_wakes_one_idle_worker_not_all(clean):
    # The thundering herd: with every idle worker waiting on the listening
    # socket, each new connection woke all of them and all but one went back
    # to sleep after an accept() that failed with EAGAIN. Each of those
    # wake-ups is a voluntary context switch of that worker, so with 6 idle
    # workers the herd costs about 6 switches per request, one-at-a-time
    # requests to a route that needs no database cost about 1-2 without it.
    clean.workers["me"] = 6
    try:
        clean.restart_program("me")
        # The socket answers as soon as the first worker runs; let all six start.
        assert wait_until(lambda: len(clean.program_pids("me")[1]) == 6, 10)
        _, workers = clean.program_pids("me")
        params = {"REQUEST_METHOD": "GET", "DOCUMENT_URI": "/api/no-such-route",
                  "REQUEST_URI": "/api/no-such-route", "QUERY_STRING": "",
                  "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1"}
        before = sum(voluntary_switches(pid) for pid in workers)
        n = 60
        for _ in range(n):
            headers, _ = fcgi_client.request(clean.socket_path("me"), params)
            assert headers.status == 404
        after = sum(voluntary_switches(pid) for pid in workers)
        assert (after - before) / n < 3.5, f"{(after - before) / n:.1f} wake-ups per request"
    finally:
        del clean.workers["me"]
        clean.restart_program("me")


# ---- --pin-workers ---------------------------------------------------------------------------

def allowed_cpus(pid):
    """The CPUs a process may run on (Cpus_allowed_list: "0-1,3")."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Cpus_allowed_list:"):
            cpus = []
            for part in line.split(":", 1)[1].strip().split(","):
                first, _, last = part.partition("-")
                cpus.extend(range(int(first), int(last or first) + 1))
            return cpus
    raise AssertionError(f"no Cpus_allowed_list for {pid}")


def pinned_program(stack, name, workers, cpus):
    """Restarts NAME with --pin-workers and `workers` workers, started from
    a process allowed only `cpus`; returns (parent, workers)."""
    own = os.sched_getaffinity(0)
    stack.workers[name] = workers
    stack.pin_workers = True
    os.sched_setaffinity(0, cpus)
    try:
        stack.restart_program(name)
    finally:
        os.sched_setaffinity(0, own)
    return stack.program_pids(name)[0], pinned_workers(stack, name, workers)


def pinned_workers(stack, name, count, gone=None):
    """NAME's workers once there are `count` of them, `gone` not among them,
    and each has pinned itself (a new worker pins itself right after the
    fork, so for a moment it still has its parent's CPUs). One listing per
    check: two could see the dead worker leave and its replacement not yet
    come."""
    seen = []

    def settled():
        pids = stack.program_pids(name)[1]
        try:
            ok = (len(pids) == count and gone not in pids
                  and all(len(allowed_cpus(pid)) == 1 for pid in pids))
        except OSError:  # a worker ended between the listing and the read
            return False
        seen[:] = pids
        return ok

    assert wait_until(settled, 10), f"{name} workers: {seen}"
    return seen


@pytest.fixture
def unpinned_afterwards(clean):
    yield clean
    clean.pin_workers = False
    clean.workers.pop("me", None)
    clean.restart_program("me")


def test_pinned_workers_take_the_cpus_round_robin_and_a_replacement_its_slots(unpinned_afterwards):
    stack = unpinned_afterwards
    cpus = sorted(os.sched_getaffinity(0))
    expected = Counter(cpus[i % len(cpus)] for i in range(3))
    parent, workers = pinned_program(stack, "me", 3, cpus)

    assert allowed_cpus(parent) == cpus  # the parent itself stays free to move
    pins = {pid: allowed_cpus(pid) for pid in workers}
    assert all(len(p) == 1 for p in pins.values()), pins
    assert Counter(p[0] for p in pins.values()) == expected, pins

    # The worker alone on its CPU (with 2 CPUs: the one on the second) dies;
    # its replacement goes to the same CPU, so the spread stays the same.
    lonely = min(pins, key=lambda pid: expected[pins[pid][0]])
    os.kill(lonely, signal.SIGKILL)
    workers = pinned_workers(stack, "me", 3, gone=lonely)
    assert Counter(allowed_cpus(pid)[0] for pid in workers) == expected
    assert all(len(allowed_cpus(pid)) == 1 for pid in workers)
    for _ in range(6):
        assert get(stack, "/api/health").status_code == 200


def test_pinned_workers_stay_within_the_cpus_they_were_started_with(unpinned_afterwards):
    stack = unpinned_afterwards
    last = max(os.sched_getaffinity(0))
    parent, workers = pinned_program(stack, "me", 2, {last})
    assert allowed_cpus(parent) == [last]
    assert [allowed_cpus(pid) for pid in workers] == [[last], [last]]
    assert get(stack, "/api/health").status_code == 200


def test_pin_workers_without_a_pool_is_ignored_with_a_warning(clean):
    result = clean.run_program("me", args=("--pin-workers",), extra_env={
        "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET", "DOCUMENT_URI": "/api/health",
        "SCRIPT_NAME": "/api/health", "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"Status: 200"), result.stdout[:200]
    assert b"--pin-workers applies to a pool of workers" in result.stderr, result.stderr
