"""Orchestration: a run's lifecycle (runs, attempts, withdrawal, one run per database), the embedded Prefect
server and its API, customer partitions on Dask, and failure notifications."""
