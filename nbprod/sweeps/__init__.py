"""Parameter sweeps: a grid of parameter values as one unit of work.

- ``plan``: ``-p NAME V1,V2`` axes and/or a grid file expanded into parameter sets, each
  validated against the notebook's schema (nothing is queued if one is wrong);
- ``record``: the stored sweep (``store/layout.sweep_key``), written once, so it survives a
  catalog rebuild; creating one queues one normal run per set, tagged ``sweep:<id>``;
- ``drain``: executing a sweep's runs on burst workers from ``scheduler/pool``;
- ``table``: the results table (parameters, status, duration, scraps as columns).

The catalog queries a sweep needs are in ``catalog/sweeps``.
"""
