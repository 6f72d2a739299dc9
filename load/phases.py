"""Running one headless locust phase of the load test and printing its requests (load/run.py)."""

import csv
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _locust(
    user_class: str,
    *,
    users: int,
    seconds: int,
    host: str,
    catalog: Path,
    out: Path,
    locustfile: Path = ROOT / "load" / "locustfile.py",
    extra_env: dict | None = None,
) -> dict:
    """Run one headless locust phase; return its stats rows by request name (plus "Aggregated")."""
    prefix = out / user_class
    cmd = [str(BIN / "locust"), "-f", str(locustfile), "--headless"]
    cmd += ["--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s"]
    cmd += ["--host", host, "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"]
    cmd += ["--exit-code-on-error", "0", "--stop-timeout", "5", user_class]
    env = {**os.environ, "LOAD_CATALOG": str(catalog), **(extra_env or {})}
    log = out / f"{user_class}.log"
    with log.open("w") as handle:
        subprocess.run(cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, check=True)
    rows = {}
    with open(f"{prefix}_stats.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            name = row["Name"] if row["Type"] else "Aggregated"
            rows[name] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": float(row["Requests/s"]),
                "p50": float(row["50%"]),
                "p95": float(row["95%"]),
                "p99": float(row["99%"]),
                "max": float(row["Max Response Time"]),
            }
    failures_csv = Path(f"{prefix}_failures.csv")
    rows["_failures"] = (
        list(csv.DictReader(failures_csv.read_text().splitlines())) if failures_csv.exists() else []
    )
    return rows


def _print_endpoints(title: str, rows: dict) -> None:
    print(f"   {title}:")
    print(f"     {'request':38} {'count':>7} {'fails':>6} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6}  ms")
    for name, r in rows.items():
        if name.startswith("_"):
            continue
        print(
            f"     {name:38} {r['requests']:7,} {r['failures']:6,} {r['rps']:7.1f} "
            f"{r['p50']:6.0f} {r['p95']:6.0f} {r['p99']:6.0f}"
        )
    for failure in rows["_failures"]:
        print(
            f"     failure x{failure['Occurrences']}: {failure['Method']} {failure['Name']}: {failure['Error']}"
        )
