"""Where the time goes: CPU per process group (from /proc), and what the shop's database sessions wait for.

The CPU figures come from /proc, so other programs on the machine show up as such ("other programs":
the machine's busy time minus the groups measured).
"""

import contextlib
import os
import subprocess
import threading
from collections import Counter
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process and its ended children have used, 0 when it is gone.

    The ended children count so that short-lived PostgreSQL backends (CONN_MAX_AGE=0) are not
    lost: the postmaster collects their time when they exit.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(v) for v in fields[11:15]) / CLK_TCK  # utime, stime, cutime, cstime


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return pids


def _postgres_pids() -> list[int]:
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                pids.append(int(comm.parent.name))
        except OSError:
            pass
    return pids


def _machine_busy() -> float:
    """Busy CPU seconds of the whole machine, all cores (from /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / CLK_TCK


class CpuMeter:
    """CPU seconds used between start() and stop() by: gunicorn, the worker, PostgreSQL, this process
    (the 32 clients), and the machine as a whole (the rest is other programs)."""

    def __init__(self, *, web: subprocess.Popen, worker: subprocess.Popen):
        self.groups = {
            "gunicorn": lambda: _tree(web.pid),
            "celery worker": lambda: _tree(worker.pid),
            "PostgreSQL (all backends)": _postgres_pids,
            "clients (this process)": lambda: [os.getpid()],
        }

    def _snapshot(self) -> dict[str, dict[int, float]]:
        return {name: {pid: _proc_cpu(pid) for pid in pids()} for name, pids in self.groups.items()}

    def start(self) -> None:
        self.before, self.busy_before = self._snapshot(), _machine_busy()

    def stop(self) -> dict[str, float]:
        after, busy = self._snapshot(), _machine_busy()
        used = {
            name: sum(max(cpu - self.before[name].get(pid, 0.0), 0.0) for pid, cpu in pids.items())
            for name, pids in after.items()
        }
        used["machine, all processes"] = busy - self.busy_before
        used["other programs"] = max(
            used["machine, all processes"] - sum(v for k, v in used.items() if k in self.groups), 0.0
        )
        return used


class SessionSampler(threading.Thread):
    """Every 0.1 s, what the shop's database sessions (application_name) are doing."""

    def __init__(self, application_name: str):
        super().__init__(daemon=True)
        self.application_name = application_name
        self.stop_event = threading.Event()
        self.samples = 0
        self.counts: Counter = Counter()

    def run(self) -> None:
        from django.db import connection

        try:
            with connection.cursor() as cursor:
                while not self.stop_event.wait(0.1):
                    cursor.execute(
                        "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                        "WHERE application_name = %s",
                        [self.application_name],
                    )
                    self.samples += 1
                    for state, wait_type, wait in cursor.fetchall():
                        self.counts[self._kind(state, wait_type, wait)] += 1
        finally:
            connection.close()

    @staticmethod
    def _kind(state: str, wait_type: str | None, wait: str | None) -> str:
        if state == "idle in transaction":
            return "in a transaction, waiting for Python"
        if state != "active":
            return "idle (between requests)"
        if wait_type == "Lock":
            return f"waiting for a lock ({wait})"
        if wait_type in ("LWLock", "IO", "IPC") or (wait or "").startswith("WAL"):
            return f"waiting for the server ({wait_type}: {wait})"
        if wait_type == "Client":
            return f"waiting for the client ({wait})"
        return "running a query"

    def stop(self) -> dict[str, float]:
        self.stop_event.set()
        self.join(timeout=5)
        return {kind: n / max(self.samples, 1) for kind, n in self.counts.most_common()}
