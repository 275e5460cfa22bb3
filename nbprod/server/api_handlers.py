"""The REST API under ``/nbprod/api/`` (described in specification/nbprod-api.yml).

Thin handlers: check the request's shape (:mod:`nbprod.server.request_shape`), call one
core function (:mod:`nbprod.core.jobs`, :mod:`nbprod.core.notebooks`,
:mod:`nbprod.core.sweeps`; the run listing and the pipeline rows in
:mod:`nbprod.server.rest`) in a worker thread with a Workspace of its own, answer JSON.
Authenticated and authorized like every Jupyter handler (``@authorized``: GET is ``read``,
POST/PUT/DELETE are ``write`` on the ``nbprod`` resource); errors are
``{"status", "message", "field"}`` with 400 / 404 / 409 / 502 / 503, the field taken from
the core's typed :class:`~nbprod.errors.FieldError`. Registered only inside a full Jupyter
server, never in the read-only ``nbprod browse``."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from nbprod.core import Workspace
from nbprod.core import backfill as core_backfill
from nbprod.core import debug as core_debug
from nbprod.core import drift as core_drift
from nbprod.core import job_form as core_job_form
from nbprod.core import jobs as core_jobs
from nbprod.core import notebooks as core_notebooks
from nbprod.core import sweeps as core_sweeps
from nbprod.errors import Conflict, FieldError
from nbprod.server import lab_rules, rest
from nbprod.server import request_shape as shape
from nbprod.server.handlers import BaseHandler, _Failure, failure_for


class _FieldFailure(_Failure):
    def __init__(self, status: int, message: str, field: str | None) -> None:
        super().__init__(status, message)
        self.field = field


def _failure(exc: BaseException) -> _Failure:
    if isinstance(exc, Conflict):
        return _FieldFailure(409, str(exc), None)
    if isinstance(exc, FieldError):
        return _FieldFailure(400, str(exc), exc.field)
    return failure_for(exc)


def job_answer(view: Any) -> dict[str, Any]:
    """A job as ``GET /nbprod/api/jobs/{name}`` answers it."""
    data = view.to_dict()
    data["next_run"] = data["next_runs"][0] if data["next_runs"] else None
    return data


def job_row(view: Any) -> dict[str, Any]:
    """A job as ``GET /nbprod/api/jobs`` lists it (no versions)."""
    data = job_answer(view)
    data.pop("versions", None)
    data["description"] = view.definition.description
    return data


def saved_answer(saved: Any) -> dict[str, Any]:
    """``POST /nbprod/api/jobs`` and ``PUT .../{name}``: the job, created?, its changes."""
    return {**job_answer(saved.job), "created": saved.created, "changes": saved.changes}


def queued(run_id: str, job: str) -> dict[str, Any]:
    return {"run_id": run_id, "job": job, "status": "queued"}


def endpoint(method: Callable[..., Any]) -> Callable[..., Any]:
    """Authenticate, authorize, and map domain errors to statuses (never a bare 500)."""

    @web.authenticated
    @authorized
    @functools.wraps(method)
    async def wrapper(self: ApiHandler, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except web.HTTPError as exc:
            if isinstance(exc, _Failure) or exc.status_code < 500:
                raise
            raise _failure(exc) from exc
        except Exception as exc:
            raise _failure(exc) from exc

    return wrapper


class ApiHandler(BaseHandler):
    json_only = True

    @property
    def settings_(self) -> Any:
        return self.service.settings

    @property
    def root(self) -> str:
        return self.settings.get("nbprod_contents_root") or self.contents_manager.root_dir

    async def core(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(workspace, *args, **kwargs)`` in a worker thread, in a Workspace of its own."""

        def call() -> Any:
            with Workspace(self.settings_) as ws:
                return fn(ws, *args, **kwargs)

        return await self.call(call)

    def body(
        self, form: Mapping[str, shape.Kind] | None = None, *, required: bool = False
    ) -> dict[str, Any]:
        """The JSON object body, its fields checked against ``form`` (their JSON types)."""
        if required and not self.request.body.strip():
            raise FieldError("the request needs a JSON object body")
        data = shape.parse_body(self.request.body)
        if form is not None:
            shape.check_form(data, form)
        return data

    def text_arg(self, name: str, default: str = "", *, path: bool = False) -> str:
        """A query argument checked like a body field (NUL, length, path components)."""
        return shape.check_query(self.get_argument(name, default), name, path=path)

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(rest.dumps(data))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = getattr(exc, "message", None) or getattr(exc, "log_message", None)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(
            rest.dumps(
                {
                    "status": status_code,
                    "message": message or self._reason,
                    "field": getattr(exc, "field", None),
                }
            )
        )

    async def ensure_executed(self, *run_ids: str) -> None:
        """Queued runs need workers: the embedded scheduler's, an external one's, or else
        one-off background workers for just these runs."""
        embedded = self.settings.get("nbprod_embedded")
        if embedded is not None and embedded.state == "active":
            return
        if not await self.core(core_jobs.workers_alive):
            await self.call(rest.execute_now, self.settings_, *run_ids)

    def int_arg(self, name: str, default: int) -> int:
        text = self.get_argument(name, str(default))
        try:
            return int(text)
        except ValueError:
            shown = text if len(text) <= 40 else text[:39] + "…"
            raise FieldError(f"{name} must be a whole number, got {shown!r}", name) from None


