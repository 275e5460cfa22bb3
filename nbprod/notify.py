"""Run notifications: webhook, Slack-compatible webhook and e-mail (docs/notifications.md).

A job's ``notifications`` maps an event (``on_start``, ``on_success``, ``on_failure``) to a
list of targets. ``send`` delivers to each target in its own thread under one overall
deadline and never raises: a failing notifier never fails the run.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from nbprod import __version__
from nbprod.cells import label as cell_label
from nbprod.config import Settings
from nbprod.records import RunRecord
from nbprod.scraps import inline_values

logger = logging.getLogger("nbprod.notify")

EVENTS = ("on_start", "on_success", "on_failure")
TARGET_FIELDS = {"email": "to", "webhook": "url", "slack": "url"}
"""Each target type and the field it cannot do without."""
TARGET_TYPES = tuple(TARGET_FIELDS)
"""The kinds of notification target ``send`` delivers to."""
_DEFAULT_SUBJECT = "[nbprod] {job} {status} ({run_id})"


@dataclass
class Delivery:
    target: str
    """What was notified, without secrets: ``webhook https://host/path``, ``email a@b``."""
    ok: bool
    error: str | None = None
    seconds: float = 0.0


def _status(record: RunRecord) -> str:
    return str(getattr(record.status, "value", record.status))


def payload(event: str, record: RunRecord, output_location: str | None = None) -> dict[str, Any]:
    """The JSON document a webhook receives (and e-mails attach as ``run.json``)."""
    error = record.error
    scraps = inline_values(record.scraps)
    data = {
        "event": event,
        "run_id": record.run_id,
        "job": record.job,
        "status": _status(record),
        "attempt": record.attempt,
        "scheduled_for": getattr(record, "scheduled_for", None),
        "trigger": record.trigger,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "duration_s": record.duration_s,
        "parameters": dict(record.parameters or {}),
        "scraps": scraps,
        "error": (
            {
                "ename": error.ename,
                "evalue": error.evalue,
                "cell_index": error.cell_index,
                "cell_number": error.cell_number,
            }
            if error is not None
            else None
        ),
        "output_location": output_location,
        "nbprod_version": __version__,
    }
    return json.loads(json.dumps(data, default=str))  # JSON-able, whatever the values were


def pipeline_payload(event: str, run: Any) -> dict[str, Any]:
    """A pipeline run's document (``pipelines.record.PipelineRun``): the keys of a run's,
    ``job`` being the pipeline, plus ``pipeline`` and each step's status; ``error`` names
    the first step that failed."""
    failed = [s for s in run.steps.values() if str(s.status.value) == "failed"]
    error = None
    if failed:
        step = failed[0]
        error = {"ename": "StepFailed", "evalue": f"step {step.name}: {step.error or 'failed'}"}
    started = [s.started_at for s in run.steps.values() if s.started_at]
    duration = None
    if run.finished_at and run.created_at:
        from nbprod.records import parse_iso

        elapsed = parse_iso(run.finished_at) - parse_iso(run.created_at)
        duration = round(elapsed.total_seconds(), 3)
    data = {
        "event": event,
        "run_id": run.run_id,
        "job": run.pipeline,
        "pipeline": run.pipeline,
        "status": str(run.status.value),
        "attempt": 1,
        "scheduled_for": run.scheduled_for,
        "trigger": run.trigger,
        "started_at": min(started) if started else None,
        "finished_at": run.finished_at,
        "duration_s": duration,
        "parameters": {
            f"{step}.{name}": value
            for step, values in (run.overrides or {}).items()
            for name, value in values.items()
        },
        "scraps": {},
        "steps": {name: str(s.status.value) for name, s in run.steps.items()},
        "error": error,
        "output_location": None,
        "nbprod_version": __version__,
    }
    return json.loads(json.dumps(data, default=str))


def send_pipeline(
    event: str,
    run: Any,
    notifications: dict[str, Any],
    *,
    settings: Settings,
    timeout: float = 10.0,
) -> list[Delivery]:
    """``send`` for a pipeline run (``pipeline_payload``); never raises."""
    try:
        targets = _targets(event, notifications)
        if not targets:
            return []
        return _send_doc(
            event, pipeline_payload(event, run), run.run_id, targets, settings, timeout
        )
    except Exception as exc:  # noqa: BLE001 - a notifier must never fail a pipeline
        logger.warning("notification %s failed: %s", event, exc)
        return []


