"""Every URL of the browse UI, in one list (relative to the server's base URL)."""

from __future__ import annotations

from nbprod.server import handlers as h
from nbprod.server.events import EventsHandler
from nbprod.store import layout

_RUN = rf"({layout.RUN_ID_PATTERN}|[^/]+?)"

ROUTES = [
    (r"/nbprod/?", h.JobsHandler),
    (r"/nbprod/jobs(\.json)?", h.JobsHandler),
    (r"/nbprod/jobs/([^/]+)", h.JobHandler),
    (rf"/nbprod/runs/{_RUN}(\.json)?", h.RunHandler),
    (rf"/nbprod/diff/{_RUN}/{_RUN}(\.json)?", h.DiffHandler),
    (r"/nbprod/diff/?", h.DiffHandler),
    (r"/nbprod/search(\.json)?", h.SearchHandler),
    (r"/nbprod/sweeps/?(\.json)?", h.SweepsHandler),
    (r"/nbprod/sweeps/([^/]+?)(\.json)?", h.SweepHandler),
    (r"/nbprod/pipelines/?(\.json)?", h.PipelinesHandler),
    (r"/nbprod/pipelines/([^/]+)", h.PipelineHandler),
    (rf"/nbprod/pipeline-runs/{_RUN}(\.json)?", h.PipelineRunHandler),
    (r"/nbprod/files/?", h.FilesHandler),
    (r"/nbprod/files/(.+)", h.FilesHandler),
    (r"/nbprod/raw/(.+)", h.RawHandler),
    (r"/nbprod/render/(.+)", h.RenderHandler),
    (r"/nbprod/api/contents/?", h.ContentsHandler),
    (r"/nbprod/api/contents/(.+)", h.ContentsHandler),
    (rf"/nbprod/api/runs/{_RUN}/status", h.RunStatusHandler),
    (r"/nbprod/api/events", EventsHandler),
]
"""(pattern, handler) pairs; jupyter_server prefixes each with its base URL."""

FALLBACK_ROUTES = [(r"/nbprod/api(?:/.*)?", h.UnknownApiHandler)]
"""Last of all (after the REST API's routes too): unknown API paths answer JSON 404."""
