"""Scheduling and executing queued runs outside any notebook server.

- ``cron``: when a job fires, catch-up after downtime (pure, time injected);
- ``queue``: the run queue and fire ledger in the catalog (exactly once per fire);
- ``worker``: a process that claims queued runs and executes them through the core;
- ``pool``: THE worker pool: spawning ``nbprod worker`` processes (the executor interface);
- ``daemon``: the scheduler loop: fire, reap lost runs, retry, supervise workers.
"""
