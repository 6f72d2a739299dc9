"""The checkout benchmark's parts (bench/bench_checkout.py is its entry for the runner).

client: a guest customer's browser and the steps of the journey; storm: the journey storm, the
place-order storm and the trivial-view probe; meters: CPU per process group and what the database
sessions wait for; rows: the hot SKUs and the database checks afterwards; inprocess: the journey's
steps through Django's test client; figures: what is reported, with the issue's targets.
"""

import os

NAME = "checkout"

CLIENTS = int(os.environ.get("BENCH_CHECKOUT_CLIENTS", "32"))
GUNICORN_WORKERS = int(os.environ.get("BENCH_CHECKOUT_WORKERS", "3"))
GUNICORN_THREADS = int(os.environ.get("BENCH_CHECKOUT_THREADS", "2"))
GUNICORN_CLASS = os.environ.get("BENCH_CHECKOUT_WORKER_CLASS", "gthread")
GUNICORN_KEEPALIVE = os.environ.get("BENCH_CHECKOUT_KEEPALIVE", "30")
