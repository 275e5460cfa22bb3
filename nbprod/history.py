"""Runs read back from the store alone (the catalog issue adds a faster index)."""

from __future__ import annotations

from collections.abc import Iterator

from nbprod.errors import CorruptData, InvalidName, RunNotFound
from nbprod.records import RunRecord, RunStatus
from nbprod.store import Store, layout


def job_names(store: Store) -> list[str]:
    return [e.name for e in store.list("") if e.is_dir and not e.name.startswith(".")]


def _run_ids(store: Store, job: str) -> list[str]:
    ids = [e.name for e in store.list(job) if e.is_dir and layout.is_run_id(e.name)]
    return sorted(ids, reverse=True)


def iter_runs(
    store: Store, job: str | None = None, status: RunStatus | None = None
) -> Iterator[RunRecord]:
    """Newest first across the chosen jobs; reads one record per yielded run."""
    jobs = [layout.check_job_name(job)] if job else job_names(store)
    candidates = sorted(
        ((run_id, name) for name in jobs for run_id in _run_ids(store, name)), reverse=True
    )
    for run_id, name in candidates:
        try:
            record = RunRecord.from_json(store.get(layout.record_key(name, run_id)))
        except KeyError:
            continue  # a run folder without its record yet
        if status is None or record.status == status:
            yield record


def find_run(store: Store, run_id: str) -> RunRecord:
    """A run by full id or unique prefix of its id."""
    if not run_id or "/" in run_id:
        raise InvalidName(f"invalid run id {run_id!r}")
    matches: list[tuple[str, str]] = []
    for name in job_names(store):
        for candidate in _run_ids(store, name):
            if candidate == run_id:
                matches = [(name, candidate)]
                break
            if candidate.startswith(run_id):
                matches.append((name, candidate))
        if matches and matches[0][1] == run_id:
            break
    if not matches:
        raise RunNotFound(f"no run {run_id!r} in {store.url}")
    if len(matches) > 1 and matches[0][1] != run_id:
        raise RunNotFound(f"run id prefix {run_id!r} is ambiguous ({len(matches)} runs match)")
    name, found = matches[0]
    key = layout.record_key(name, found)
    try:
        return RunRecord.from_json(store.get(key))
    except KeyError:
        raise RunNotFound(f"run {found!r} has no record yet in {store.url}") from None
    except CorruptData as exc:
        raise CorruptData(f"{store.url}/{key}: {exc}") from None