class InfoHandler(ApiHandler):
    @endpoint
    async def get(self) -> None:
        from nbprod import __version__ as version

        embedded = self.settings.get("nbprod_embedded")
        events = self.settings.get("nbprod_events")
        self.reply(
            {
                "api_version": rest.API_VERSION,
                "version": version,
                "store": self.service.store.url,
                "embedded_scheduler": embedded.status() if embedded else {"state": "off"},
                "live_events": events.status() if events else {"state": "off"},
                "outputs_dir": rest.OUTPUTS_DIR,
                "rules": lab_rules.ui_rules(),
            }
        )


class ParametersHandler(ApiHandler):
    @endpoint
    async def get(self) -> None:
        job = self.text_arg("job")
        if job:
            self.reply(lab_rules.with_kinds(await self.core(core_job_form.job_notebook_info, job)))
            return
        path = self.text_arg("path", path=True)
        self.reply(
            lab_rules.with_kinds(await self.call(core_notebooks.notebook_info, self.root, path))
        )


class CronHandler(ApiHandler):
    @endpoint
    async def get(self) -> None:
        count = self.int_arg("count", 3)
        schedule = self.text_arg("schedule")
        zone = self.text_arg("timezone", "UTC")
        self.reply(await self.call(core_notebooks.cron_preview, schedule, zone, count))


class TimezonesHandler(ApiHandler):
    @endpoint
    async def get(self) -> None:
        self.reply({"timezones": await self.call(core_notebooks.timezones)})


class TemplatesApiHandler(ApiHandler):
    """The launcher's *New notebook from template*: `nbprod templates list` and `nbprod new`."""

    @endpoint
    async def get(self) -> None:
        found = await self.call(core_notebooks.templates_info, self.settings_)
        self.reply({"templates": found})

    @endpoint
    async def post(self) -> None:
        form = self.body(shape.TEMPLATE_FORM, required=True)
        created = await self.call(core_notebooks.new_from_template, self.settings_, self.root, form)
        self.reply(created, 201)


class JobsApiHandler(ApiHandler):
    @endpoint
    async def get(self) -> None:
        views = await self.core(core_jobs.list_jobs)
        self.reply({"jobs": [job_row(view) for view in views]})

    @endpoint
    async def post(self) -> None:
        form = self.body(shape.JOB_FORM)
        saved = await self.core(core_job_form.save_job, form, root=self.root)
        self.reply(saved_answer(saved), 201)


class JobApiHandler(ApiHandler):
    @endpoint
    async def get(self, name: str) -> None:
        self.reply(job_answer(await self.core(core_jobs.show_job, name, 3)))

    @endpoint
    async def put(self, name: str) -> None:
        form = self.body(shape.JOB_FORM, required=True)
        saved = await self.core(core_job_form.save_job, form, root=self.root, name=name)
        self.reply(saved_answer(saved))

    @endpoint
    async def delete(self, name: str) -> None:
        deleted = await self.core(core_jobs.delete_job, name)
        self.reply({"deleted": deleted.name, "cancelled_queued": deleted.cancelled_queued})


