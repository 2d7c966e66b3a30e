#!/usr/bin/env python3
"""make bench [PEER=1]: requests/s and latency of the main routes, next to a
minimal nginx serving a small static file in the same run, on the same machine.

It starts the same stack as the integration tests (tests/integration/harness.py:
private PostgreSQL with fsync off, the four programs, nginx), seeds a member
user (linked to one of them) and 10,000 members, then runs wrk against each route: wrk -t2, 64
connections (32 for the members routes), BENCH_SECONDS (8) per route, and
verify once more at 1 connection (wrk -t1).

PEER=1 also starts the FastAPI peer (../shared/peers/fastapi/run-nginx.sh,
found next to the repository or at $FAROUT_PEER_DIR) on two databases of its
own in the same PostgreSQL cluster, seeds it the same way and runs the same
routes against it right after each C run. As root, a missing Debian package of
the peer is installed first (conf/dev/setup-deps.sh --peer).

Before each wrk run it waits (at most 5 s) for the machine to be nearly idle,
so that one run's aftermath (PostgreSQL's, the other stack's) stays out of
the next, then warms the route up with BENCH_WARMUP (2) seconds of the same
wrk run, unmeasured: the figures are the steady state's. Besides wrk's
figures it reads the CPU time (/proc/PID/stat) that the programs' workers,
PostgreSQL and nginx used during each run: CPU µs per request is far less
sensitive to other load on a shared machine than req/s.
It also reports the steal share of each run (/proc/stat): on a virtual machine,
the time the host kept the guest's CPUs waiting, which shows whether a run's
tail latencies are the stack's or the host's.
Figures are printed, never asserted; they go into README.md by hand, with the
machine they came from.

IDLE_POLL=1 (root) holds /dev/cpu_dma_latency at 0 during the whole run, so that
idle CPUs poll instead of halting: a diagnosis of how much of the latency is the
machine's wake-up from idle (on a VM, the hypervisor's), never a figure of the
stack's defaults. The header names the machine's idle policy either way.

Environment: BENCH_SECONDS (8), BENCH_WARMUP (2), FAROUT_WORKERS (unset: each
program's workers as `make run` starts them, from conf/dev/run.sh),
FAROUT_PIN_WORKERS (unset: as `make run` does, from conf/dev/run.sh),
FAROUT_BIN_DIR (the repository), FAROUT_PEER_DIR, PEER, IDLE_POLL.
"""

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from harness import REPO, Stack, children_of, free_port, group_members, wait_until  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "2"))
PEER = os.environ.get("PEER", "") not in ("", "0", "no", "false")
IDLE_POLL = os.environ.get("IDLE_POLL", "") not in ("", "0", "no", "false")
MEMBERS = 10_000
TICK = os.sysconf("SC_CLK_TCK")
USER, PASSWORD = "bench", "load-test-pass-1"
# The bench user is linked to one of the seeded members, so that me reads both
# databases on both stacks (for an unlinked user the peer skips the members
# database, while the C side still checks it is up: API.md's 503 rule).
DISCORD_ID = "100000000000004242"

ROUTES = [  # label, path, connections, wrk threads
    ("GET /api/auth/verify", "/api/auth/verify", 64, 2),
    ("GET /api/auth/verify, 1 connection", "/api/auth/verify", 1, 1),
    ("GET /api/auth/me", "/api/auth/me", 64, 2),
    ("GET /api/members?limit=50", "/api/members?limit=50", 32, 2),
    ("GET /api/members?q=0042&limit=50", "/api/members?q=0042&limit=50", 32, 2),
]

MEMBERS_SQL = """
    INSERT INTO members (discord_id, display_name, rank, missions_completed, stats)
    SELECT (100000000000000000 + g)::text,
           'Pilot ' || lpad(g::text, 5, '0') || ' ' || md5(g::text),
           (ARRAY['member','officer','veteran','recruit'])[1 + g % 4],
           jsonb_build_array('m' || g % 7, 'm' || g % 11),
           jsonb_build_object('flights', g % 97)
    FROM generate_series(1, {n}) AS g"""


# ---- measuring ---------------------------------------------------------------

