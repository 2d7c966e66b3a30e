"""The integration test stack: real PostgreSQL, real programs, real nginx.

Stack().start() builds, in a fresh temporary folder:
  pg/        a private PostgreSQL cluster (conf/dev/pg-cluster.sh, PG_FAST=1)
  run/       the four programs' FastCGI sockets (NAME.sock)
  log/       each program's stderr (NAME.log)
  nginx/     nginx's folder from conf/nginx/mklocal.sh, on a free 127.0.0.1 port
and runs the fake Discord in this process. Binaries come from
$FAROUT_BIN_DIR (default: the repository), so the same tests run against the
sanitizer build (build/asan). stop() ends everything; it also runs at exit.

The other ways an operator runs the programs (tests/integration/test_deploy.py),
chosen by Stack's arguments; the default is the one above:
  mode="cgi"         one fcgiwrap at run/fcgiwrap.sock runs the programs as CGI
                     (conf/nginx/fcgiwrap/), its stderr sent to nginx (-f)
  mode="spawn-fcgi"  each program on a socket spawn-fcgi made (fd-0 mode), its
                     stderr /dev/null as spawn-fcgi leaves it, in a private
                     mount namespace whose /dev/log is log/syslog.sock, read
                     into log/syslog.log (so log_text() reads syslog lines)
  hosts=2            a second set of the programs on run1/ (one nginx upstream
                     per program with both servers); host=1 in start_program()
  pgbouncer=True     the programs reach PostgreSQL through PgBouncer in
                     transaction pooling mode (pgb/), DB_PREPARED_STATEMENTS=off
"""

import atexit
import base64
import os
import threading
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2
import requests

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from fake_discord import FakeDiscord  # noqa: E402  (found through the path set just above)

PROGRAMS = ("login", "me", "oauth-callback", "members")
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "Admin123!"
# Discord application ids are snowflakes; the programs refuse anything else.
FAKE_CLIENT_ID = "1100000000000000001"
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
START_TIMEOUT = 20.0


