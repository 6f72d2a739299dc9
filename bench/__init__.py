"""Benchmarks: `make bench` (python -m bench) runs them, prints one table and writes JSON.

Each module `bench/bench_<name>.py` defines `run(args) -> list[Figure]`.
"""
