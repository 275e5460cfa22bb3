"""Pipelines: a small DAG of notebook steps where one step's scraps become another's
parameters (docs/pipelines.md)."""
