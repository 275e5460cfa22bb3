"""A run record as text a person reads at a terminal."""

from __future__ import annotations

import json
from typing import Any

from nbprod.records import RunRecord
from nbprod.scraps import inline_value


def describe(record: RunRecord, store: Any) -> str:
    lines = [
        f"run        {record.run_id}",
        f"job        {record.job}",
        f"status     {record.status.value}",
        f"trigger    {record.trigger} (attempt {record.attempt})",
        f"started    {record.started_at}",
        f"finished   {record.finished_at}",
        f"duration   {record.duration_s}s" if record.duration_s is not None else "duration   -",
        f"notebook   {record.notebook.path} (sha256 {record.notebook.sha256[:12]})",
        f"kernel     {record.kernel}",
        f"progress   {record.progress.cells_done}/{record.progress.cells_total} cells",
    ]
    if record.git:
        dirty = ", dirty" if record.git.get("dirty") else ""
        lines.append(
            f"git        {record.git.get('commit', '')[:12]} on "
            f"{record.git.get('branch') or '(detached)'}{dirty}"
        )
    if record.report_mode:
        lines.append("output     report mode (code cells hidden)")
    env = record.environment
    if env:
        lines.append(
            f"python     {env.get('python')} on {env.get('hostname')} "
            f"({env.get('packages_count')} packages)"
        )
    lines.append("parameters")
    for name, value in record.parameters.items():
        given = "" if name in record.parameters_given else "  (default)"
        lines.append(f"  {name} = {json.dumps(value, ensure_ascii=False)}{given}")
    if record.scraps:
        lines.append("scraps")
        for name, scrap in record.scraps.items():
            inline, value = inline_value(scrap)
            shown = (
                json.dumps(value, ensure_ascii=False)
                if inline
                else f"<{scrap.get('encoder') if isinstance(scrap, dict) else '?'}>"
            )
            lines.append(f"  {name} = {shown}")
    if record.error:
        where = f" at {record.error.cell_label}" if record.error.cell_label else ""
        lines.append(f"error      {record.error.line}{where}")
    lines.append("artifacts")
    for name, key in record.artifacts.items():
        lines.append(f"  {name:<12} {store.location(key)}")
    return "\n".join(lines)