def wrk(url, connections, threads, token, seconds=SECONDS):
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if token:
        cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    nbad = (int(bad.group(1)) if bad else 0) + (sum(map(int, errors.groups())) if errors else 0)
    return {"rps": rps, "total": total, "p50": pct.get("50", "?"), "p99": pct.get("99", "?"),
            "bad": nbad}


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total


def comm(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def ms_value(text):
    """wrk's latency text (850.00us, 1.39ms, 2.01s) in milliseconds."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not m:
        return None
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]


def cpu_totals():
    """All CPUs' time so far, in ticks: total, idle (with iowait), steal.
    Guest and guest_nice are already counted in user and nice."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(fields), fields[3] + fields[4], fields[7]


def busy_share(seconds):
    """The share of all CPUs' time not idle over the next `seconds`."""
    total0, idle0, _ = cpu_totals()
    time.sleep(seconds)
    total1, idle1, _ = cpu_totals()
    return 1 - (idle1 - idle0) / max(total1 - total0, 1)


def cpu_idle_policy():
    """How this machine's idle CPUs wait, in a few words: whether they halt
    (on a VM an exit to the hypervisor, and a wake-up that waits for the host
    to run the CPU again) or poll first."""
    base = Path("/sys/devices/system/cpu/cpuidle")
    try:
        governor = (base / "current_governor").read_text().strip()
    except OSError:
        return "cpuidle unknown"
    text = f"cpuidle governor {governor}"
    try:
        poll_ns = int(Path("/sys/module/haltpoll/parameters/guest_halt_poll_ns").read_text())
        text += f", guest_halt_poll_ns {poll_ns}" + (" (halts at once)" if poll_ns == 0 else "")
    except (OSError, ValueError):
        pass
    return text


def hold_idle_polling():
    """IDLE_POLL=1: holds /dev/cpu_dma_latency at 0 µs for the whole run, so
    that idle CPUs poll instead of halting (what tuned's latency-performance
    profile does). A diagnosis, not a setting of the stack: it shows how much
    of a run's latency is the machine's wake-up from idle. Returns the file
    descriptor to keep open; the kernel drops the request when it closes."""
    try:
        fd = os.open("/dev/cpu_dma_latency", os.O_WRONLY)
        os.write(fd, (0).to_bytes(4, sys.byteorder))
    except OSError as e:
        sys.exit(f"bench: IDLE_POLL=1 needs /dev/cpu_dma_latency (root): {e}")
    return fd


def settle():
    """Waits (at most 5 s) until the machine is nearly idle, so that the work a
    run leaves behind (PostgreSQL's and the other stack's after-load tasks)
    does not land in the next run's figures."""
    deadline = time.monotonic() + 5
    while busy_share(0.5) > 0.1 and time.monotonic() < deadline:
        pass


def measure(url, conns, threads, token, groups):
    """wrk on url; groups maps a name to a function giving that group's pids now.
    The measured run follows an unmeasured one of BENCH_WARMUP seconds with
    the same settings: after the settle, the first few hundred milliseconds
    under load are the scheduler's, not the stack's (PostgreSQL's backends
    start on whichever CPU was idle, and until they move next to the worker
    that queries them a route runs at about half its rate: README
    "Performance")."""
    settle()
    if WARMUP > 0:
        wrk(url, conns, threads, token, WARMUP)
    before = {name: cpu_ticks(pids()) for name, pids in groups.items()}
    total0, _, steal0 = cpu_totals()
    result = wrk(url, conns, threads, token)
    total1, _, steal1 = cpu_totals()
    after = {name: cpu_ticks(pids()) for name, pids in groups.items()}
    n = max(result["total"], 1)
    result["cpu_us"] = {name: (after[name] - before[name]) / TICK * 1e6 / n for name in groups}
    # On a virtual machine, the time the host ran something else while this
    # guest's CPUs had work: each stolen slice stalls every request in flight
    # on that CPU, however fast the stack is.
    result["steal"] = (steal1 - steal0) / max(total1 - total0, 1)
    return result


# ---- the static-file baseline --------------------------------------------------

class StaticNginx:
    """nginx with one worker, no access log, serving one small JSON file."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="farout-static-"))
        self.dir.chmod(0o755)  # nginx's worker user must read the file
        self.port = free_port()
        (self.dir / "www").mkdir(mode=0o755)
        (self.dir / "www" / "status.json").write_text('{"status":"ok","service":"farout"}\n')
        (self.dir / "www" / "status.json").chmod(0o644)
        (self.dir / "nginx.conf").write_text(f"""
worker_processes 1;
daemon off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    default_type application/json;
    client_body_temp_path {self.dir}/tmp;
    proxy_temp_path {self.dir}/tmp;
    fastcgi_temp_path {self.dir}/tmp;
    scgi_temp_path {self.dir}/tmp;
    uwsgi_temp_path {self.dir}/tmp;
    server {{
        listen 127.0.0.1:{self.port};
        root {self.dir}/www;
    }}
}}
""")
        self.proc = subprocess.Popen(["nginx", "-p", str(self.dir), "-c", str(self.dir / "nginx.conf")],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        if not wait_until(lambda: self._up(), 10):
            raise RuntimeError(f"the static nginx did not start ({self.dir}/error.log)")

    def url(self):
        return f"http://127.0.0.1:{self.port}/status.json"

    def _up(self):
        try:
            return requests.get(self.url(), timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def pids(self):
        return group_members(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- the FastAPI peer ----------------------------------------------------------

PEER_MODULES = "fastapi, uvicorn, asyncpg, jwt, bcrypt, httpx, multipart, uvloop, httptools"


def find_peer():
    """../shared/peers/fastapi from the project root, also from a git worktree or a
    copy further down; $FAROUT_PEER_DIR wins."""
    candidates = []
    if os.environ.get("FAROUT_PEER_DIR"):
        candidates.append(Path(os.environ["FAROUT_PEER_DIR"]))
    roots = [REPO]
    common = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--path-format=absolute",
                             "--git-common-dir"], capture_output=True, text=True)
    if common.returncode == 0 and common.stdout.strip():
        roots.append(Path(common.stdout.strip()).parent)
    for root in roots:
        for parent in [root, *root.parents]:
            candidates.append(parent / ".." / "shared" / "peers" / "fastapi")
            candidates.append(parent / "shared" / "peers" / "fastapi")
    for c in candidates:
        if (c / "run-nginx.sh").is_file():
            return c.resolve()
    sys.exit("bench: PEER=1 but no ../shared/peers/fastapi/run-nginx.sh next to the repository "
             "(set FAROUT_PEER_DIR)")


def ensure_peer_packages():
    if subprocess.run(["/usr/bin/python3", "-c", f"import {PEER_MODULES}"],
                      capture_output=True).returncode == 0:
        return
    # As root this installs the peer's Debian packages; otherwise it names them and fails.
    if subprocess.run([str(REPO / "conf/dev/setup-deps.sh"), "--peer"]).returncode != 0:
        sys.exit("bench: the peer's Python packages are missing (see above)")


class Peer:
    def __init__(self, stack, peer_dir):
        self.stack = stack
        self.port = free_port()
        sock = stack.dir / "pg" / "sock"
        self.dsn = {db: f"host={sock} port={stack.pg_port} user=postgres dbname=peer_{db}"
                    for db in ("farout", "farout_auth")}
        admin = psycopg2.connect(f"host={sock} port={stack.pg_port} user=postgres dbname=postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            for db in ("peer_farout", "peer_farout_auth"):
                cur.execute(f"CREATE DATABASE {db}")
        admin.close()
        url = f"postgresql://postgres@/%s?host={sock}&port={stack.pg_port}"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
            "DATABASE_URL": url % "peer_farout", "AUTH_DATABASE_URL": url % "peer_farout_auth",
            "JWT_SECRET": secrets.token_urlsafe(48), "PUBLIC_URL": f"http://127.0.0.1:{self.port}",
            "FAROUT_PORT": str(self.port), "WORKERS": "2", "BCRYPT_COST": "4",
            "UVICORN_LOG_LEVEL": "warning", "LOG_LEVEL": "WARNING",
        }
        self.log = open(stack.dir / "log" / "peer.log", "ab")
        self.proc = subprocess.Popen(["bash", str(peer_dir / "run-nginx.sh")], env=env,
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     start_new_session=True)
        if not wait_until(lambda: self.proc.poll() is not None or self._up(), 60, 0.2) \
                or self.proc.poll() is not None:
            raise RuntimeError(f"the FastAPI peer did not start ({stack.dir}/log/peer.log)")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def _up(self):
        try:
            return requests.get(self.url("/api/health"), timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def seed(self):
        import bcrypt
        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4, prefix=b"2b")).decode()
        with psycopg2.connect(self.dsn["farout_auth"]) as conn, conn.cursor() as cur:
            cur.execute("INSERT INTO users (username, email, hashed_password, role,"
                        " must_change_password, is_active, discord_id)"
                        " VALUES (%s, %s, %s, 'member', false, true, %s)",
                        (USER, "bench@example.org", hashed, DISCORD_ID))
        with psycopg2.connect(self.dsn["farout"]) as conn, conn.cursor() as cur:
            cur.execute(MEMBERS_SQL.format(n=MEMBERS))
            cur.execute("ANALYZE members")
        r = requests.post(self.url("/api/auth/login"), json={"username": USER, "password": PASSWORD},
                          timeout=10)
        r.raise_for_status()
        return r.json()["access_token"]

    def pids(self, kind):
        members = group_members(self.proc.pid)
        return [p for p in members if (comm(p) == "nginx") == (kind == "nginx")]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        for pid in group_members(self.proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc.poll() is None:
            self.proc.wait()
        self.log.close()


# ---- the C stack ---------------------------------------------------------------

def seed(stack):
    stack.add_user(USER, PASSWORD, role="member")
    stack.sql("auth", "UPDATE users SET discord_id = %s WHERE username = %s", (DISCORD_ID, USER))
    stack.sql("app", MEMBERS_SQL.format(n=MEMBERS).replace("%", "%%"))
    stack.sql("app", "ANALYZE members")
    return stack.login(USER, PASSWORD)


def postgres_pids(stack):
    postmaster = int((stack.dir / "pg" / "data" / "postmaster.pid").read_text().split()[0])
    return lambda: [postmaster, *children_of(postmaster)]


def program_of(path):
    return "members" if path.startswith("/api/members") else "me"


# ---- report --------------------------------------------------------------------

def ratio(a, b):
    return f"{a / b:.1f}×" if b else "-"


def make_run_workers():
    """make run's workers per program: the default_workers line of conf/dev/run.sh."""
    m = re.search(r'^default_workers="([^"]*)"', (REPO / "conf/dev/run.sh").read_text(), re.M)
    return dict(pair.split("=") for pair in m.group(1).split()) if m else {}


