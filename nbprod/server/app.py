"""The browse UI as a jupyter_server extension app.

Standalone (``nbprod browse``) it runs a server that exposes only these read-only pages
plus jupyter_server's login; inside JupyterLab's server it adds the same pages under the
server's own authentication.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.serverapp import ServerApp
from traitlets import Bool, Float, Int, Unicode

from nbprod.errors import BadInput

HERE = Path(__file__).parent
LOOPBACK = ("127.0.0.1", "localhost", "::1")


_NOT_FOR_BROWSE = (
    "Serving notebooks from local directory",
    "Jupyter Server ",
    "/nbprod/?token=...",
    "shut down all kernels",
    "is running without loading other extensions",
)
"""jupyter_server's start-up lines that are wrong or noise for ``nbprod browse``: it serves
no notebooks and runs no kernels, and its masked ``?token=...`` URL came before the real one
``nbprod browse: open ...`` prints."""


def _quiet_startup(record: logging.LogRecord) -> bool:
    message = record.getMessage()
    return not any(part in message for part in _NOT_FOR_BROWSE)


class BrowseServerApp(ServerApp):
    """A jupyter server without kernels, terminals, contents or shutdown endpoints."""

    default_services = ("auth", "security")
    announce: Any = None
    """Called with the server once it listens (``nbprod browse`` prints its URL)."""

    def init_logging(self) -> None:
        super().init_logging()
        self.log.addFilter(_quiet_startup)

    def start_app(self) -> None:
        super().start_app()
        if self.announce is not None:
            # The socket is bound by a callback queued during initialize: announce after it.
            self.io_loop.add_callback(self.announce, self)


class BrowseApp(ExtensionApp):
    name = "nbprod"
    description = "Browse nbprod jobs, runs and stored notebooks."
    extension_url = "/nbprod/"
    default_url = "/nbprod/"
    load_other_extensions = False
    # ExtensionApp's open_browser is a configurable trait: a plain ``open_browser = False``
    # here hid it, and every Jupyter server warned "Config option `open_browser` not
    # recognized by `BrowseApp`" when it passed its own setting on.
    open_browser = Bool(False, help="Never: the browse UI prints its URL.").tag(config=True)
    serverapp_class = BrowseServerApp

    static_paths = [str(HERE / "static")]
    template_paths = [str(HERE / "templates")]

    store = Unicode(
        "", help="Store URL to browse (a folder, file://PATH or s3://bucket/prefix)."
    ).tag(config=True)

    embedded_scheduler = Unicode(
        "auto",
        help="Inside a Jupyter server: 'auto' runs a scheduler (with local workers) while no "
        "`nbprod scheduler` is alive on the same store; 'off' never does. "
        "NBPROD_EMBEDDED_SCHEDULER overrides it.",
    ).tag(config=True)

    embedded_workers = Int(
        0, help="Worker processes of the embedded scheduler (0: the `workers` setting)."
    ).tag(config=True)

    live_events = Bool(
        True,
        help="Push run changes to the pages and the JupyterLab panel (GET /nbprod/api/events); "
        "off: they poll. NBPROD_LIVE_EVENTS=off turns it off too.",
    ).tag(config=True)

    live_events_interval = Float(
        0.1, help="Seconds between looks at the catalog while a browser is connected."
    ).tag(config=True)

    @property
    def standalone(self) -> bool:
        """``nbprod browse``: read-only pages only, no REST API, no scheduler."""
        return isinstance(self.serverapp, BrowseServerApp)

    @classmethod
    def get_extension_package(cls) -> str:
        return "nbprod.server"  # the module with _jupyter_server_extension_points

    def initialize_settings(self) -> None:
        from nbprod.server.browse_data import BrowseData
        from nbprod.server.templating import make_environment

        service = BrowseData.from_store(self.store or None)
        self.settings.update(
            {
                "nbprod_service": service,
                "nbprod_jinja2_env": make_environment(self.template_paths),
            }
        )
        self.log.info("nbprod browse: store %s", service.store.url)
        from nbprod.server.events import enabled_from_env, make_hub

        if enabled_from_env(self.live_events):
            self.settings["nbprod_events"] = make_hub(service, self.live_events_interval)
        if not self.standalone and self.serverapp.jpserver_extensions.get("jupyterlab"):
            from jupyter_server.utils import url_path_join

            self.settings["nbprod_lab_url"] = url_path_join(self.serverapp.base_url, "lab")
        if not self.standalone:
            self.settings["nbprod_embedded"] = self._start_embedded(service.settings)

    def _start_embedded(self, settings: Any) -> Any:
        from nbprod.server.embedded import EmbeddedScheduler, mode_from_env

        if mode_from_env(self.embedded_scheduler) == "off":
            self.log.info("nbprod: embedded scheduler off")
            return None
        embedded = EmbeddedScheduler(
            settings, workers=self.embedded_workers or settings.workers or 1
        )
        embedded.start()
        return embedded

    def initialize_handlers(self) -> None:
        from nbprod.server.routes import FALLBACK_ROUTES, ROUTES

        if not self.standalone:
            from nbprod.server.api_handlers import API_ROUTES

            self.handlers.extend(API_ROUTES)
        self.handlers.extend(ROUTES)
        self.handlers.extend(FALLBACK_ROUTES)

    async def stop_extension(self) -> None:
        events = self.settings.get("nbprod_events")
        if events is not None:
            events.close()
        embedded = self.settings.get("nbprod_embedded")
        if embedded is not None:
            from tornado.ioloop import IOLoop

            await IOLoop.current().run_in_executor(None, embedded.stop)
        service = self.settings.get("nbprod_service")
        if service is not None:
            service.close()


def launch(
    *,
    store: str | None,
    ip: str = "127.0.0.1",
    port: int = 8890,
    token: str | None = None,
    no_token: bool = False,
    announce: Any = None,
) -> None:
    """Serve the browse UI until interrupted (what ``nbprod browse`` runs)."""
    if no_token and ip not in LOOPBACK:
        raise BadInput(f"--no-token is only allowed on 127.0.0.1, not on {ip}")
    if no_token:
        token = ""
    elif not token:
        token = secrets.token_hex(24)
    argv = [
        f"--ServerApp.ip={ip}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.open_browser=False",
        "--ServerApp.answer_yes=True",
        # jupyter refuses root because a root kernel is dangerous; this server runs none.
        "--ServerApp.allow_root=True",
        f"--IdentityProvider.token={token}",
    ]
    if store:
        argv.append(f"--BrowseApp.store={store}")
    BrowseServerApp.announce = staticmethod(announce) if announce else None
    BrowseApp.launch_instance(argv)


def url_of(server: ServerApp) -> str:
    """The browse URL of a running server, with its token."""
    host = server.ip if server.ip not in ("", "0.0.0.0") else "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    url = f"http://{host}:{server.port}{server.base_url}nbprod/"
    token = server.identity_provider.token
    return f"{url}?token={token}" if token else url