class StackError(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_sanitized(binary):
    """True for a binary built with -fsanitize=address (it carries the runtime's entry point)."""
    try:
        return b"__asan_init" in Path(binary).read_bytes()
    except OSError:
        return False


def sanitizer_lines(text):
    return [line for line in text.splitlines() if any(m in line for m in SANITIZER_MARKERS)]


def _proc_stat(pid):
    """(state, ppid, pgrp) of a process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[2])


def _live_processes():
    """(pid, ppid, pgrp) of every process that is not a zombie."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _proc_stat(int(entry))
            if st is not None and st[0] != "Z":
                yield int(entry), st[1], st[2]


def children_of(pid):
    """Live child pids of pid."""
    return sorted(p for p, ppid, _ in _live_processes() if ppid == pid)


def group_members(pgid):
    """Live pids whose process group is pgid."""
    return sorted(p for p, _, pgrp in _live_processes() if pgrp == pgid)


def pid_alive(pid):
    st = _proc_stat(pid)
    return st is not None and st[0] != "Z"


def _kill_group(pid, sig):
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def wait_until(predicate, timeout, interval=0.05):
    """predicate()'s first true value, or its last value once timeout seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def _can_connect(path):
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect(str(path))
            return True
        except OSError:
            return False


class _SyslogCollector:
    """A /dev/log stand-in: a unix datagram socket whose messages are appended to a file."""

    def __init__(self, sock_path, out_path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(sock_path))
        os.chmod(sock_path, 0o666)
        self.out_path = out_path
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        with open(self.out_path, "ab", buffering=0) as out:
            while True:
                try:
                    data = self.sock.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                out.write(data.rstrip(b"\n") + b"\n")

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(2)


class Stack:
    def __init__(self, bin_dir=None, www_root=None, mode="listen", hosts=1, pgbouncer=False):
        if mode not in ("listen", "cgi", "spawn-fcgi"):
            raise ValueError(f"unknown mode {mode!r}")
        self.mode = mode
        self.hosts = hosts
        self.pgbouncer = pgbouncer
        self.pgb_port = None
        self._pgb = None
        self._syslog = None
        self.repo = REPO
        # The site nginx serves (the bench adds its baseline file to a copy).
        self.www_root = Path(www_root or REPO / "www")
        self.bin_dir = Path(bin_dir or os.environ.get("FAROUT_BIN_DIR") or REPO).resolve()
        self.admin_bin = self.bin_dir / "db" / "farout-admin"
        self.asan = is_sanitized(self.program_path("me"))
        self.dir = None
        self.port = None
        self.pg_port = None
        self.fake = None
        self.env = {}
        self.procs = {}
        self.nginx = None
        self.sanitizer_reports = []
        self.findings = []
        self.first_migrate_output = ""
        self.kept_logs = False
        self._conns = {}
        self._snapshot = None
        self._stopped = False
        self._pg_running = False
        # What the programs (not farout-admin, not the tests) get on top of env.
        self.program_overrides = {}
        self.workers = {}  # per program, over FAROUT_WORKERS (make bench sets make run's defaults)
        self.pin_workers = False  # --pin-workers (make bench: as make run does)

    # -- paths -------------------------------------------------------------

    def program_path(self, name):
        return self.bin_dir / "cgi-bin" / name

    def run_dir(self, host=0):
        return self.dir / ("run" if host == 0 else f"run{host}")

    def socket_path(self, name, host=0):
        return self.run_dir(host) / f"{name}.sock"

    def log_path(self, name):
        return self.dir / "log" / f"{name}.log"

    @staticmethod
    def proc_key(name, host=0):
        """The key of a program in self.procs: its name for the first host, NAME@HOST after."""
        return name if host == 0 else f"{name}@{host}"

    def _servers(self):
        """(name, host) of every process set the stack runs: the programs, or fcgiwrap."""
        names = ("fcgiwrap",) if self.mode == "cgi" else PROGRAMS
        return [(n, h) for h in range(self.hosts) for n in names]

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def public_url(self):
        return f"http://127.0.0.1:{self.port}"

    # -- lifecycle -----------------------------------------------------------

    def start(self):
        atexit.register(self.stop)
        for binary in [self.admin_bin, *map(self.program_path, PROGRAMS)]:
            if not os.access(binary, os.X_OK):
                raise StackError(f"missing {binary} (run make, or set FAROUT_BIN_DIR)")
        self.dir = Path(tempfile.mkdtemp(prefix="farout-it-"))
        # PostgreSQL's part is handed to the postgres user when we are root;
        # it must be able to reach it.
        self.dir.chmod(0o755)
        for sub in ("log", *(self.run_dir(h).name for h in range(self.hosts))):
            (self.dir / sub).mkdir()
        self.port = free_port()
        self.pg_port = free_port()

        self.start_postgres()
        self.env = self._base_env()
        self.env.update(self._pg_urls())
        if self.mode == "spawn-fcgi":
            self._syslog = _SyslogCollector(self.dir / "log" / "syslog.sock",
                                            self.dir / "log" / "syslog.log")

        self.fake = FakeDiscord(
            client_id=FAKE_CLIENT_ID,
            client_secret="fake-discord-secret-" + secrets.token_hex(16),
            redirect_uris=[self.public_url + "/api/auth/discord/callback"],
        ).start()
        self.env.update({
            "PUBLIC_URL": self.public_url,
            "JWT_SECRET": secrets.token_urlsafe(48),
            "JWT_ISSUER": "farout",
            "BCRYPT_COST": "4",
            "DISCORD_CLIENT_ID": self.fake.client_id,
            "DISCORD_CLIENT_SECRET": self.fake.client_secret,
            "DISCORD_REDIRECT_URI": self.public_url + "/api/auth/discord/callback",
            "DISCORD_API_BASE": self.fake.api_base,
            "DISCORD_AUTHORIZE_URL": self.fake.authorize_url,
            "DISCORD_TIMEOUT_MS": "2000",
            # Two-factor sign-in (issue 15): 32 random bytes, base64.
            "TOTP_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        })

        migrated = self.admin("migrate", "up")
        self.first_migrate_output = migrated.stdout + migrated.stderr
        if migrated.returncode != 0:
            raise StackError(f"farout-admin migrate up failed:\n{migrated.stdout}{migrated.stderr}")
        self._snapshot = self._take_snapshot()
        if self.pgbouncer:
            self.start_pgbouncer()

        for name, host in self._servers():
            self.start_program(name, wait=False, host=host)
        for name, host in self._servers():
            self._wait_program(name, host)
        self._start_nginx()
        return self

    def _base_env(self):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        # For binaries copied away from the source tree's db/migrations.
        if os.environ.get("FAROUT_MIGRATIONS_DIR"):
            env["FAROUT_MIGRATIONS_DIR"] = os.environ["FAROUT_MIGRATIONS_DIR"]
        if self.asan:
            env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=1"
            env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
            if self.mode != "listen":
                # Their stderr is /dev/null or nginx's: reports go to log/sanitizer.PID.
                for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
                    env[var] += f":log_path={self.dir}/log/sanitizer"
        return env

    def stop(self, keep_logs=False):
        """Ends everything this stack started; safe to call twice.

        Returns the sanitizer findings of the whole run (read before the
        logs go); with findings or keep_logs the logs stay for reading.
        """
        if self._stopped:
            return self.findings
        self._stopped = True
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()
        if self.nginx is not None:
            self._end(self.nginx, signal.SIGQUIT, 10)
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name in list(self.procs):
            self._end(self.procs.pop(name), None, 15)
        if self.fake is not None:
            self.fake.stop()
        if self._pgb is not None:
            self._end(self._pgb, signal.SIGINT, 10)
            self._pgb = None
        if self._syslog is not None:
            self._syslog.close()
        if self._pg_running:
            self.stop_postgres()
        self.findings = self.sanitizer_findings()
        if self.dir is not None:
            # What is worth reading after a failed run is the logs, not the
            # (large) database files.
            shutil.rmtree(self.dir / "pg" / "data", ignore_errors=True)
            self.kept_logs = bool(keep_logs or self.findings)
            if not self.kept_logs:
                shutil.rmtree(self.dir, ignore_errors=True)
        return self.findings

    @staticmethod
    def _end(proc, sig, timeout):
        """Signals (unless sig is None) a child that leads its own process
        group, waits up to timeout, then kills whatever is left of the group."""
        if proc.poll() is None:
            if sig is not None:
                try:
                    proc.send_signal(sig)
                except ProcessLookupError:
                    pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        _kill_group(proc.pid, signal.SIGKILL)
        proc.wait()
        return proc.returncode

    # -- PostgreSQL ------------------------------------------------------------

    def _pg_cluster(self, *args):
        env = dict(os.environ, PG_FAST="1")
        result = subprocess.run([str(self.repo / "conf/dev/pg-cluster.sh"), *args],
                                env=env, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise StackError(f"pg-cluster.sh {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def _pg_urls(self):
        urls = {}
        for line in self._pg_cluster("env", str(self.dir / "pg")).splitlines():
            m = re.fullmatch(r"(DATABASE_URL|AUTH_DATABASE_URL)='?([^']*)'?", line.strip())
            if m:
                urls[m.group(1)] = m.group(2)
        if set(urls) != {"DATABASE_URL", "AUTH_DATABASE_URL"}:
            raise StackError("pg-cluster.sh env did not print both URLs")
        return urls

    def start_postgres(self):
        self._pg_cluster("start", str(self.dir / "pg"), str(self.pg_port))
        self._pg_running = True

    def stop_postgres(self):
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()
        self._pg_cluster("stop", str(self.dir / "pg"))
        self._pg_running = False

    def _dsn(self, db):
        return {"auth": self.env["AUTH_DATABASE_URL"], "app": self.env["DATABASE_URL"]}[db]

    def _conn(self, db):
        conn = self._conns.get(db)
        if conn is None or conn.closed:
            conn = psycopg2.connect(self._dsn(db))
            conn.autocommit = True
            self._conns[db] = conn
        return conn

    def sql(self, db, query, params=()):
        """Runs one statement on "auth" (farout_auth) or "app" (farout); returns its rows."""
        for attempt in (1, 2):
            conn = self._conn(db)
            try:
                with conn.cursor() as cur:
                    cur.execute(query, params)
                    return cur.fetchall() if cur.description is not None else []
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                # Only a connection lost (PostgreSQL was restarted) is worth
                # a second try, on a new one; a failed statement is not.
                if attempt == 2 or not conn.closed:
                    raise
        return []

    # -- PgBouncer ---------------------------------------------------------------

    def start_pgbouncer(self):
        """PgBouncer in transaction pooling mode in front of both databases, on a
        unix socket in pgb/; the programs' URLs (not the tests' own) point at it."""
        pgb = self.dir / "pgb"
        pgb.mkdir()
        self.pgb_port = free_port()
        sock = self.dir / "pg" / "sock"
        (pgb / "userlist.txt").write_text('"farout" ""\n')
        (pgb / "pgbouncer.ini").write_text(f"""\
