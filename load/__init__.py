"""The load test: `make load` or `python -m load` (see load/run.py)."""
