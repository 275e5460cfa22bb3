"""`nbprod runs show` shows the copy of a running run that JupyterLab and the browse UI
show (core.runs' one freshest-record rule), not a stale catalog row."""

from __future__ import annotations

import json
from dataclasses import replace

from nbprod.catalog.queue import utcnow
from nbprod.config import Settings
from nbprod.core import Workspace
from nbprod.records import NotebookInfo, Progress, RunRecord, RunStatus, isoformat, new_run_id
from nbprod.store import layout


def test_show_of_a_running_run_reads_the_copy_its_worker_republished(cli, nbprod_env):
    with Workspace(Settings.load()) as ws:
        now = utcnow()
        indexed = RunRecord(
            run_id=new_run_id(now),
            job="report",
            status=RunStatus.RUNNING,
            notebook=NotebookInfo(path="/nb/report.ipynb", name="report.ipynb", sha256="0" * 64),
            kernel="python3",
            store=ws.store.url,
            created_at=isoformat(now),
            started_at=isoformat(now),
            progress=Progress(cells_total=5, cells_done=1),
        )
        ws.catalog.index_run(ws.store.url, indexed)
        ahead = replace(indexed, progress=Progress(cells_total=5, cells_done=4))
        ws.store.put(layout.record_key("report", indexed.run_id), ahead.to_json().encode())

    done = cli("runs", "show", indexed.run_id, "--json")

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["progress"]["cells_done"] == 4
    text = cli("runs", "show", indexed.run_id[:-3])
    assert text.returncode == 0, text.stderr
    assert indexed.run_id in text.stdout
