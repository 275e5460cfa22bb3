"""A pipeline run's notifications, as a job's: ``on_start`` when it starts, ``on_success`` /
``on_failure`` once when it ends, to a real HTTP receiver on 127.0.0.1, from a real
`nbprod pipelines run` (its steps in worker processes with real kernels)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.conftest import GLUE
from tests.notify.test_notify import receiver  # noqa: F401 - the fixture


def test_a_pipeline_notifies_its_start_and_its_end_once(
    cli,
    make_notebook,
    tmp_path: Path,
    receiver,  # noqa: F811 - the imported fixture
):
    marker = tmp_path / "fail"
    make_notebook(GLUE + "glue('rows', 5)", name="load.ipynb")
    make_notebook(
        f"from pathlib import Path\nif Path({str(marker)!r}).exists():\n    raise ValueError('no')",
        parameters="rows: int = 0",
        name="use.ipynb",
    )
    hook = [{"type": "webhook", "url": receiver.url("/hook")}]
    spec = {
        "name": "notified",
        "notifications": {"on_start": hook, "on_success": hook, "on_failure": hook},
        "steps": [
            {"name": "load", "notebook": "load.ipynb"},
            {
                "name": "use",
                "notebook": "use.ipynb",
                "needs": ["load"],
                "parameters_from": {"rows": "load.rows"},
            },
        ],
    }
    path = tmp_path / "notebooks" / "notified.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert cli("pipelines", "apply", str(path)).returncode == 0

    done = cli("pipelines", "run", "notified", "--json", timeout=300)
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    docs = [json.loads(r["body"]) for r in receiver.requests]
    assert [d["event"] for d in docs] == ["on_start", "on_success"]
    assert {d["run_id"] for d in docs} == {run_id}
    end = docs[1]
    assert end["pipeline"] == end["job"] == "notified" and end["status"] == "succeeded"
    assert end["steps"] == {"load": "succeeded", "use": "succeeded"} and end["error"] is None
    assert end["duration_s"] > 0

    marker.write_text("")
    failed = cli("pipelines", "run", "notified", "--json", timeout=300)
    assert failed.returncode == 1, failed.stderr
    docs = [json.loads(r["body"]) for r in receiver.requests][2:]
    assert [d["event"] for d in docs] == ["on_start", "on_failure"]
    assert docs[1]["status"] == "failed" and docs[1]["steps"]["use"] == "failed"
    assert docs[1]["error"]["ename"] == "StepFailed"
    assert docs[1]["error"]["evalue"].startswith("step use: ")