[databases]
farout = host={sock} port={self.pg_port} dbname=farout
farout_auth = host={sock} port={self.pg_port} dbname=farout_auth

[pgbouncer]
listen_addr =
listen_port = {self.pgb_port}
unix_socket_dir = {pgb}
auth_type = trust
auth_file = {pgb}/userlist.txt
pool_mode = transaction
max_client_conn = 500
default_pool_size = 4
; While PostgreSQL is down a query must fail soon (the programs answer 503),
; not wait for a server connection for the default 120 s.
query_wait_timeout = 3
server_login_retry = 1
logfile = {self.dir}/log/pgbouncer.log
pidfile = {pgb}/pgbouncer.pid
""")
        cmd = ["pgbouncer", str(pgb / "pgbouncer.ini")]
        if os.geteuid() == 0:
            # PgBouncer refuses to run as root.
            shutil.chown(pgb, "postgres")
            shutil.chown(self.dir / "log", "postgres")
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        self._pgb = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        ok = wait_until(lambda: self._pgb.poll() is not None
                        or (pgb / f".s.PGSQL.{self.pgb_port}").exists(), START_TIMEOUT)
        if self._pgb.poll() is not None or not ok:
            raise StackError("pgbouncer did not start:\n" + self.log_text("pgbouncer")[-2000:])
        for var, db in (("DATABASE_URL", "farout"), ("AUTH_DATABASE_URL", "farout_auth")):
            self.program_overrides[var] = (f"postgresql:///{db}?host={pgb}&port={self.pgb_port}"
                                           f"&user=farout")
        self.program_overrides["DB_PREPARED_STATEMENTS"] = "off"

    # -- fast reset between tests ------------------------------------------------

    def _tables(self, db):
        """Tables in an order safe to empty one by one: every table comes
        before the tables its foreign keys point to."""
        tables = [r[0] for r in self.sql(db, """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
               AND c.relname <> 'schema_migrations' ORDER BY 1""")]
        referenced = {}
        for child, parent in self.sql(db, """
                SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint
                 WHERE contype = 'f' AND conrelid <> confrelid"""):
            referenced.setdefault(parent.strip('"'), set()).add(child.strip('"'))
        ordered = []
        while len(ordered) < len(tables):
            ready = [t for t in tables if t not in ordered
                     and referenced.get(t, set()) <= set(ordered)]
            # A cycle of foreign keys: leave the rest to TRUNCATE ... CASCADE.
            ordered += ready or [t for t in tables if t not in ordered]
        return ordered

    def _take_snapshot(self):
        """The state right after `migrate up`: tables, their rows, sequences, migrations."""
        snap = {}
        for db in ("auth", "app"):
            tables = self._tables(db)
            snap[db] = {
                "migrations": self.sql(db, "SELECT version, name FROM schema_migrations ORDER BY 1"),
                "tables": tables,
                "rows": {t: [r[0] for r in self.sql(
                    db, f'SELECT row_to_json(t)::text FROM "{t}" t')] for t in tables},
                "sequences": [(s, *self.sql(db, f'SELECT last_value, is_called FROM "{s}"')[0])
                              for (s,) in self.sql(db, """
                                  SELECT c.relname FROM pg_class c
                                    JOIN pg_namespace n ON n.oid = c.relnamespace
                                   WHERE n.nspname = 'public' AND c.relkind = 'S'""")],
            }
        return snap

    def _schema_matches_snapshot(self):
        try:
            return all(
                self.sql(db, "SELECT version, name FROM schema_migrations ORDER BY 1")
                == self._snapshot[db]["migrations"]
                and self._tables(db) == self._snapshot[db]["tables"]
                for db in ("auth", "app"))
        except psycopg2.Error:
            return False

    def reset_db(self):
        """Back to the state right after `migrate up`.

        While the schema is the migrated one: DELETE every row (child tables
        first), re-insert the seeded ones and rewind the sequences, in one
        transaction per database — about 5 ms, where TRUNCATE takes ~50 ms
        and `migrate down --yes` + `migrate up` ~220 ms. Row triggers fire as
        for any delete; whatever they leave behind is truncated. A full
        down + up only when a test changed the migrations themselves.
        """
        if not self._schema_matches_snapshot():
            for args in (("migrate", "down", "--yes"), ("migrate", "up")):
                r = self.admin(*args)
                if r.returncode != 0:
                    raise StackError(f"farout-admin {' '.join(args)} failed:\n{r.stderr}")
            self._snapshot = self._take_snapshot()
            return
        for db in ("auth", "app"):
            snap = self._snapshot[db]
            conn = self._conn(db)
            conn.autocommit = False
            try:
                with conn.cursor() as cur:
                    cur.execute("SET LOCAL lock_timeout = '10s'")
                    for table in snap["tables"]:
                        cur.execute(f'DELETE FROM "{table}"')
                    left = []
                    for table in snap["tables"]:
                        cur.execute(f'SELECT EXISTS (SELECT FROM "{table}")')
                        if cur.fetchone()[0]:
                            left.append(f'"{table}"')
                    if left:
                        cur.execute(f"TRUNCATE {', '.join(left)} CASCADE")
                    for table, rows in snap["rows"].items():
                        for row in rows:
                            cur.execute(f'INSERT INTO "{table}" SELECT * FROM '
                                        f'json_populate_record(NULL::"{table}", %s)', (row,))
                    for seq, last_value, is_called in snap["sequences"]:
                        cur.execute("SELECT setval(%s, %s, %s)", (f'"{seq}"', last_value, is_called))
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                conn.autocommit = True

    # -- programs ----------------------------------------------------------------

    def program_env(self, extra_env=None, overrides=True):
        """The programs' environment with extra_env applied (a None value removes the variable)."""
        env = dict(self.env)
        if overrides:
            env.update(self.program_overrides)
        for key, value in (extra_env or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def start_program(self, name, extra_env=None, wait=True, host=0):
        """Starts NAME --listen unix:run/NAME.sock --workers 2 with the stack's env
        (in the other modes: fcgiwrap, or NAME under spawn-fcgi; see the module's doc)."""
        sock = self.socket_path(name, host)
        if sock.exists() or sock.is_symlink():
            sock.unlink()
        env = self.program_env(extra_env)
        if self.mode == "cgi":
            cmd = ["fcgiwrap", "-f", "-c", os.environ.get("FAROUT_WORKERS", "2"), "-s", f"unix:{sock}"]
        elif self.mode == "spawn-fcgi":
            # -n: spawn-fcgi execs the program in its own place (the pid we
            # keep), on a socket it made as fd 0; stderr is /dev/null as
            # spawn-fcgi leaves it when it forks.
            cmd = [str(REPO / "tests/integration/private_dev_log.sh"),
                   str(self.dir / "log" / "syslog.sock"),
                   "spawn-fcgi", "-n", "-s", str(sock), "-M", "0666", "--",
                   str(self.program_path(name))]
        else:
            cmd = [str(self.program_path(name)), "--listen", f"unix:{sock}",
                   "--workers", str(self.workers.get(name) or os.environ.get("FAROUT_WORKERS", "2"))]
            if self.pin_workers:
                cmd.append("--pin-workers")
        key = self.proc_key(name, host)
        log_name = name if host == 0 else f"{name}-{host}"
        with open(self.log_path(log_name), "ab") as log:
            self.procs[key] = subprocess.Popen(
                cmd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.DEVNULL if self.mode == "spawn-fcgi" else log,
                start_new_session=True)
        if wait:
            self._wait_program(name, host)
        return self.procs[key]

    def _wait_program(self, name, host=0):
        proc, sock = self.procs[self.proc_key(name, host)], self.socket_path(name, host)
        ok = wait_until(lambda: proc.poll() is not None or _can_connect(sock), START_TIMEOUT)
        if proc.poll() is not None or not ok:
            tail = "\n".join(self.log_text(name).splitlines()[-10:])
            raise StackError(f"{name} did not start (exit {proc.poll()}); its log ends:\n{tail}")

    def stop_program(self, name, sig=signal.SIGTERM, timeout=15, host=0):
        """Signals NAME's parent and waits; returns its exit status (negative: killed by a signal)."""
        proc = self.procs.pop(self.proc_key(name, host))
        if proc.poll() is None:
            proc.send_signal(sig)
        try:
            status = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            status = None
        _kill_group(proc.pid, signal.SIGKILL)
        proc.wait()
        if status is None:
            raise StackError(f"{name} did not exit within {timeout} s of signal {sig}")
        return status

    def ensure_running(self):
        """Brings back PostgreSQL and any program a failed test left stopped."""
        if not self._pg_running:
            self.start_postgres()
        for name, host in self._servers():
            key = self.proc_key(name, host)
            if key not in self.procs or self.procs[key].poll() is not None:
                if key in self.procs:
                    self.stop_program(name, host=host)
                self.start_program(name, host=host)

    def restart_program(self, name, extra_env=None):
        if name in self.procs:
            self.stop_program(name)
        return self.start_program(name, extra_env=extra_env)

    def program_pids(self, name):
        """(parent pid, [worker pids]) of a running program."""
        parent = self.procs[name].pid
        return parent, children_of(parent)

    def log_text(self, name):
        """NAME's log; under spawn-fcgi the syslog lines of NAME (and pgbouncer's own log)."""
        if self.mode == "spawn-fcgi" and name in PROGRAMS:
            try:
                text = (self.dir / "log" / "syslog.log").read_text(errors="replace")
            except FileNotFoundError:
                return ""
            return "".join(line + "\n" for line in text.splitlines() if f" {name}[" in line)
        try:
            return self.log_path(name).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def run_program(self, name, args=(), extra_env=None, input=None, timeout=30):
        """Runs a program to completion (CGI mode, config errors) and returns
        CompletedProcess with bytes; stdin is /dev/null unless input is given."""
        kwargs = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
        result = subprocess.run([str(self.program_path(name)), *args],
                                env=self.program_env(extra_env),
                                capture_output=True, timeout=timeout, **kwargs)
        self._note_sanitizer(f"{name} {' '.join(args)}", result.stderr.decode(errors="replace"))
        return result

    # -- operator CLI ----------------------------------------------------------------

    def admin(self, *args, input=None, extra_env=None, timeout=60):
        """Runs farout-admin ARGS with the stack's env; returns CompletedProcess (text)."""
        result = subprocess.run([str(self.admin_bin), *args],
                                env=self.program_env(extra_env, overrides=False),
                                input=input if input is not None else "",
                                capture_output=True, text=True, timeout=timeout)
        self._note_sanitizer(f"farout-admin {' '.join(args)}", result.stderr)
        return result

    def _note_sanitizer(self, what, text):
        lines = sanitizer_lines(text)
        if lines:
            self.sanitizer_reports.append(f"{what}: {lines[0]}")

    def sanitizer_findings(self):
        """Sanitizer reports from every program log and every command run so far."""
        found = list(self.sanitizer_reports)
        if self.dir is not None and (self.dir / "log").is_dir():
            for log in sorted([*(self.dir / "log").glob("*.log"),
                               *(self.dir / "log").glob("sanitizer.*")]):
                for line in sanitizer_lines(log.read_text(errors="replace")):
                    found.append(f"{log.name}: {line}")
        return found

    # -- nginx ---------------------------------------------------------------------------

    def _start_nginx(self):
        ngdir = self.dir / "nginx"
        env = dict(os.environ)
        if self.mode == "cgi":
            env["FAROUT_CGI_BIN"] = str(self.bin_dir / "cgi-bin")
        sockdirs = ":".join(str(self.run_dir(h)) for h in range(self.hosts))
        subprocess.run([str(self.repo / "conf/nginx/mklocal.sh"), str(ngdir), str(self.port),
                        sockdirs, str(self.www_root), self.public_url], check=True, env=env)
        with open(self.dir / "log" / "nginx.log", "ab") as log:
            self.nginx = subprocess.Popen(
                ["nginx", "-p", str(ngdir), "-c", str(ngdir / "nginx.conf"),
                 "-e", str(ngdir / "error.log"), "-g", "daemon off;"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)

        def healthy():
            if self.nginx.poll() is not None:
                return True
            try:
                return requests.get(self.url("/api/health"), timeout=2).status_code == 200
            except requests.RequestException:
                return False

        if not wait_until(healthy, START_TIMEOUT, 0.1) or self.nginx.poll() is not None:
            error_log = ngdir / "error.log"
            tail = error_log.read_text(errors="replace")[-2000:] if error_log.exists() else ""
            raise StackError(f"nginx or /api/health did not come up "
                             f"(nginx exit {self.nginx.poll()}):\n{tail}")

    # -- HTTP helpers ------------------------------------------------------------------------

    def login(self, username, password):
        """POST /api/auth/login; returns the access token (fails the test on anything but 200)."""
        r = requests.post(self.url("/api/auth/login"),
                          json={"username": username, "password": password}, timeout=10)
        if r.status_code != 200:
            raise AssertionError(f"login of {username!r} answered {r.status_code}: {r.text}")
        return r.json()["access_token"]

    def add_user(self, username, password, role="member", email=None, keep=True):
        """farout-admin user add; by default without a forced password change."""
        args = ["user", "add", username, "--role", role]
        if email:
            args += ["--email", email]
        if keep:
            args.append("--keep")
        r = self.admin(*args, input=password + "\n")
        if r.returncode != 0:
            raise AssertionError(f"user add {username} failed: {r.stderr}")
        return r
