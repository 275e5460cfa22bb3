"""Thin tornado handlers: parse the request, call a view in a worker thread, render.

Every page answers HTML, or JSON with a ``.json`` suffix or ``?format=json`` (the same
context either way). Every handler is GET-only and authenticated (jupyter_server's token
or login); errors become a short JSON or HTML message with the right status.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.utils import url_path_join
from tornado import web

from nbprod.errors import (
    BadInput,
    CatalogError,
    Conflict,
    CorruptData,
    NbprodError,
    NotFound,
    StoreError,
)
from nbprod.server.browse_data import BrowseData
from nbprod.server.render import CodeView
from nbprod.server.views import diff as diff_view
from nbprod.server.views import files as files_view
from nbprod.server.views import job as job_view
from nbprod.server.views import jobs as jobs_view
from nbprod.server.views import pipeline_run as pipeline_run_view
from nbprod.server.views import pipelines as pipelines_view
from nbprod.server.views import run as run_view
from nbprod.server.views import search as search_view
from nbprod.server.views import sweeps as sweeps_view
from nbprod.server.views.common import dumps

log = logging.getLogger("nbprod.server")

NAME = "nbprod"
PAGE_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "frame-src 'self'",
        "frame-ancestors 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)
"""The app's own pages: no inline script at all, so escaped-or-not text cannot run."""

SANDBOX_CSP = "; ".join(
    [
        "sandbox allow-scripts",
        "default-src 'none'",
        "script-src 'unsafe-inline' 'unsafe-eval'",
        "style-src 'unsafe-inline'",
        "img-src data: blob:",
        "font-src data:",
        "media-src data: blob:",
        "frame-ancestors 'self'",
    ]
)
"""Rendered notebooks and stored HTML: scripts run, but in an opaque origin (never the
app's), and they can load nothing from any server. No ``allow-popups``: ``window.open`` and
``target=_blank`` links would reach any server (a popup is a new page, outside the frame's
CSP); no ``allow-top-navigation`` or ``allow-forms`` either. The frame navigating itself is
held by the embedding page's ``frame-src 'self'``."""

ACTIVE_TYPES = (
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/xml",
    "application/xml",
)
"""Stored files whose scripts run when a browser opens them as a page."""


class _Failure(web.HTTPError):
    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(status)
        self.message = message
        self.field = field  # the query argument to blame (FieldError), in the JSON answer


def failure_for(exc: BaseException) -> _Failure:
    """The HTTP status and one-line message for an error raised by a view."""
    if isinstance(exc, _Failure):
        return exc
    if isinstance(exc, (NotFound, KeyError)):
        text = str(exc) if not isinstance(exc, KeyError) else f"not found: {exc.args[0]!r}"
        return _Failure(404, text)
    if isinstance(exc, Conflict):
        return _Failure(409, str(exc))
    if isinstance(exc, BadInput):
        return _Failure(400, str(exc), getattr(exc, "field", None))
    if isinstance(exc, CorruptData):
        return _Failure(502, f"corrupt data in the store: {exc}")
    if isinstance(exc, StoreError):
        return _Failure(502, f"store error: {exc}")
    if isinstance(exc, CatalogError):
        return _Failure(503, f"catalog error: {exc}")
    if isinstance(exc, NbprodError):
        return _Failure(500, str(exc))
    log.error("unexpected error in the browse UI", exc_info=exc)
    return _Failure(500, f"internal error ({type(exc).__name__}); see the server log")