class JobPauseHandler(ApiHandler):
    @endpoint
    async def post(self, name: str, action: str) -> None:
        view = await self.core(core_jobs.set_paused, name, action == "pause")
        self.reply(job_answer(view))


class JobRunHandler(ApiHandler):
    @endpoint
    async def post(self, name: str) -> None:
        form = self.body(shape.JOB_RUN_FORM)
        run_id = await self.core(core_jobs.run_job_now, name, form.get("parameters"))
        await self.ensure_executed(run_id)
        self.reply(queued(run_id, name), 202)


class RunsApiHandler(ApiHandler):
    @endpoint
    async def get(self) -> None:
        job = self.text_arg("job") or None
        limit = self.int_arg("limit", 30)
        runs = await self.call(
            functools.partial(rest.list_runs, self.settings_, job=job, limit=limit)
        )
        self.reply({"runs": runs})

    @endpoint
    async def post(self) -> None:
        form = self.body(shape.RUN_FORM)
        request = await self.core(core_notebooks.run_notebook_now, form, root=self.root)
        await self.ensure_executed(request.run_id)
        self.reply(queued(request.run_id, request.job), 202)


class SweepsApiHandler(ApiHandler):
    @endpoint
    async def post(self) -> None:
        form = self.body(shape.SWEEP_FORM, required=True)
        info = await self.core(core_sweeps.sweep_from_form, form, root=self.root)
        await self.ensure_executed(*info.run_ids)
        self.reply(
            {
                "sweep_id": info.sweep_id,
                "job": info.job,
                "swept": info.swept,
                "run_ids": info.run_ids,
                "count": len(info.run_ids),
                "page": f"nbprod/sweeps/{info.sweep_id}",
            },
            202,
        )


class RunApiHandler(ApiHandler):
    @endpoint
    async def get(self, run_id: str) -> None:
        self.reply(await self.call(rest.get_run, self.settings_, run_id))


class RunCancelHandler(ApiHandler):
    @endpoint
    async def post(self, run_id: str) -> None:
        self.reply(await self.call(rest.cancel_run, self.settings_, run_id), 202)


class RunOpenHandler(ApiHandler):
    @endpoint
    async def post(self, run_id: str) -> None:
        opened = await self.call(
            functools.partial(rest.open_output, self.settings_, run_id, root=self.root)
        )
        self.reply(opened)


class RunDebugHandler(ApiHandler):
    @endpoint
    async def post(self, run_id: str) -> None:
        form = self.body(shape.DEBUG_FORM)
        folder = form.get("folder") or core_debug.DEBUG_DIR
        written = await self.core(
            core_debug.write_debug_notebook, run_id, root=self.root, folder=folder
        )
        self.reply(written.to_dict(), 201)


class OutputHandler(ApiHandler):
    """The read-only ``nbprod-run`` drive of JupyterLab: a run's output from the store."""

    @endpoint
    async def get(self, path: str) -> None:
        from nbprod.core import outputs as core_outputs

        content = self.get_argument("content", "1") != "0"
        opened = await self.core(core_outputs.read_output, path, content=content)
        self.reply(opened.model())


class JobDriftHandler(ApiHandler):
    @endpoint
    async def get(self, name: str) -> None:
        self.reply((await self.core(core_drift.job_drift, name)).to_dict())


class JobUpdateHandler(ApiHandler):
    @endpoint
    async def post(self, name: str) -> None:
        await self.core(core_drift.update_job, name)
        self.reply(job_answer(await self.core(core_jobs.show_job, name, 3)))


class JobBackfillHandler(ApiHandler):
    @endpoint
    async def get(self, name: str) -> None:
        start, end = self.text_arg("from"), self.text_arg("to")
        self.reply((await self.core(core_backfill.plan_backfill, name, start, end)).to_dict())

    @endpoint
    async def post(self, name: str) -> None:
        form = self.body(shape.BACKFILL_FORM, required=True)
        done = await self.core(core_backfill.backfill_job, name, form.get("from"), form.get("to"))
        if done.run_ids:  # one list shared by at most `workers` burst workers, not one each
            await self.ensure_executed(*done.run_ids)
        self.reply(done.to_dict(), 202)


