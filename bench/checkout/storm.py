"""The storms and the trivial-view probe: 32 client threads against one gunicorn.

1. The trivial-view probe: the clients GET /healthz (`SELECT 1` plus one query) with no think time,
   each on its own keep-alive connection, for a few seconds before the storm: the floor the
   journey's orders per second are judged against, measured in the same run on the same server.
2. The journey storm: the clients loop over whole journeys of new guest customers (product page,
   add to cart, checkout page, place the order, order page) until the attempts run out.
3. The place-order storm: in rounds, every client prepares a customer (not measured), then all
   of them press "Place order" at the same moment; measured from that moment to the last answer.
"""

import contextlib
import http.client
import threading
import time
from collections import Counter
from dataclasses import dataclass

from bench.checkout import CLIENTS
from bench.checkout.client import Browser, Tally, customer, place, prepare


def client_loop(port: int, tally: Tally, start: threading.Barrier, n: int, *, domain: str, **kwargs) -> None:
    browser = Browser(port)
    start.wait()
    count = 0
    try:
        while tally.next_attempt():
            count += 1
            customer(browser, tally, email=f"c{n}-{count}@{domain}", **kwargs)
    finally:
        browser.close()


def storm(*, port: int, tally: Tally, product_path: str, variant_id: int, domain: str) -> float:
    start = threading.Barrier(CLIENTS + 1)
    threads = [
        threading.Thread(
            target=client_loop,
            args=(port, tally, start, n),
            kwargs={"product_path": product_path, "variant_id": variant_id, "domain": domain},
            daemon=True,
        )
        for n in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    tally.t0 = time.perf_counter()  # before the clients are let go, so no request precedes it
    tally.deadline = tally.t0 + tally.bound
    start.wait()
    last_print, last_orders = tally.t0, 0
    while any(t.is_alive() for t in threads):
        time.sleep(0.25)
        now = time.perf_counter()
        if now - last_print >= 2:
            with tally.lock:
                orders, started = len(tally.orders), tally.started
                refused = tally.refused_before_checkout + sum(tally.refused_at_checkout.values())
                errors = sum(tally.server_errors.values())
            print(
                f"   {now - tally.t0:5.1f} s: {started:,} customers, {orders:,} orders "
                f"({(orders - last_orders) / (now - last_print):.0f}/s), {refused:,} refused, {errors} 5xx",
                flush=True,
            )
            last_print, last_orders = now, orders
    for thread in threads:
        thread.join(timeout=70)
    return time.perf_counter() - tally.t0


def place_storm(
    *, port: int, tally: Tally, meter_factory, product_path: str, variant_id: int, domain: str
) -> tuple[float, int, dict[str, float]]:
    """The second phase: rounds in which every client first prepares a new customer (product page,
    add to cart, checkout page; not measured), then all of them press "Place order" at the same
    moment. Measured: from that moment until the last client of the round has its answer (the
    POST, and for a placed order the order page it is redirected to), summed over the rounds, and
    the CPU used in those windows. Returns (measured seconds, rounds, CPU seconds by process group).
    """
    browsers = [Browser(port) for _ in range(CLIENTS)]
    window, rounds, cpu = 0.0, 0, Counter()
    customers = 0
    tally.t0 = time.perf_counter()
    tally.deadline = tally.t0 + tally.bound
    try:
        while tally.started < tally.attempts and time.perf_counter() < tally.deadline:
            prepared: list[tuple[str, str] | None] = [None] * CLIENTS

            def prepare_one(n: int, prepared: list = prepared) -> None:
                if tally.next_attempt():
                    prepared[n] = prepare(
                        browsers[n], tally, product_path=product_path, variant_id=variant_id
                    )

            threads = [threading.Thread(target=prepare_one, args=(n,), daemon=True) for n in range(CLIENTS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
            ready = [(n, p) for n, p in enumerate(prepared) if p is not None]
            if not ready:
                continue
            start = threading.Barrier(len(ready) + 1)

            def place_one(n: int, csrf: str, key: str, email: str, start: threading.Barrier = start) -> None:
                start.wait()
                place(browsers[n], tally, csrf=csrf, key=key, email=email)

            threads = []
            for n, (csrf, key) in ready:
                customers += 1
                email = f"p{n}-{customers}@{domain}"
                threads.append(threading.Thread(target=place_one, args=(n, csrf, key, email), daemon=True))
            for thread in threads:
                thread.start()
            meter = meter_factory()
            meter.start()
            began = time.perf_counter()
            start.wait()
            for thread in threads:
                thread.join(timeout=120)
            window += time.perf_counter() - began
            cpu.update(meter.stop())
            rounds += 1
            with tally.lock:
                orders = len(tally.orders)
            print(
                f"   round {rounds}: {len(ready)} customers pressed Place order at once; {orders:,} orders so far, "
                f"{window:.2f} s measured",
                flush=True,
            )
    finally:
        for browser in browsers:
            browser.close()
    return window, rounds, dict(cpu)


@dataclass
class Probe:
    """What the trivial-view probe saw: answers, the seconds they took, latencies, failures, CPU."""

    requests: int
    seconds: float
    latencies: list[float]
    failures: Counter
    cpu: dict[str, float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def trivial_probe(*, port: int, seconds: float, meter_factory, path: str = "/healthz") -> Probe:
    """CLIENTS threads GET `path` with no think time for `seconds`, each on its own keep-alive
    connection (the storm's clients, so both figures pay the same client costs). A few requests
    per client first, not counted, so every gunicorn thread has served one."""
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    failures: Counter = Counter()
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS + 1)
    stop_at = [float("inf")]

    def client(n: int) -> None:
        browser = Browser(port)
        try:
            for _ in range(3):
                with contextlib.suppress(http.client.HTTPException, OSError):
                    browser.request("GET", path)
            start.wait()
            while time.perf_counter() < stop_at[0]:
                try:
                    response = browser.request("GET", path)
                except (http.client.HTTPException, OSError) as exc:
                    with lock:
                        failures[f"connection error: {type(exc).__name__}"] += 1
                    continue
                if response.status == 200:
                    latencies[n].append(response.seconds)
                else:
                    with lock:
                        failures[f"status {response.status}"] += 1
        finally:
            browser.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    meter = meter_factory()
    start.wait()  # every client warmed up and waiting
    meter.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - began
    cpu = meter.stop()
    answered = [value for values in latencies for value in values]
    return Probe(len(answered), elapsed, answered, failures, cpu)
