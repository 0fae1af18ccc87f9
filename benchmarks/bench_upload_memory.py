"""What one /score/file upload costs `segflow api` in memory: the server's peak RSS for uploads of growing size.

Run by hand (it is not a test), on a home with a champion (it runs `segflow demo` there when it has none):

    python benchmarks/bench_upload_memory.py --home /tmp/segflow-upload --mb 8 --mb 32 --mb 200
    # the same against another checkout (e.g. before issue 22), its API serving the same home:
    git worktree add /tmp/before 08be16c
    python benchmarks/bench_upload_memory.py --home /tmp/segflow-upload --checkout /tmp/before --mb 8 --mb 200

Each size gets a fresh server (so its VmHWM, the kernel's peak resident set, is that upload's): a warm-up upload of
100 rows, the peak read, then the generated CSV (customer_id, recency_days, frequency, monetary; ~20 bytes a row)
sent from disk, the answer read in blocks and dropped, and the peak read again. `--max-file-mb` raises the
server's upload limit (SEGFLOW_API_MAX_FILE_BYTES) so that a large file is scored, not refused, which shows how
memory grows with the file's size rather than what the default limit does.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from api_server import running_api

ROOT = Path(__file__).resolve().parents[1]


def write_customers(path: Path, megabytes: float) -> int:
    """A features CSV of about `megabytes` MB, written in blocks; returns its rows."""
    rng = np.random.default_rng(3)
    rows = 0
    with path.open("w") as out:
        out.write("customer_id,recency_days,frequency,monetary\n")
        while out.tell() < megabytes * 1e6:
            n = 100_000
            days, orders = rng.integers(0, 365, n), rng.integers(1, 40, n)
            spend = np.round(rng.lognormal(6, 1.2, n), 2)
            lines = zip(days, orders, spend, strict=True)
            out.write("".join(f"c{rows + i},{d},{o},{s}\n" for i, (d, o, s) in enumerate(lines)))
            rows += n
    return rows


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmHWM in /proc (Linux only)")


def measure(env: dict[str, str], checkout: Path, csv: Path) -> tuple[int, float, int, float, float]:
    """(status, seconds, answer bytes, peak MB before the upload, peak MB after) on a fresh server."""
    with running_api(env, checkout) as (server, base), httpx.Client(base_url=base, timeout=None) as client:
        warm = "customer_id,recency_days,frequency,monetary\n" + "w,3,2,100\n" * 100
        client.post("/score/file", files={"file": ("warm.csv", warm, "text/csv")}).raise_for_status()
        before = peak_mb(server.pid)
        started = time.perf_counter()
        with csv.open("rb") as upload:
            request = client.build_request("POST", "/score/file", files={"file": ("big.csv", upload, "text/csv")})
            answer = client.send(request, stream=True)
            size = sum(len(block) for block in answer.iter_raw(1 << 16))
            answer.close()
        seconds = time.perf_counter() - started
        return answer.status_code, seconds, size, before, peak_mb(server.pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the segflow source the API runs from")
    parser.add_argument("--mb", type=float, action="append", help="upload sizes in MB (repeatable)")
    parser.add_argument("--max-file-mb", type=float, help="the server's upload limit (default: the checkout's)")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGFLOW_")}
    env.update(SEGFLOW_HOME=str(args.home), PYTHONPATH=str(args.checkout), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    if args.max_file_mb:
        env["SEGFLOW_API_MAX_FILE_BYTES"] = str(int(args.max_file_mb * 1e6))
    if not (args.home / "models").exists():
        print(f"no model in {args.home}: running segflow demo there first", flush=True)
        subprocess.run(
            [sys.executable, "-m", "segflow", "demo"], cwd=args.checkout, env=env, check=True, capture_output=True
        )
    print(f"checkout {args.checkout}, upload limit {args.max_file_mb or 'default'} MB")
    columns = ("upload", 9), ("rows", 10), ("status", 6), ("seconds", 8), ("answer MB", 10), ("peak before", 12)
    print(" ".join(f"{name:>{width}}" for name, width in columns), f"{'peak after':>11}")
    with tempfile.TemporaryDirectory() as scratch:
        for megabytes in args.mb or [8.0]:
            csv = Path(scratch) / "upload.csv"
            rows = write_customers(csv, megabytes)
            status, seconds, size, before, after = measure(env, args.checkout, csv)
            print(
                f"{csv.stat().st_size / 1e6:>7.1f}MB {rows:>10,} {status:>6} {seconds:>8.1f} {size / 1e6:>10.1f} "
                f"{before:>10.0f}MB {after:>9.0f}MB",
                flush=True,
            )


if __name__ == "__main__":
    main()