class PipelinesApiHandler(ApiHandler):
    @endpoint
    async def get(self) -> None:
        self.reply({"pipelines": await self.call(rest.list_pipelines, self.settings_)})


class PipelineApiHandler(ApiHandler):
    @endpoint
    async def get(self, name: str) -> None:
        runs = self.int_arg("runs", 10)
        self.reply(await self.call(rest.get_pipeline, self.settings_, name, runs))


class PipelineRunStartHandler(ApiHandler):
    @endpoint
    async def post(self, name: str) -> None:
        form = self.body(shape.PIPELINE_RUN_FORM)
        started = await self.call(
            rest.start_pipeline_run, self.settings_, name, form.get("parameters")
        )
        await self.ensure_pipeline_executed(started["run_id"])
        self.reply(started, 202)

    async def ensure_pipeline_executed(self, run_id: str) -> None:
        """A pipeline's steps are queued one after another as they become ready, so with
        no scheduler's workers alive a background thread drains the whole run."""
        embedded = self.settings.get("nbprod_embedded")
        if embedded is not None and embedded.state == "active":
            return
        if not await self.core(core_jobs.workers_alive):
            threading.Thread(
                target=rest.drain_pipeline_run,
                args=(self.settings_, run_id),
                name=f"nbprod-pipeline-{run_id}",
                daemon=True,
            ).start()


class PipelineRunApiHandler(ApiHandler):
    @endpoint
    async def get(self, run_id: str) -> None:
        self.reply(await self.call(rest.get_pipeline_run, self.settings_, run_id))


class PipelineRunCancelHandler(ApiHandler):
    @endpoint
    async def post(self, run_id: str) -> None:
        self.reply(await self.call(rest.cancel_pipeline_run, self.settings_, run_id), 202)


_JOB = r"([A-Za-z0-9][A-Za-z0-9_.\-]{0,99})"
_RUN = r"([^/]+)"

API_ROUTES = [
    (r"/nbprod/api/info", InfoHandler),
    (r"/nbprod/api/parameters", ParametersHandler),
    (r"/nbprod/api/cron", CronHandler),
    (r"/nbprod/api/timezones", TimezonesHandler),
    (r"/nbprod/api/templates", TemplatesApiHandler),
    (r"/nbprod/api/jobs", JobsApiHandler),
    (rf"/nbprod/api/jobs/{_JOB}", JobApiHandler),
    (rf"/nbprod/api/jobs/{_JOB}/(pause|resume)", JobPauseHandler),
    (rf"/nbprod/api/jobs/{_JOB}/runs", JobRunHandler),
    (r"/nbprod/api/runs", RunsApiHandler),
    (r"/nbprod/api/sweeps", SweepsApiHandler),
    (rf"/nbprod/api/runs/{_RUN}", RunApiHandler),
    (rf"/nbprod/api/runs/{_RUN}/cancel", RunCancelHandler),
    (rf"/nbprod/api/runs/{_RUN}/open", RunOpenHandler),
    (rf"/nbprod/api/runs/{_RUN}/debug", RunDebugHandler),
    (r"/nbprod/api/outputs/(.+)", OutputHandler),
    (rf"/nbprod/api/jobs/{_JOB}/drift", JobDriftHandler),
    (rf"/nbprod/api/jobs/{_JOB}/update", JobUpdateHandler),
    (rf"/nbprod/api/jobs/{_JOB}/backfill", JobBackfillHandler),
    (r"/nbprod/api/pipelines", PipelinesApiHandler),
    (rf"/nbprod/api/pipelines/{_JOB}", PipelineApiHandler),
    (rf"/nbprod/api/pipelines/{_JOB}/runs", PipelineRunStartHandler),
    (rf"/nbprod/api/pipeline-runs/{_RUN}", PipelineRunApiHandler),
    (rf"/nbprod/api/pipeline-runs/{_RUN}/cancel", PipelineRunCancelHandler),
]
"""The REST API's routes (pattern, handler); every one is in specification/nbprod-api.yml."""
