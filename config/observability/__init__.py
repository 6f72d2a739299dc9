"""What an operator sees of the running shop (docs/operations.md, "Monitoring").

- `request_id`: one id per web request, in every log line of the request and of the tasks it enqueues;
- `logs`: the LOGGING setting (plain or JSON lines; errors mailed to ADMINS) and the workers' logging;
- `sentry`: optional error reports to Sentry (SENTRY_DSN);
- `readings` and `metrics`: the Prometheus endpoint `/metrics`, computed when it is scraped.
"""
