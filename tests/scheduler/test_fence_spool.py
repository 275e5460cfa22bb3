"""A fenced run left in the spool (its store was down too) publishes no ending on flush."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from nbprod import spool
from nbprod.catalog.queue import Item
from nbprod.scheduler.fence import Fence
from nbprod.scheduler.worker import _fence_spool
from nbprod.store import layout, open_store

RUN = "20261201T080000000Z-0badf00d"


def _item() -> Item:
    return Item(
        store="file:///unused",
        run_id=RUN,
        job="job",
        state="running",
        attempt=1,
        logical_run_id=RUN,
        scheduled_for=None,
        available_at="",
        enqueued_at="",
        started_at=None,
        heartbeat_at=None,
        worker="far-host:1",
        cancel_requested=False,
        final_status=None,
        request={},
        claim="c0ffee",
    )


def test_flush_of_a_fenced_spool_folder_writes_only_non_final_names(tmp_path: Path) -> None:
    folder = spool.run_folder(tmp_path / "spool", RUN)
    snapshot = json.dumps({"status": "succeeded", "name": "input.ipynb"})
    digest = hashlib.sha256(snapshot.encode()).hexdigest()  # the store verifies snapshot keys
    files = {
        "input.ipynb": (layout.snapshot_key(digest), True),
        "nb.ipynb": (layout.output_key("job", RUN, "nb.ipynb"), False),
        "kernel.log": (layout.kernel_log_key("job", RUN), False),
        "run.json": (layout.record_key("job", RUN), False),
    }
    uploads = []
    for name, (key, if_absent) in files.items():
        (folder / name).write_text(json.dumps({"status": "succeeded", "name": name}))
        uploads.append(spool.Upload(name, key, None, if_absent))
    spool.Manifest(RUN, "job", "file:///unused", uploads).save(folder)

    _fence_spool(folder, Fence(None, _item()))  # type: ignore[arg-type]
    store = open_store(str(tmp_path / "store"))
    spool.publish(store, folder)

    run_folder = tmp_path / "store" / "job" / RUN
    assert sorted(p.name for p in run_folder.iterdir()) == [
        "kernel.fenced-c0ffee.log",
        "nb.fenced-c0ffee.ipynb",
    ]
    assert store.exists(layout.snapshot_key(digest))  # shared objects are still published
    assert not folder.exists()
