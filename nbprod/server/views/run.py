"""The run page: status, timings, parameters, error summary linking to the failing cell,
scraps, environment and git, artifacts, the rendered notebook; and its live status."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from nbprod.records import RunRecord
from nbprod.scraps import inline_value
from nbprod.server.browse_data import BrowseData
from nbprod.server.render import CodeView, cell_anchor
from nbprod.server.views.common import doc, short_value
from nbprod.store import layout
from nbprod.sweeps.record import TAG_PREFIX as SWEEP_TAG

ARTIFACT_LABELS = {
    "output": "output notebook",
    "record": "run record (run.json)",
    "snapshot": "input snapshot",
    "environment": "installed packages",
    "kernel_log": "kernel log",
}


@dataclass
class ParameterRow:
    """One parameter of a run."""

    name: str = doc("Parameter name.")
    value: Any = doc("Effective value.")
    shown: str = doc("The value as JSON text, shortened.")
    given: bool = doc("Whether the caller supplied it (else the notebook's default).")


@dataclass
class ScrapRow:
    """One scrap of a run."""

    name: str = doc("Scrap name.")
    encoder: str = doc("scrapbook encoder (json, text, pandas, ...).")
    inline: bool = doc("Whether the value is in the record.")
    value: Any = doc("The value when inline, else null.")
    shown: str = doc("The value as text, shortened, or a note.")


@dataclass
class Artifact:
    """A file of the run in the store."""

    kind: str = doc("output, record, snapshot, environment or kernel_log.")
    label: str = doc("What the file is.")
    key: str = doc("Store key (relative to the store root).")


@dataclass
class RunContext:
    """A run's page."""

    run: RunRecord = doc("The whole run record (docs/run-record.md).")
    parameters: list[ParameterRow] = doc("Parameters, in the record's order.")
    scraps: list[ScrapRow] = doc("Scraps, in the record's order.")
    artifacts: list[Artifact] = doc("The run's files in the store.")
    output_key: str | None = doc("Store key of the output notebook.")
    failing_cell: str | None = doc("Anchor of the failing cell in the rendered notebook.")
    failing_cell_label: str | None = doc(
        "The failing cell as every face names it: 'cell 3' (its author's count) or "
        "'injected parameters'."
    )
    previous_run_id: str | None = doc("The job's previous run, to compare with.")
    live: bool = doc("Whether the run is still running (the page polls its status).")
    sweep_id: str | None = doc("The sweep the run belongs to (its tag sweep:<id>), if any.")
    pipeline: dict[str, str] | None = doc(
        "{name, run_id, step} when the run is a step of a pipeline run (its record's "
        "pipeline field), else null."
    )
    code: str = doc(
        "Which code the rendered notebook shows: as-saved (hidden where the notebook hides "
        "it: every code cell of a report-mode run), shown or hidden (the page's ?code=)."
    )
    code_hidden: bool = doc("Whether the rendered notebook hides code (offer Show code).")


@dataclass
class RunStatusContext:
    """A run's live status (polled by the run page while the run is running)."""

    run_id: str = doc("The run id.")
    status: str = doc("The run's status.")
    terminal: bool = doc("Whether the status is final.")
    cells_done: int = doc("Cells executed so far.")
    cells_total: int = doc("Cells in the notebook.")
    duration_s: float | None = doc("Wall seconds, once finished.")
    error: str | None = doc("'ename: evalue' when the run failed.")


def build(service: BrowseData, run_id: str, code: CodeView = CodeView.AS_SAVED) -> RunContext:
    record = service.fresh_run(run_id)
    return context_for(service, record, code)


def context_for(
    service: BrowseData, record: RunRecord, code: CodeView = CodeView.AS_SAVED
) -> RunContext:
    given = set(record.parameters_given)
    parameters = [
        ParameterRow(name, value, short_value(value, 120), name in given)
        for name, value in record.parameters.items()
    ]
    scraps = []
    for name, entry in record.scraps.items():
        inline, value = inline_value(entry)
        entry = entry if isinstance(entry, dict) else {}
        shown = short_value(value, 200) if inline else "not recorded inline (see the notebook)"
        scraps.append(ScrapRow(name, str(entry.get("encoder", "?")), inline, value, shown))
    artifacts = []
    for kind, key in record.artifacts.items():
        if isinstance(key, str) and key:
            artifacts.append(Artifact(kind, ARTIFACT_LABELS.get(kind, kind), key))
    if "snapshot" not in record.artifacts and record.notebook.sha256:
        key = layout.snapshot_key(record.notebook.sha256)
        artifacts.append(Artifact("snapshot", ARTIFACT_LABELS["snapshot"], key))
    output_key = record.artifacts.get("output") or None
    failing = None
    if record.error and record.error.cell_index is not None:
        failing = cell_anchor(record.error.cell_index)
    return RunContext(
        run=record,
        parameters=parameters,
        scraps=scraps,
        artifacts=artifacts,
        output_key=output_key,
        failing_cell=failing,
        failing_cell_label=record.error.cell_label if record.error else None,
        previous_run_id=service.previous_run_id(record),
        live=not record.status.terminal,
        sweep_id=_sweep_of(record),
        pipeline=_pipeline_of(record),
        code=code.value,
        code_hidden=code is CodeView.HIDDEN or (code is CodeView.AS_SAVED and record.report_mode),
    )


def _sweep_of(record: RunRecord) -> str | None:
    for tag in record.tags or []:
        if isinstance(tag, str) and tag.startswith(SWEEP_TAG):
            sweep_id = tag[len(SWEEP_TAG) :]
            if layout.is_sweep_id(sweep_id):
                return sweep_id
    return None


def _pipeline_of(record: RunRecord) -> dict[str, str] | None:
    """The record's pipeline link, when it names a pipeline, a pipeline run and a step."""
    link = record.pipeline
    if not isinstance(link, dict):
        return None
    name, run_id, step = (str(link.get(k) or "") for k in ("name", "run_id", "step"))
    if not (name and step and layout.is_run_id(run_id)):
        return None
    return {"name": name, "run_id": run_id, "step": step}


def status(service: BrowseData, run_id: str) -> RunStatusContext:
    record = service.fresh_run(run_id)
    error = asdict(record.error) if record.error else None
    return RunStatusContext(
        run_id=record.run_id,
        status=record.status.value,
        terminal=record.status.terminal,
        cells_done=record.progress.cells_done,
        cells_total=record.progress.cells_total,
        duration_s=record.duration_s,
        error=f"{error['ename']}: {error['evalue']}" if error else None,
    )
