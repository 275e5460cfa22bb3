"""The order in which pytest-xdist hands test files to its workers: longest first.

With ``--dist loadfile`` a file is one worker's from its first test to its last. xdist's
own order (most tests first) hands out last the files with few but slow tests (a browser
session, a Jupyter server, an Airflow run): one worker then works alone on them while the
other has finished. Handing out the longest files first (and ``--no-loadscope-reorder``,
so that xdist keeps this order) lets both workers end together.

The seconds per file are measured: ``python -m pytest -n 0 --store-durations`` writes
``tests/durations.json`` (setup + call + teardown of each file's tests, at ``-n 0``; the
files run update their entries); a file not in it counts as the median file. Re-measure
when a file's cost changes much.
"""

from __future__ import annotations

import json
import os
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

DURATIONS = Path(__file__).with_name("durations.json")


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def load(path: Path = DURATIONS) -> dict[str, float]:
    try:
        return {str(k): float(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def longest_first(items: list[Any], seconds: dict[str, float]) -> None:
    """Sort ``items`` in place: their files by measured seconds, longest first; a file's
    tests keep their order (the sort is stable and a file's tests are adjacent)."""
    default = statistics.median(seconds.values()) if seconds else 0.0
    items.sort(key=lambda item: -seconds.get(file_of(item.nodeid), default))


def distributed() -> bool:
    """In an xdist worker (the collection whose order the controller hands out)."""
    return bool(os.environ.get("PYTEST_XDIST_WORKER"))


class Recorder:
    """A plugin summing each file's test durations as reports arrive (under xdist, in the
    controller, which gets every worker's reports), written to the table at the end."""

    def __init__(self, path: Path = DURATIONS) -> None:
        self.path = path
        self.seconds: Counter[str] = Counter()

    def pytest_runtest_logreport(self, report: Any) -> None:
        self.seconds[file_of(report.nodeid)] += report.duration

    def pytest_sessionfinish(self) -> None:
        self.write(self.path)

    def write(self, path: Path) -> None:
        """The measured files' seconds into the table; the other files' entries stay."""
        table = {**load(path), **{k: round(v, 1) for k, v in self.seconds.items()}}
        path.write_text(json.dumps(dict(sorted(table.items())), indent=1) + "\n")
