"""Load: the locust scenario of `make load` (load/run.py) as one benchmark of the set.

Shoppers browse, fill carts and check out (some backordered) against gunicorn,
PostgreSQL, Redis and a Celery worker; then /healthz, the catalog listing, the
home page and a product page with no think time. Figures: requests/s,
p50/p95/p99, failures, each page's ratio to the trivial view (listing, home and
product page >= 0.5), oversold units, ledger drift, emails not sent. Needs
PostgreSQL and Redis; `--quick` runs 15 s with 8 shoppers.
"""

from load.run import run  # noqa: F401 - the runner calls bench_load.run(args)
