#!/usr/bin/env python3
"""make bench: requests/s and latency of the main routes, next to nginx serving
a static file in the same run, on the same machine.

It starts the same stack as the integration tests (tests/integration/harness.py:
private PostgreSQL, the four programs, nginx), seeds a member user and 10,000
members, then runs wrk against each route. Figures are printed, never asserted:
they go into README.md by hand, with the machine they came from.

Environment: BENCH_SECONDS (10), FAROUT_WORKERS (4 per program: workers wait on
PostgreSQL, so twice the cores keeps them busy), FAROUT_BIN_DIR (the repository).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from harness import Stack  # noqa: E402  (found through the path set just above)

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
os.environ.setdefault("FAROUT_WORKERS", "4")
MEMBERS = 10_000


def wrk(url, connections, token=None):
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{SECONDS}s", "--latency", url]
    if token:
        cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, pct.get("50", "?"), pct.get("99", "?"), int(non2xx.group(1)) if non2xx else 0


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def seed(stack):
    stack.add_user("bench", "load-test-pass-1", role="member")
    stack.sql("app", """
        INSERT INTO members (discord_id, display_name, rank, missions_completed, stats)
        SELECT (100000000000000000 + g)::text,
               'Pilot ' || lpad(g::text, 5, '0') || ' ' || md5(g::text),
               (ARRAY['member','officer','veteran','recruit'])[1 + g %% 4],
               jsonb_build_array('m' || g %% 7, 'm' || g %% 11),
               jsonb_build_object('flights', g %% 97)
        FROM generate_series(1, %s) AS g""", (MEMBERS,))
    stack.sql("app", "ANALYZE members")
    return stack.login("bench", "load-test-pass-1")


def site_with_baseline():
    """A folder of symlinks: the website plus the baseline file, which is not part of the site."""
    here = Path(__file__).resolve().parent
    root = Path(tempfile.mkdtemp(prefix="farout-bench-www-"))
    root.chmod(0o755)
    for entry in (here.parents[1] / "www").iterdir():
        (root / entry.name).symlink_to(entry)
    (root / "static-baseline.txt").symlink_to(here / "static-baseline.txt")
    return root


def main():
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is missing (conf/dev/setup-deps.sh installs it)")
    www = site_with_baseline()
    stack = Stack(www_root=www).start()
    try:
        token = seed(stack)
        rows = [
            ("nginx static file (baseline)", stack.url("/static-baseline.txt"), 64, None),
            ("GET /api/auth/verify", stack.url("/api/auth/verify"), 64, token),
            ("GET /api/auth/me", stack.url("/api/auth/me"), 64, token),
            ("GET /api/members?limit=50", stack.url("/api/members?limit=50"), 32, token),
            ("GET /api/members?q=0042&limit=50", stack.url("/api/members?q=0042&limit=50"), 32, token),
        ]
        results = []
        for name, url, conns, tok in rows:
            results.append((name, conns) + wrk(url, conns, tok))
        base = results[0][2]
        print(f"\nFarout auth bench: {os.cpu_count()} cores, {SECONDS} s per route, wrk -t2, "
          f"{os.environ['FAROUT_WORKERS']} workers per program\n")
        print(f"{'route':36} {'conns':>5} {'req/s':>9} {'p50':>9} {'p99':>9} {'vs static':>9} {'non-2xx':>7}")
        for name, conns, rps, p50, p99, bad in results:
            print(f"{name:36} {conns:5d} {rps:9.0f} {p50:>9} {p99:>9} {rps / base:9.1%} {bad:7d}")
        print("\nworker RSS after the run:")
        for prog in ("login", "me", "members", "oauth-callback"):
            _, workers = stack.program_pids(prog)
            sizes = ", ".join(f"{rss_kib(pid) / 1024:.1f} MB" for pid in workers)
            print(f"  {prog:15} {sizes}")
    finally:
        stack.stop()
        shutil.rmtree(www, ignore_errors=True)


if __name__ == "__main__":
    main()