def make_run_pins():
    """Whether make run pins each worker to a CPU: FAROUT_PIN_WORKERS, else
    the default on the pin_workers line of conf/dev/run.sh."""
    m = re.search(r'^pin_workers=\$\{FAROUT_PIN_WORKERS:-(\d)\}', (REPO / "conf/dev/run.sh").read_text(),
                  re.M)
    return os.environ.get("FAROUT_PIN_WORKERS", m.group(1) if m else "0") == "1"


def report(static, results, stack, peer):
    workers = os.environ.get("FAROUT_WORKERS") or ", ".join(
        f"{k} {v}" for k, v in stack.workers.items()) or "2"
    pinned = ", each pinned to a CPU" if stack.pin_workers else ""
    print(f"\nFarout auth bench: {os.cpu_count()} cores, {SECONDS} s per route "
          f"(after {WARMUP} s of warm-up), wrk -t2 "
          f"(-t1 at 1 connection), workers per program: {workers}{pinned}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; {cpu_idle_policy()}"
          f"{'; IDLE_POLL=1: idle CPUs poll (/dev/cpu_dma_latency 0)' if IDLE_POLL else ''}\n")
    print(f"nginx static file (1 worker, access log off): {static['rps']:.0f} req/s, "
          f"p50 {static['p50']}, p99 {static['p99']}, non-2xx {static['bad']}, "
          f"steal {static['steal']:.1%}\n")
    head = (f"{'route':36} {'conns':>5} {'C req/s':>8} {'p50':>8} {'p99':>8}")
    if peer:
        head += f" {'FastAPI':>8} {'p99':>8} {'C÷FastAPI':>9}"
    head += f" {'C÷static':>8} {'non-2xx':>7} {'steal':>5}"
    print(head)
    for (label, _, conns, _), c, p in results:
        line = f"{label:36} {conns:5d} {c['rps']:8.0f} {c['p50']:>8} {c['p99']:>8}"
        if peer:
            line += f" {p['rps']:8.0f} {p['p99']:>8} {ratio(c['rps'], p['rps']):>9}"
        bad = c["bad"] + (p["bad"] if p else 0)
        line += f" {c['rps'] / static['rps']:8.1%} {bad:7d} {c['steal']:5.1%}"
        print(line)
    print("\nsteal: the share of CPU time the hypervisor gave to other guests during the C run"
          " (/proc/stat);\nthe higher it is, the more the p99 figures are the host's stalls, not"
          " the stack's.")
    print("\nCPU µs per request (utime+stime during the run ÷ requests): "
          "workers / PostgreSQL / nginx")
    for (label, _, conns, _), c, p in results:
        cu = c["cpu_us"]
        line = f"  {label:36} C {cu['workers']:5.0f} / {cu['postgres']:5.0f} / {cu['nginx']:5.0f}"
        if peer:
            pu = p["cpu_us"]
            line += f"    FastAPI {pu['workers']:5.0f} / {pu['postgres']:5.0f} / {pu['nginx']:5.0f}"
        print(line)
    print("\np99 ÷ p50 (C, loaded routes): " + ", ".join(
        f"{label.split(' ', 1)[1]} {ms_value(c['p99']) / ms_value(c['p50']):.2f}"
        for (label, _, conns, _), c, _p in results
        if conns > 1 and ms_value(c["p50"]) and ms_value(c["p99"])))
    print("\nworker RSS after the run:")
    for prog in ("login", "me", "members", "oauth-callback"):
        _, pids = stack.program_pids(prog)
        sizes = ", ".join(f"{rss_kib(pid) / 1024:.1f} MB" for pid in pids)
        print(f"  {prog:15} {sizes}")