def page(method: Callable[..., Any]) -> Callable[..., Any]:
    """Authenticate, authorize (read), and turn view errors into short messages."""

    @web.authenticated
    @authorized
    @functools.wraps(method)
    async def wrapper(self: BaseHandler, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except web.HTTPError as exc:
            if isinstance(exc, _Failure) or exc.status_code < 500:
                raise
            raise failure_for(exc) from exc
        except Exception as exc:
            raise failure_for(exc) from exc

    return wrapper


class BaseHandler(ExtensionHandlerMixin, JupyterHandler):
    auth_resource = NAME
    json_only = False

    def initialize(self, name: str = NAME, **kwargs: Any) -> None:
        super().initialize(name=name, **kwargs)
        self._json = False

    @property
    def content_security_policy(self) -> str:
        return PAGE_CSP

    @property
    def service(self) -> BrowseData:
        return self.settings["nbprod_service"]

    @property
    def prefix(self) -> str:
        return url_path_join(self.base_url, NAME)

    def wants_json(self, suffix: str | None = None) -> bool:
        self._json = bool(self.json_only or suffix or self.get_argument("format", "") == "json")
        return self._json

    def get_login_url(self) -> str:
        # Tools asking for JSON get 403 instead of a redirect to the login page.
        if (
            self.json_only
            or self.request.path.endswith(".json")
            or (self.get_argument("format", "") == "json")
        ):
            raise web.HTTPError(403)
        return super().get_login_url()

    def args(self) -> dict[str, list[str]]:
        return {
            key: [v.decode("utf-8", "replace") for v in values]
            for key, values in self.request.query_arguments.items()
        }

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        from tornado.ioloop import IOLoop

        return await IOLoop.current().run_in_executor(None, fn, *args)

    def prerender(self, key: str, code: CodeView = CodeView.AS_SAVED) -> None:
        """Start rendering an output notebook now, not when the page's frame asks for it
        (nbconvert takes 0.5-6 s on a cache miss; the frame stayed blank meanwhile)."""
        from tornado.ioloop import IOLoop

        IOLoop.current().run_in_executor(None, self.service.prerender, key, code)

    def code_view(self) -> CodeView:
        """The ``?code=`` choice (shown, hidden, as-saved); 400 for any other value."""
        return CodeView.parse(self.get_argument("code", None))

    def url(self, *parts: str) -> str:
        return url_path_join(self.prefix, *[quote(p, safe="/") for p in parts])

    def respond(
        self, template: str, ctx: Any, title: str, json_suffix: bool = True, **extra: Any
    ) -> None:
        if self._json:
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.finish(dumps(ctx))
            return
        json_url = None
        if json_suffix and not self.request.path.endswith("/"):
            json_url = self.request.path + ".json"
        html = self.render_page(template, ctx=ctx, title=title, json_url=json_url, **extra)
        self.finish(html)

    def render_page(self, template: str, **context: Any) -> str:
        env = self.settings["nbprod_jinja2_env"]
        context.setdefault("nav", "")
        query = self.request.query
        json_url = context.pop("json_url", None)
        if json_url is None:
            sep = "&" if query else ""
            json_url = f"{self.request.path}?{query}{sep}format=json"
        elif query:
            json_url = f"{json_url}?{query}"
        return env.get_template(template).render(
            base=self.prefix,
            static=lambda path: self.static_url(path),
            json_url=json_url,
            **context,
        )

    def opened_as_page(self) -> bool:
        """The browser asks for a top-level page (a pasted link), not a frame's content:
        a page has no embedding ``frame-src`` to hold its navigations."""
        return self.request.headers.get("Sec-Fetch-Dest", "") == "document"

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = getattr(exc, "message", None) or getattr(exc, "log_message", None)
        message = message or self._reason
        self.clear_header("Content-Disposition")
        self.clear_header("Content-Security-Policy")
        self.set_header("Content-Security-Policy", PAGE_CSP)
        if self._json or self.json_only or self.request.path.endswith(".json"):
            self.set_header("Content-Type", "application/json; charset=utf-8")
            field = getattr(exc, "field", None)
            self.finish(dumps({"status": status_code, "message": message, "field": field}))
            return
        self.set_header("Content-Type", "text/html; charset=utf-8")
        try:
            html = self.render_page(
                "error.html", status=status_code, message=message, title=f"{status_code}"
            )
        except Exception:  # never fail while failing
            from html import escape

            html = f"<h1>{status_code}</h1><p>{escape(str(message))}</p>"
        self.finish(html)


# -- pages ------------------------------------------------------------------------------


class JobsHandler(BaseHandler):
    @page
    async def get(self, suffix: str | None = None) -> None:
        self.wants_json(suffix)
        ctx = await self.call(jobs_view.build, self.service)
        self.respond("jobs.html", ctx, "Jobs", nav="jobs")


class JobHandler(BaseHandler):
    @page
    async def get(self, name: str) -> None:
        name, suffix = await self.call(_job_name, self.service, name)
        self.wants_json(suffix)
        ctx = await self.call(job_view.build, self.service, name, self.args())
        self.respond("job.html", ctx, f"Job {name}", nav="jobs")


def _job_name(service: BrowseData, name: str) -> tuple[str, str | None]:
    """``daily.json`` is the JSON of job ``daily`` unless a job is named ``daily.json``."""
    if name.endswith(".json") and service.catalog.job(service.store.url, name) is None:
        return name[: -len(".json")], ".json"
    return name, None


class RunHandler(BaseHandler):
    @page
    async def get(self, run_id: str, suffix: str | None = None) -> None:
        self.wants_json(suffix)
        code = self.code_view()
        ctx = await self.call(run_view.build, self.service, run_id, code)
        if ctx.output_key and not self._json and not ctx.live:
            self.prerender(ctx.output_key, code)
        lab_url = self.settings.get("nbprod_lab_url")  # inside JupyterLab only
        if lab_url:
            self.xsrf_token  # noqa: B018 - sets the _xsrf cookie the Debug button sends back
        self.respond("run.html", ctx, f"Run {run_id}", nav="jobs", lab_url=lab_url)


class RunStatusHandler(BaseHandler):
    json_only = True

    @page
    async def get(self, run_id: str) -> None:
        self.wants_json()
        self.set_header("Cache-Control", "no-store")
        ctx = await self.call(run_view.status, self.service, run_id)
        self.respond("", ctx, "")


class DiffHandler(BaseHandler):
    @page
    async def get(self, a: str | None = None, b: str | None = None, suffix: str | None = None):
        if a is None:
            a, b = self.get_argument("a", ""), self.get_argument("b", "")
            if not a or not b:
                raise _Failure(400, "compare two runs: /nbprod/diff/RUN_A/RUN_B or ?a=&b=")
            self.redirect(self.url("diff", a, b))
            return
        self.wants_json(suffix)
        ctx = await self.call(diff_view.build, self.service, a, b)
        self.respond("diff.html", ctx, f"Diff {a} ↔ {b}", nav="jobs")


class SweepsHandler(BaseHandler):
    @page
    async def get(self, suffix: str | None = None) -> None:
        self.wants_json(suffix)
        ctx = await self.call(sweeps_view.listing, self.service)
        self.respond("sweeps.html", ctx, "Sweeps", nav="sweeps")


class SweepHandler(BaseHandler):
    @page
    async def get(self, sweep_id: str, suffix: str | None = None) -> None:
        self.wants_json(suffix)
        ctx = await self.call(sweeps_view.build, self.service, sweep_id, self.args())
        self.respond("sweep.html", ctx, f"Sweep {sweep_id}", nav="sweeps")


class PipelinesHandler(BaseHandler):
    @page
    async def get(self, suffix: str | None = None) -> None:
        self.wants_json(suffix)
        ctx = await self.call(pipelines_view.listing, self.service)
        self.respond("pipelines.html", ctx, "Pipelines", nav="pipelines")


class PipelineHandler(BaseHandler):
    @page
    async def get(self, name: str) -> None:
        name, suffix = await self.call(_pipeline_name, self.service, name)
        self.wants_json(suffix)
        ctx = await self.call(pipelines_view.build, self.service, name)
        self.respond("pipeline.html", ctx, f"Pipeline {name}", nav="pipelines")


def _pipeline_name(service: BrowseData, name: str) -> tuple[str, str | None]:
    """``daily.json`` is the JSON of pipeline ``daily`` unless one is named ``daily.json``."""
    from nbprod.pipelines.versions import pipeline_names

    if name.endswith(".json") and name not in pipeline_names(service.store):
        return name[: -len(".json")], ".json"
    return name, None


class PipelineRunHandler(BaseHandler):
    @page
    async def get(self, run_id: str, suffix: str | None = None) -> None:
        self.wants_json(suffix)
        ctx = await self.call(pipeline_run_view.build, self.service, run_id)
        if ctx.run_id != run_id and not self._json:  # a unique prefix: the run's own URL
            self.redirect(self.url("pipeline-runs", ctx.run_id))
            return
        self.respond("pipeline_run.html", ctx, f"Pipeline run {ctx.run_id}", nav="pipelines")


class SearchHandler(BaseHandler):
    @page
    async def get(self, suffix: str | None = None) -> None:
        self.wants_json(suffix)
        ctx = await self.call(search_view.build, self.service, self.args())
        if ctx.run_id_match and not self._json and len(ctx.q.split()) == 1:
            self.redirect(self.url("runs", ctx.run_id_match))
            return
        self.respond("search.html", ctx, "Search", nav="search")


# -- files ------------------------------------------------------------------------------


class FilesHandler(BaseHandler):
    @page
    async def get(self, path: str | None = None) -> None:
        self.wants_json()
        ctx = await self.call(files_view.build, self.service, path or "", self.args())
        template = "folder.html" if isinstance(ctx, files_view.FolderContext) else "file.html"
        title = ctx.path or "store"
        self.respond(template, ctx, title, json_suffix=False, nav="files")


class ContentsHandler(BaseHandler):
    """``/nbprod/api/contents/<path>``: the Jupyter contents API's shape, read-only."""

    json_only = True

    @page
    async def get(self, path: str | None = None) -> None:
        self.wants_json()
        model = await self.call(files_view.contents, self.service, path or "", self.args())
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(dumps(model))


class RawHandler(BaseHandler):
    """The stored bytes, for download or for a sandboxed frame (stored HTML, images)."""

    @property
    def content_security_policy(self) -> str:
        return SANDBOX_CSP

    @page
    async def get(self, path: str) -> None:
        from nbprod.server.viewers import mimetype

        name = path.rstrip("/").rsplit("/", 1)[-1]
        kind = mimetype(name)
        download = self.get_argument("download", "") not in ("", "0")
        if kind in ACTIVE_TYPES and not download and self.opened_as_page():
            self.redirect(self.url("files", path.strip("/")))  # shown there, in the frame
            return
        data = await self.call(self.service.read, path.strip("/"))
        if kind.startswith("text/") or kind in ("application/json", "application/x-ipynb+json"):
            kind += "; charset=utf-8"
        self.set_header("Content-Type", kind)
        self.set_header("X-Content-Type-Options", "nosniff")
        if download:
            self.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{quote(name)}")
        self.finish(data)


class RenderHandler(BaseHandler):
    """An output notebook as HTML (nbconvert, cached), for the run page's sandboxed frame."""

    @property
    def content_security_policy(self) -> str:
        return SANDBOX_CSP

    @page
    async def get(self, path: str) -> None:
        path = path.strip("/")
        if not path.endswith(".ipynb"):
            raise _Failure(400, f"only notebooks (.ipynb) are rendered, not {path!r}")
        if self.opened_as_page():
            self.redirect(self.url("files", path))  # the file page frames the rendering
            return
        code = self.code_view()
        data = await self.call(self.service.read, path)
        html, cached = await self.call(self.service.renderer.render, data, code)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("X-Nbprod-Render-Cache", "hit" if cached else "miss")
        self.finish(html)


class UnknownApiHandler(BaseHandler):
    """Any other path under /nbprod/api/: a JSON 404 (not Jupyter's HTML page), any method."""

    json_only = True

    def check_xsrf_cookie(self) -> None:
        return None  # it does nothing, so there is nothing to forge

    def _unknown(self, *args: Any) -> None:
        raise _Failure(404, f"no API route {self.request.method} {self.request.path}")

    get = post = put = delete = patch = _unknown
