"""The REST API under ``/nbprod/api/`` (described in specification/nbprod-api.yml).

Thin handlers over :mod:`nbprod.server.rest`: parse the request, run the operation in a
worker thread, answer JSON. Authenticated and authorized like every Jupyter handler
(``@authorized``: GET is ``read``, POST/PUT/DELETE are ``write`` on the ``nbprod``
resource); errors are ``{"status", "message", "field"}`` with 400 / 404 / 409 / 502 / 503.
Registered only inside a full Jupyter server, never in the read-only ``nbprod browse``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from nbprod.errors import Conflict, FieldError
from nbprod.server import request_shape as shape
from nbprod.server import rest
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

    def body(self, *, required: bool = False) -> dict[str, Any]:
        if required and not self.request.body.strip():
            raise FieldError("the request needs a JSON object body")
        return shape.parse_body(self.request.body)

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

    async def ensure_executed(self, run_id: str) -> None:
        """A queued run needs a worker: the embedded scheduler's, an external one's, or
        else a one-off background worker for just this run."""
        embedded = self.settings.get("nbprod_embedded")
        if embedded is not None and embedded.state == "active":
            return
        if not await self.call(rest.workers_alive, self.settings_):
            await self.call(rest.start_burst_worker, self.settings_, run_id)

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
        self.reply(
            {
                "api_version": rest.API_VERSION,
                "version": version,
                "store": self.service.store.url,
                "embedded_scheduler": embedded.status() if embedded else {"state": "off"},
                "outputs_dir": rest.OUTPUTS_DIR,
            }
        )


class ParametersHandler(ApiHandler):
    @endpoint
    async def get(self) -> None:
        job = self.text_arg("job")
        if job:
            self.reply(await self.call(rest.job_notebook_info, self.settings_, job))
            return
        path = self.text_arg("path", path=True)
        self.reply(await self.call(rest.notebook_info, self.root, path))


class CronHandler(ApiHandler):
    @endpoint
    async def get(self) -> None:
        schedule = self.get_argument("schedule", "")
        zone = self.get_argument("timezone", "UTC")
        count = self.int_arg("count", 3)
        self.reply(await self.call(rest.cron_preview, schedule, zone, count))


class TimezonesHandler(ApiHandler):
    @endpoint
    async def get(self) -> None:
        self.reply({"timezones": await self.call(rest.timezones)})


class JobsApiHandler(ApiHandler):
    @endpoint
    async def get(self) -> None:
        self.reply({"jobs": await self.call(rest.list_jobs, self.settings_)})

    @endpoint
    async def post(self) -> None:
        job = await self.call(
            functools.partial(rest.save_job, self.settings_, self.body(), root=self.root)
        )
        self.reply(job, 201)


class JobApiHandler(ApiHandler):
    @endpoint
    async def get(self, name: str) -> None:
        self.reply(await self.call(rest.get_job, self.settings_, name))

    @endpoint
    async def put(self, name: str) -> None:
        job = await self.call(
            functools.partial(
                rest.save_job, self.settings_, self.body(required=True), root=self.root, name=name
            )
        )
        self.reply(job)

    @endpoint
    async def delete(self, name: str) -> None:
        self.reply(await self.call(rest.delete_job, self.settings_, name))


class JobPauseHandler(ApiHandler):
    @endpoint
    async def post(self, name: str, action: str) -> None:
        self.reply(await self.call(rest.set_paused, self.settings_, name, action == "pause"))


class JobRunHandler(ApiHandler):
    @endpoint
    async def post(self, name: str) -> None:
        run = await self.call(rest.run_job_now, self.settings_, name, self.body())
        await self.ensure_executed(run["run_id"])
        self.reply(run, 202)


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
        run = await self.call(
            functools.partial(rest.run_notebook_now, self.settings_, self.body(), root=self.root)
        )
        await self.ensure_executed(run["run_id"])
        self.reply(run, 202)


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


_JOB = r"([A-Za-z0-9][A-Za-z0-9_.\-]{0,99})"
_RUN = r"([^/]+)"

API_ROUTES = [
    (r"/nbprod/api/info", InfoHandler),
    (r"/nbprod/api/parameters", ParametersHandler),
    (r"/nbprod/api/cron", CronHandler),
    (r"/nbprod/api/timezones", TimezonesHandler),
    (r"/nbprod/api/jobs", JobsApiHandler),
    (rf"/nbprod/api/jobs/{_JOB}", JobApiHandler),
    (rf"/nbprod/api/jobs/{_JOB}/(pause|resume)", JobPauseHandler),
    (rf"/nbprod/api/jobs/{_JOB}/runs", JobRunHandler),
    (r"/nbprod/api/runs", RunsApiHandler),
    (rf"/nbprod/api/runs/{_RUN}", RunApiHandler),
    (rf"/nbprod/api/runs/{_RUN}/cancel", RunCancelHandler),
    (rf"/nbprod/api/runs/{_RUN}/open", RunOpenHandler),
]
"""The REST API's routes (pattern, handler); every one is in specification/nbprod-api.yml."""