def main():
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is missing (conf/dev/setup-deps.sh installs it)")
    peer_dir = None
    idle_fd = hold_idle_polling() if IDLE_POLL else None
    if PEER:
        peer_dir = find_peer()
        ensure_peer_packages()
    stack = Stack()
    if not os.environ.get("FAROUT_WORKERS"):
        stack.workers = make_run_workers()
    stack.pin_workers = make_run_pins()
    stack.start()
    static = peer = None
    try:
        token = seed(stack)
        static = StaticNginx()
        pg = postgres_pids(stack)
        nginx_c = lambda: group_members(stack.nginx.pid)  # noqa: E731
        peer_token = None
        if PEER:
            peer = Peer(stack, peer_dir)
            peer_token = peer.seed()

        # Both stacks must answer the same thing before their speed is compared.
        for base, tok in [(stack.url, token)] + ([(peer.url, peer_token)] if peer else []):
            r = requests.get(base("/api/auth/me"), headers={"Authorization": f"Bearer {tok}"}, timeout=10)
            if r.status_code != 200 or not r.json().get("member"):
                sys.exit(f"bench: {base('/api/auth/me')} answered {r.status_code} without the member row")
        s = measure(static.url(), 64, 2, None, {"nginx": static.pids})
        results = []
        for route in ROUTES:
            label, path, conns, threads = route
            prog = program_of(path)
            c = measure(stack.url(path), conns, threads, token, {
                "workers": lambda prog=prog: stack.program_pids(prog)[1],
                "postgres": pg, "nginx": nginx_c})
            p = None
            if peer:
                p = measure(peer.url(path), conns, threads, peer_token, {
                    "workers": lambda: peer.pids("app"), "postgres": pg,
                    "nginx": lambda: peer.pids("nginx")})
            results.append((route, c, p))
        report(s, results, stack, peer)
    finally:
        if peer is not None:
            peer.stop()
        if static is not None:
            static.stop()
        stack.stop()
        if idle_fd is not None:
            os.close(idle_fd)


if __name__ == "__main__":
    main()
