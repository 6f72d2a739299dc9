"""Fault-injection tests: the shop against real services that are stopped, killed or cut off.

Each test starts the processes it needs (a private redis-server, gunicorn,
Celery workers) and breaks only those; the machine's shared Redis and
PostgreSQL are never stopped. docs/operations.md says what each test proves.
"""
