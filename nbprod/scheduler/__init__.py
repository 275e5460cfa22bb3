"""Scheduling and executing queued runs outside any notebook server.

The run queue, fire ledger and leases they use are SQL, so they live in ``nbprod.catalog``.

- ``cron``: when a job fires, catch-up after downtime (pure, time injected);
- ``worker``: a process that claims queued runs and executes them through the core;
- ``pool``: THE worker pool: spawning ``nbprod worker`` processes (the executor interface);
- ``daemon``: the scheduler loop: fire, reap lost runs, retry, supervise workers.
"""