def end_event(status: str) -> str:
    """The event a run's ending sends: on_success, or on_failure for every other terminal
    status (failed, timed out, kernel died, cancelled, lost)."""
    return "on_success" if str(getattr(status, "value", status)) == "succeeded" else "on_failure"


def send(
    event: str,
    record: RunRecord,
    notifications: dict[str, Any],
    *,
    settings: Settings,
    output_location: str | None = None,
    timeout: float = 10.0,
) -> list[Delivery]:
    """Notify every target configured for ``event``; never raises, never waits past ``timeout``."""
    try:
        return _send(event, record, notifications, settings, output_location, timeout)
    except Exception as exc:  # noqa: BLE001 - a notifier must never fail a run
        logger.warning(
            "notification %s failed: %s",
            event,
            exc,
            extra={"event": event, "run_id": getattr(record, "run_id", None), "ok": False},
        )
        return []


def _send(
    event: str,
    record: RunRecord,
    notifications: dict[str, Any],
    settings: Settings,
    output_location: str | None,
    timeout: float,
) -> list[Delivery]:
    targets = _targets(event, notifications)
    if not targets:
        return []
    doc = payload(event, record, output_location)
    return _send_doc(event, doc, record.run_id, targets, settings, timeout)


def _targets(event: str, notifications: Any) -> list[Any]:
    """The targets configured for ``event`` (none for anything that is not a list)."""
    targets = notifications.get(event) if isinstance(notifications, dict) else None
    return targets if isinstance(targets, list) else []


def _send_doc(
    event: str,
    doc: dict[str, Any],
    run_id: str,
    targets: list[Any],
    settings: Settings,
    timeout: float,
) -> list[Delivery]:
    results: list[Delivery | None] = [None] * len(targets)
    labels = [label(t) for t in targets]
    threads = []
    for index, target in enumerate(targets):

        def work(index: int = index, target: Any = target) -> None:
            results[index] = _deliver(target, labels[index], doc, settings, timeout)

        thread = threading.Thread(target=work, name=f"nbprod-notify-{index}", daemon=True)
        thread.start()
        threads.append(thread)
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    deliveries = []
    for index, result in enumerate(results):
        if result is None:
            result = Delivery(labels[index], False, f"timed out after {timeout:g}s", timeout)
        deliveries.append(result)
        extra = {"event": event, "run_id": run_id, "target": result.target}
        extra.update(ok=result.ok, error=result.error, seconds=round(result.seconds, 3))
        if result.ok:
            logger.info("notified %s (%s)", result.target, event, extra=extra)
        else:
            logger.warning(
                "notifying %s (%s) failed: %s", result.target, event, result.error, extra=extra
            )
    return deliveries


def label(target: Any) -> str:
    """A target's description for logs and results, with credentials and tokens removed."""
    if not isinstance(target, dict):
        return f"invalid target {type(target).__name__}"
    kind = str(target.get("type"))
    if kind == "email":
        return f"email {', '.join(_recipients(target))}"
    url = str(target.get("url") or "")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        # A Slack webhook's path is its secret; a plain webhook's query may hold a token.
        path = "/…" if kind == "slack" and parts.path.strip("/") else parts.path
        url = urlunsplit((parts.scheme, host, path, "", ""))
    except ValueError:
        url = "<invalid url>"
    return f"{kind} {url}"


def _deliver(
    target: Any,
    name: str,
    doc: dict[str, Any],
    settings: Settings,
    timeout: float,
) -> Delivery:
    start = time.monotonic()
    try:
        if not isinstance(target, dict):
            raise ValueError("a target must be a mapping with a 'type'")
        kind = target.get("type")
        if kind == "webhook":
            _post(target, doc, timeout, extra_headers=target.get("headers"))
        elif kind == "slack":
            _post(target, slack_body(doc), timeout)
        elif kind == "email":
            _email(target, doc, settings, timeout)
        else:
            raise ValueError(f"unknown target type {kind!r} (webhook, slack or email)")
    except Exception as exc:  # noqa: BLE001
        return Delivery(name, False, _describe(exc), time.monotonic() - start)
    return Delivery(name, True, None, time.monotonic() - start)


