"""gunicorn's settings for the shop's web process: the one place that says how it runs.

Used by the Procfile (`gunicorn -c config/gunicorn.conf.py config.wsgi`), the systemd unit and
docs/operations.md; each value comes from the environment (README, "Variables of the commands").

Worker class gthread: each process runs WEB_THREADS requests at once, so a request waiting on
PostgreSQL, Redis or Stripe does not hold a whole process. Each thread holds its own database
connection: count WEB_CONCURRENCY x WEB_THREADS connections per machine (docs/operations.md).
"""

import os

bind = f"{os.environ.get('BIND_HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
# With gthread this is how long a worker process may stop answering the arbiter (its main loop stuck)
# before it is killed and replaced; it does not cut a slow request short (threads keep the loop
# alive), the proxy's read timeout does that.
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
# On SIGTERM (a deploy, systemd stop), requests in flight get this long to finish.
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# The proxy addresses whose X-Forwarded-* headers gunicorn believes (comma-separated, `*` for any):
# the local nginx by default.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = "-"
