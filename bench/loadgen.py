"""A load generator that leaves the two cores to the server: wrk, or a lean Python client without it.

wrk (Debian's package, `make wrk-deps`) is an event loop in C: one thread drives all the keep-alive
connections for a few percent of one core, so the shop's gunicorn and PostgreSQL get the machine, as
they would behind a real load balancer. A small Lua script makes it print the figures as JSON,
with the p95 its `--latency` table lacks. Without wrk on the PATH (or with BENCH_LOADGEN=python),
threads of this process each hold one keep-alive connection (http.client): it costs the server
some CPU, so the figures say which generator made them. Either way every connection is a new
visitor with no cookies, and any answer but 200 counts as a failure.
"""

import http.client
import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

WRK_THREADS = int(os.environ.get("BENCH_WRK_THREADS", "1"))
LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"failures\\": %d, " ..
    "\\"p50_us\\": %d, \\"p95_us\\": %d, \\"p99_us\\": %d}\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


@dataclass
class Result:
    requests: int  # answered with 200
    seconds: float
    failures: int  # errors and answers other than 200 (wrk: status >= 400; a redirect is checked before)
    p50_ms: float
    p95_ms: float
    p99_ms: float
    generator_cpu: float  # CPU seconds the load generator itself used

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def generator() -> str:
    """ "wrk" when it is installed (and not overridden), else "python"."""
    if os.environ.get("BENCH_LOADGEN", "wrk") == "wrk" and shutil.which("wrk"):
        return "wrk"
    return "python"


def status_of(port: int, path: str) -> int:
    """One GET, no cookies: the status a new visitor gets (a redirect would make wrk's figures lie)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def hammer(*, port: int, path: str, connections: int, seconds: float) -> Result:
    """GET `path` over `connections` keep-alive connections with no think time for `seconds`."""
    if generator() == "wrk":
        return _wrk(port=port, path=path, connections=connections, seconds=seconds)
    return _threads(port=port, path=path, connections=connections, seconds=seconds)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _wrk(*, port: int, path: str, connections: int, seconds: float) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "json.lua"
        script.write_text(LUA)
        cmd = ["wrk", "-t", str(min(WRK_THREADS, connections)), "-c", str(connections)]
        cmd += ["-d", f"{max(int(round(seconds)), 1)}s", "--timeout", "30s", "-s", str(script)]
        cmd += [f"http://127.0.0.1:{port}{path}"]
        cpu_before = _children_cpu()
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 120)
        cpu = _children_cpu() - cpu_before
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no figures:\n{done.stdout}\n{done.stderr}")
    figures = json.loads(line[len("WRKJSON ") :])
    failures = figures["failures"]
    return Result(
        requests=max(figures["requests"] - failures, 0),
        seconds=figures["duration_us"] / 1e6,
        failures=failures,
        p50_ms=figures["p50_us"] / 1000,
        p95_ms=figures["p95_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        generator_cpu=cpu,
    )


def _threads(*, port: int, path: str, connections: int, seconds: float) -> Result:
    latencies: list[list[float]] = [[] for _ in range(connections)]
    failures = [0] * connections
    start = threading.Barrier(connections + 1)
    stop_at = [float("inf")]
    headers = {"Host": f"127.0.0.1:{port}"}

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start.wait()
        try:
            while time.perf_counter() < stop_at[0]:
                t = time.perf_counter()
                try:
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                except (http.client.HTTPException, OSError):
                    failures[n] += 1
                    conn.close()
                    continue
                if response.status == 200:
                    latencies[n].append(time.perf_counter() - t)
                else:
                    failures[n] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(connections)]
    for thread in threads:
        thread.start()
    cpu_before = time.process_time()
    start.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for thread in threads:
        thread.join(timeout=seconds + 120)
    elapsed = time.perf_counter() - began
    answered = sorted(value for values in latencies for value in values)
    quantiles = statistics.quantiles(answered, n=100, method="inclusive") if len(answered) > 1 else [0.0] * 99
    return Result(
        requests=len(answered),
        seconds=elapsed,
        failures=sum(failures),
        p50_ms=quantiles[49] * 1000,
        p95_ms=quantiles[94] * 1000,
        p99_ms=quantiles[98] * 1000,
        generator_cpu=time.process_time() - cpu_before,
    )