def _describe(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}".strip()
    if isinstance(exc, urllib.error.URLError):
        return f"cannot reach receiver: {exc.reason}"
    if isinstance(exc, TimeoutError):
        return f"timed out: {exc}" if str(exc) else "timed out"
    return str(exc) or type(exc).__name__


def url_problem(url: Any) -> str | None:
    """Why ``url`` cannot be a webhook receiver, or None: only ``http(s)://host/...``
    (never ``javascript:``, ``file:`` or a URL urllib would read from disk)."""
    if not isinstance(url, str) or not url:
        return "the url must be text"
    if len(url) > 2048 or any(ord(c) < 32 or c == "\x7f" for c in url):
        return "the url must be one line of at most 2048 characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        return f"the url is not valid ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return "the url must be http:// or https://"
    if not parts.hostname:
        return "the url needs a host (http://host/path)"
    return None


def _post(target: dict, body: dict, timeout: float, extra_headers: Any = None) -> None:
    url = target.get("url")
    problem = url_problem(url)
    if problem:
        raise ValueError(problem)
    headers = {"Content-Type": "application/json", "User-Agent": f"nbprod/{__version__}"}
    if extra_headers is not None:
        if not isinstance(extra_headers, dict):
            raise ValueError("'headers' must be a mapping of name: value")
        headers.update({str(k): str(v) for k, v in extra_headers.items()})
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if not 200 <= response.status < 300:
            raise ValueError(f"HTTP {response.status} {response.reason}")


def _summary(doc: dict[str, Any]) -> str:
    line = f"nbprod: job {doc['job']} {doc['status']} (run {doc['run_id']})"
    if doc.get("duration_s") is not None:
        line += f" in {doc['duration_s']:.1f}s"
    if doc.get("error"):
        line += f": {doc['error']['ename']}: {doc['error']['evalue']}"
    return line


def _facts(doc: dict[str, Any]) -> list[tuple[str, str]]:
    facts = [("Job", doc["job"]), ("Status", doc["status"]), ("Run", doc["run_id"])]
    facts += [("Trigger", doc["trigger"]), ("Attempt", str(doc["attempt"]))]
    if doc.get("scheduled_for"):
        facts.append(("Scheduled for", str(doc["scheduled_for"])))
    if doc.get("started_at"):
        facts.append(("Started", doc["started_at"]))
    if doc.get("duration_s") is not None:
        facts.append(("Duration", f"{doc['duration_s']:.1f}s"))
    error = doc.get("error")
    if error:
        where = ""
        if error.get("cell_index") is not None:
            where = f" at {cell_label(error.get('cell_number'))}"
        facts.append(("Error", f"{error['ename']}: {error['evalue']}{where}"))
    if doc.get("parameters"):
        facts.append(("Parameters", _pairs(doc["parameters"])))
    if doc.get("scraps"):
        facts.append(("Scraps", _pairs(doc["scraps"])))
    if doc.get("output_location"):
        facts.append(("Output", doc["output_location"]))
    return facts


def _pairs(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in values.items())


def _mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(doc: dict[str, Any]) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook message for a payload."""
    lines = [f"*{name}:* {_mrkdwn(value)}" for name, value in _facts(doc)]
    return {
        "text": _summary(doc),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}],
    }


def _recipients(target: dict) -> list[str]:
    to = target.get("to")
    items = [to] if isinstance(to, str) else list(to or [])
    return [a.strip() for item in items for a in str(item).split(",") if a.strip()]


def _email(target: dict, doc: dict[str, Any], settings: Settings, timeout: float) -> None:
    host = getattr(settings, "smtp_host", None)
    if not host:
        raise ValueError("no SMTP server configured (NBPROD_SMTP_HOST)")
    recipients = _recipients(target)
    if not recipients:
        raise ValueError("an email target needs 'to'")
    subject = str(target.get("subject") or _DEFAULT_SUBJECT)
    for key in ("job", "status", "run_id"):
        subject = subject.replace("{" + key + "}", str(doc[key]))
    message = EmailMessage()
    message["Subject"] = " ".join(subject.split())
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(recipients)
    body = [_summary(doc), ""] + [f"{name}: {value}" for name, value in _facts(doc)]
    message.set_content("\n".join(body) + "\n")
    attachment = json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8")
    message.add_attachment(attachment, maintype="application", subtype="json", filename="run.json")
    with smtplib.SMTP(host, settings.smtp_port, timeout=timeout) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message, to_addrs=recipients)
