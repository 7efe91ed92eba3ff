"""Benchmarks of the embedded service: ingest throughput and API latency.

Run with `make bench`. Figures go to docs/benchmarks.md by hand, with the machine
they came from; nothing here is a pass/fail test.

1. Ingest: `gametime generate` writes a synthetic day of at least 1 million events,
   `gametime produce --in-process` loads it into a fresh SQLite file (parse, validate,
   raw rows, minute bitmaps): events per second.
2. API: `gametime serve` on that file; today's minutes are posted for the users,
   then wrk (Debian's package, installed if missing) calls the allowance route at
   32 concurrent connections: requests per second, p50 and p99 latency.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson

from gametime.api.security import digest

ROOT = Path(__file__).resolve().parents[1]
GAMETIME = str(Path(sys.executable).with_name("gametime"))
PORT = 18_765
KEY = "gt_benchmark-key"
BENCH_KEY = {"name": "bench", "sha256": digest(KEY), "scopes": ["ingest", "read"]}
WRK_SCRIPT = """
local users = {USERS}
wrk.headers["Authorization"] = "Bearer {KEY}"
request = function()
  local user = math.random(1, users)
  local game = math.random(1, 3)
  return wrk.format("GET", string.format(
    "/v1/users/user-%d/games/game-%d/allowance", user, game))
end
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=600)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--skip-ingest", action="store_true")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="gametime-bench-"))
    env = {
        **os.environ,
        "GAMETIME_SQLITE_PATH": str(workdir / "bench.sqlite3"),
        "GAMETIME_API_KEYS": orjson.dumps([BENCH_KEY]).decode(),
        "GAMETIME_API_KEY": KEY,
        # One key stands for all the load here; the per-key limit is not measured.
        "GAMETIME_RATE_LIMIT_PER_SECOND": "0",
    }
    try:
        if not args.skip_ingest:
            bench_ingest(workdir, env, args.users)
        bench_api(env, args.users, args.connections, args.seconds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def bench_ingest(workdir: Path, env: dict[str, str], users: int) -> None:
    events = workdir / "day.jsonl"
    started = time.perf_counter()
    subprocess.run(
        [
            GAMETIME,
            "generate",
            "--users",
            str(users),
            "--games",
            "3",
            "--seed",
            "1",
            "--date",
            "2024-07-17",
            "--out",
            str(events),
        ],
        check=True,
        env=env,
    )
    lines = sum(1 for _ in events.open("rb"))
    print(f"generated events={lines} seconds={time.perf_counter() - started:.1f}")
    if lines < 1_000_000:
        print("warning: fewer than 1 million events; raise --users", file=sys.stderr)

    started = time.perf_counter()
    result = subprocess.run(
        [
            GAMETIME,
            "produce",
            str(events),
            "--in-process",
            "--quiet",
            "--json",
            "--batch-size",
            "20000",
        ],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    summary = orjson.loads(result.stdout)
    print(
        f"ingest events={lines} accepted={summary['accepted']} "
        f"seconds={seconds:.1f} events_per_second={lines / seconds:,.0f}"
    )


def bench_api(env: dict[str, str], users: int, connections: int, seconds: int) -> None:
    wrk = ensure_wrk()
    server = subprocess.Popen(
        [GAMETIME, "serve", "--port", str(PORT)],
        env={**env, "GAMETIME_LOG_LEVEL": "WARNING"},
    )
    try:
        base = f"http://127.0.0.1:{PORT}"
        wait_ready(base)
        post_today(base, users)
        script = Path(env["GAMETIME_SQLITE_PATH"]).with_name("allowance.lua")
        script.write_text(
            WRK_SCRIPT.replace("{USERS}", str(users)).replace("{KEY}", KEY)
        )
        run_wrk(wrk, base, script, connections, seconds=3)  # warm-up
        report = run_wrk(wrk, base, script, connections, seconds)
        print(f"api allowance connections={connections} {summarize(report)}")
    finally:
        server.terminate()
        server.wait(timeout=30)


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk from Debian's packages", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return "wrk"


def wait_ready(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"the server at {base} did not become ready in 30 s")


def post_today(base: str, users: int) -> None:
    """Thirty minutes of play ending now for every user, so reads find rows."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    events = [
        {
            "user_id": f"user-{user}",
            "game_id": f"game-{1 + user % 3}",
            "event_time": (now - timedelta(minutes=minute)).isoformat(),
        }
        for user in range(1, users + 1)
        for minute in range(30)
    ]
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=base, timeout=60, headers=headers) as client:
        for start in range(0, len(events), 10_000):
            body = orjson.dumps(events[start : start + 10_000])
            client.post("/v1/events", content=body).raise_for_status()


def run_wrk(wrk: str, base: str, script: Path, connections: int, seconds: int) -> str:
    command = [
        wrk,
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(script),
        base,
    ]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def summarize(report: str) -> str:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", report)
    p50 = re.search(r"50%\s+([\d.]+\w+)", report)
    p99 = re.search(r"99%\s+([\d.]+\w+)", report)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    return (
        f"requests_per_second={rate.group(1) if rate else '?'} "
        f"p50={p50.group(1) if p50 else '?'} p99={p99.group(1) if p99 else '?'} "
        f"non_2xx={errors.group(1) if errors else 0}"
    )


if __name__ == "__main__":
    main()
