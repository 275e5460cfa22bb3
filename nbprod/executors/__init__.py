"""Executors: where queued runs execute.

The catalog queue is the durable record of every queued run and the only place one is
claimed; an executor only makes sure something claims and executes them: local worker
processes (``local``), tasks on a Dask cluster (``dask``), or a plug-in registered under
the ``nbprod.executors`` entry-point group (see ``registry.py``).
"""
