"""The server's rules the JupyterLab extension needs in its forms and panel, sent with the
answers it already fetches (``/info`` and ``/parameters``) so that the TypeScript keeps no
copy of them: the job-name pattern, the notification events and target types, the run
statuses that can still be cancelled, the browse page's cell anchor, how parameter text is
read, a job's overlap and catch-up choices, and per parameter the type its text is parsed
by and its label."""

from __future__ import annotations

from typing import Any

ACTIVE_STATUSES = ("queued", "starting", "running")
"""Runs not finished yet: waiting in the queue, claimed by a worker, executing (the others
are the terminal ``RunStatus`` values)."""


def ui_rules() -> dict[str, Any]:
    """The ``rules`` object of ``/nbprod/api/info``."""
    from nbprod import notify, params
    from nbprod.jobs.definition import CATCHUP, OVERLAP
    from nbprod.server.render import CELL_ANCHOR
    from nbprod.store import layout

    return {
        # A JavaScript pattern for the whole name; (?!.*\.$): not ending with '.'.
        "job_name": {
            "pattern": rf"^(?!.*\.$){layout.JOB_NAME_PATTERN}$",
            "message": layout.JOB_NAME_RULE,
        },
        "notification_events": list(notify.EVENTS),
        "notification_targets": list(notify.TARGET_TYPES),
        "active_statuses": list(ACTIVE_STATUSES),
        "cell_anchor": CELL_ANCHOR,
        "values": params.value_syntax(),
        # The choices of a job's overlap and catchup fields, the default first.
        "job_choices": {"overlap": list(OVERLAP), "catchup": list(CATCHUP)},
    }


def with_kinds(info: dict[str, Any]) -> dict[str, Any]:
    """A notebook-info answer whose parameters carry ``kind``: the type their text is parsed
    by (``int``, ``float``, ``str``, ``bool``, ``list``, ``dict`` or ``any``), and ``label``:
    its type as `nbprod params` shows it (``int?`` for ``int | None``)."""
    from nbprod.params import base_type, type_label

    for parameter in info.get("parameters", []):
        parameter["kind"] = base_type(parameter["type"])
        parameter["label"] = type_label(parameter["type"], parameter["nullable"])
    return info
