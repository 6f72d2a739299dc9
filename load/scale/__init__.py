"""`make scale-test`: two web nodes and two worker nodes behind nginx, one of each killed mid-run.

See load/README.md ("Scale test") for what runs, what is measured and the latest figures.
"""
