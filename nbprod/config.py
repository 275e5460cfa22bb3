"""Settings: every default in one place, each overridable by config file, environment and flag.

Precedence (lowest first): built-in default < config file < ``NBPROD_*`` variable < CLI flag.
The config file is TOML: ``$NBPROD_CONFIG`` or ``~/.config/nbprod/config.toml``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from nbprod.errors import BadInput, brief


def default_home(environ: Mapping[str, str]) -> Path:
    """Where the embedded default store, spool and (later) catalog live."""
    if environ.get("NBPROD_HOME"):
        return Path(environ["NBPROD_HOME"]).expanduser()
    data = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data).expanduser() / "nbprod"


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Each field has an ``NBPROD_<FIELD>`` environment variable."""

    home: Path
    """Root of nbprod's local state (default store, spool)."""
    store: str
    """Store URL: a path, ``file://PATH`` or ``s3://bucket/prefix``. Default: ``<home>/store``."""
    kernel: str | None = None
    """Kernel name; default: the notebook's own kernelspec."""
    timeout: float | None = None
    """Seconds allowed for a whole run; None means no limit."""
    cell_timeout: float | None = None
    """Seconds allowed for one cell; None means no limit."""
    upload_attempts: int = 3
    """How many times a store upload is tried before the run is spooled locally."""
    upload_backoff: float = 0.5
    """First retry delay in seconds; doubles each attempt."""
    autosave_seconds: float = 10.0
    """How often the partial output notebook is written locally while a run executes."""
    kill_grace: float = 5.0
    """Seconds between interrupting a kernel (timeout, Ctrl-C) and killing it."""
    progress_seconds: float = 3.0
    """How often a running run's record is re-published with cells done/total (0: never)."""
    catalog: str | None = None
    """SQLAlchemy URL of the catalog; default: sqlite:///<home>/catalog.db"""
    workers: int = 2
    """Worker processes `nbprod scheduler` starts: the global concurrency limit (0: none,
    for external `nbprod worker` processes only)."""
    executor: str = "local"
    """Where queued runs execute: ``local`` (worker processes here, or elsewhere with
    ``workers = 0``), ``dask`` (a Dask distributed cluster), or a plug-in's name."""
    dask_scheduler: str | None = None
    """The Dask scheduler's address (``tcp://host:8786``) for the ``dask`` executor."""
    warm_kernels: bool = True
    """Each worker starts the kernel of its next run ahead of time (for the kernel name and
    working directory of the run it just took), so a run does not wait for a kernel's boot;
    a kernel still serves one run only. Off: every run starts its own kernel when claimed."""
    heartbeat_seconds: float = 2.0
    """How often a worker refreshes its running run's heartbeat (and sees cancels)."""
    lost_after: float = 30.0
    """A running run whose heartbeat is this old (seconds) is lost; on the scheduler's own
    host a worker whose process is gone is detected at once."""
    shutdown_grace: float = 60.0
    """On scheduler shutdown, seconds running runs get to finish before they are cancelled."""
    smtp_host: str | None = None
    """SMTP server for e-mail notifications; None: e-mail targets fail with a clear error."""
    smtp_port: int = 25
    smtp_user: str | None = None
    """Login name for the SMTP server; None: no login."""
    smtp_password: str | None = field(default=None, repr=False)
    smtp_from: str = "nbprod@localhost"
    """Sender address of notification e-mails."""
    smtp_starttls: bool = False
    """Upgrade the SMTP connection with STARTTLS before logging in."""
    templates: str | None = None
    """A folder of the user's own notebook templates (``*.ipynb``) for ``nbprod new``; they
    override built-in templates of the same name."""

    @property
    def spool_dir(self) -> Path:
        return self.home / "spool"

    @property
    def catalog_url(self) -> str:
        """The configured catalog URL, or the SQLite file in home (created when opened)."""
        return self.catalog or f"sqlite:///{self.home / 'catalog.db'}"

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        environ = os.environ if environ is None else environ
        home = default_home(environ)
        values: dict[str, Any] = {}
        values.update(_read_config_file(environ))
        for f in fields(cls):
            env_value = environ.get(f"NBPROD_{f.name.upper()}")
            if env_value not in (None, ""):
                values[f.name] = env_value
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        if "home" in values:
            home = Path(str(values.pop("home"))).expanduser()
        store = str(values.pop("store", "") or (home / "store"))
        settings = cls(home=home, store=store)
        return replace(settings, **{k: _convert(k, v) for k, v in values.items()})


_NUMERIC = {
    "progress_seconds": float,
    "workers": int,
    "heartbeat_seconds": float,
    "lost_after": float,
    "shutdown_grace": float,
    "timeout": float,
    "cell_timeout": float,
    "upload_attempts": int,
    "upload_backoff": float,
    "autosave_seconds": float,
    "kill_grace": float,
    "smtp_port": int,
}

_MAXIMUM = {"workers": 1000, "upload_attempts": 100, "smtp_port": 65535}
"""Whole-number settings' upper bounds; seconds are bounded by durations.MAX_SECONDS."""

_BOOLEAN = {"smtp_starttls", "warm_kernels"}
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def _convert(name: str, value: Any) -> Any:
    known = {f.name for f in fields(Settings)}
    if name not in known:
        raise BadInput(f"unknown setting {name!r} (known: {', '.join(sorted(known))})")
    if name in _BOOLEAN and value is not None:
        return _to_bool(name, value)
    if name == "catalog" and value is not None:
        return _catalog_url(value)
    kind = _NUMERIC.get(name)
    if kind is None or value is None:
        return value
    if isinstance(value, bool):
        raise BadInput(f"setting {name!r} expects a number, got {value!r}")
    try:
        number = kind(value)
    except (TypeError, ValueError, OverflowError):
        raise BadInput(f"setting {name!r} expects a number, got {brief(value)}") from None
    if kind is float:
        from nbprod.durations import check_seconds

        return check_seconds(number, f"setting {name!r}", value)
    if number < 0:
        raise BadInput(f"setting {name!r} must not be negative, got {value!r}")
    if number > _MAXIMUM.get(name, 1_000_000):
        raise BadInput(f"setting {name!r} must be at most {_MAXIMUM.get(name, 1_000_000)}")
    return number


def _catalog_url(value: Any) -> str:
    """A catalog URL SQLAlchemy can parse, with a dialect it knows: checked before anything
    runs (a bad one used to fail only after the run, as a warning)."""
    from nbprod.catalog.engine import check_url

    return check_url(str(value), "setting 'catalog'")


def _to_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise BadInput(f"setting {name!r} expects true or false, got {value!r}")


def config_path(environ: Mapping[str, str]) -> Path:
    if environ.get("NBPROD_CONFIG"):
        return Path(environ["NBPROD_CONFIG"]).expanduser()
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "nbprod" / "config.toml"


def _read_config_file(environ: Mapping[str, str]) -> dict[str, Any]:
    path = config_path(environ)
    if not path.exists():
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    from nbprod.safe_yaml import read_text

    text = read_text(path, "config file")  # bounded; refuses /dev/zero and binary files
    try:
        data = tomllib.loads(text)
    except (ValueError, RecursionError) as exc:
        reason = str(exc) or "nested too deeply"
        raise BadInput(f"cannot read config file {path}: {reason}") from None
    section = data.get("nbprod", data)
    return {str(k).replace("-", "_"): v for k, v in section.items() if not isinstance(v, dict)}
