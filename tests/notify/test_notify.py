"""Notifications against real receivers on 127.0.0.1: an HTTP server and an SMTP server."""

from __future__ import annotations

import email
import json
import logging
import threading
import time
from collections.abc import Iterator
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from nbprod import __version__, notify
from nbprod.config import Settings
from nbprod.errors import BadInput
from nbprod.records import ErrorInfo, NotebookInfo, RunRecord, RunStatus
from tests.conftest import free_port


def make_record(status: RunStatus | str = RunStatus.FAILED, **changes) -> RunRecord:
    values = dict(
        run_id="20261126T144248354Z-37981dc9",
        job="daily-sales",
        status=status,
        notebook=NotebookInfo(path="/nb/sales.ipynb", name="sales.ipynb", sha256="ab" * 32),
        kernel="python3",
        store="/store",
        trigger="schedule",
        attempt=2,
        started_at="2026-11-26T14:42:48.354Z",
        finished_at="2026-11-26T14:42:50.454Z",
        duration_s=2.1,
        parameters={"region": "eu", "days": 7},
        scraps={
            "total_revenue": {"encoder": "json", "inline": True, "value": 1234.5},
            "chart": {"encoder": "display", "inline": False},
        },
    )
    if status not in (RunStatus.SUCCEEDED, RunStatus.RUNNING):
        values["error"] = ErrorInfo(
            ename="KeyError", evalue="'revenue'", cell_index=4, cell_number=2
        )
    values.update(changes)
    return RunRecord(**values)


# --- a real HTTP receiver -------------------------------------------------------------------


class Receiver:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        self.delay = 0.0
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                if receiver.delay:
                    receiver.release.wait(receiver.delay)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def json(self, index: int = 0) -> dict:
        return json.loads(self.requests[index]["body"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.thread.start()
    yield server
    server.release.set()
    server.server.shutdown()
    server.server.server_close()
    server.thread.join(5)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, store=str(tmp_path / "store"))


def test_webhook_gets_the_payload_of_a_failed_run(receiver: Receiver, settings: Settings):
    record = make_record()
    hooks = {
        "on_failure": [
            {"type": "webhook", "url": receiver.url("/hook?token=s3cret"), "headers": {"X-T": "1"}}
        ]
    }
    [delivery] = notify.send(
        notify.end_event(record.status),
        record,
        hooks,
        settings=settings,
        output_location="/store/out.ipynb",
    )
    assert delivery.ok, delivery.error
    assert delivery.target == f"webhook http://127.0.0.1:{receiver.port}/hook"
    assert "s3cret" not in delivery.target
    [request] = receiver.requests
    assert request["path"] == "/hook?token=s3cret"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["User-Agent"] == f"nbprod/{__version__}"
    assert request["headers"]["X-T"] == "1"
    body = receiver.json()
    assert body == {
        "event": "on_failure",
        "run_id": record.run_id,
        "job": "daily-sales",
        "status": "failed",
        "attempt": 2,
        "scheduled_for": None,
        "trigger": "schedule",
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "duration_s": 2.1,
        "parameters": {"region": "eu", "days": 7},
        "scraps": {"total_revenue": 1234.5},
        "error": {"ename": "KeyError", "evalue": "'revenue'", "cell_index": 4, "cell_number": 2},
        "output_location": "/store/out.ipynb",
        "nbprod_version": __version__,
    }


def test_slack_body_has_text_and_blocks(receiver: Receiver, settings: Settings):
    hooks = {"on_failure": [{"type": "slack", "url": receiver.url("/services/T0/B0/XYZsecret")}]}
    [delivery] = notify.send("on_failure", make_record(), hooks, settings=settings)
    assert delivery.ok, delivery.error
    assert "XYZsecret" not in delivery.target and delivery.target.startswith("slack http://")
    body = receiver.json()
    assert "daily-sales" in body["text"] and "failed" in body["text"]
    [block] = body["blocks"]
    text = block["text"]["text"]
    assert block["type"] == "section" and block["text"]["type"] == "mrkdwn"
    for fact in ("daily-sales", "failed", "20261126T144248354Z-37981dc9", "2.1s"):
        assert fact in text
    assert "KeyError: 'revenue' at cell 2" in text
    assert 'region="eu"' in text and "days=7" in text


def test_a_receiver_answering_500_is_a_failed_delivery(
    receiver: Receiver, settings: Settings, caplog: pytest.LogCaptureFixture
):
    receiver.status = 500
    hooks = {"on_failure": [{"type": "webhook", "url": receiver.url()}]}
    with caplog.at_level(logging.INFO, logger="nbprod.notify"):
        [delivery] = notify.send("on_failure", make_record(), hooks, settings=settings)
    assert not delivery.ok and "500" in delivery.error
    [log] = [r for r in caplog.records if r.name == "nbprod.notify"]
    assert log.levelno == logging.WARNING
    assert (log.event, log.run_id, log.ok) == ("on_failure", make_record().run_id, False)
    assert log.target == delivery.target


def test_a_slow_receiver_does_not_block_past_the_timeout(receiver: Receiver, settings: Settings):
    receiver.delay = 5
    hooks = {
        "on_failure": [
            {"type": "webhook", "url": receiver.url("/slow")},
            {"type": "slack", "url": receiver.url("/slow")},
        ]
    }
    start = time.monotonic()
    deliveries = notify.send("on_failure", make_record(), hooks, settings=settings, timeout=1)
    assert time.monotonic() - start < 2
    assert len(deliveries) == 2
    for delivery in deliveries:
        assert not delivery.ok and "timed out" in delivery.error


def test_a_closed_port_is_a_failed_delivery(settings: Settings, caplog):
    hooks = {"on_failure": [{"type": "webhook", "url": f"http://127.0.0.1:{free_port()}/x"}]}
    [delivery] = notify.send("on_failure", make_record(), hooks, settings=settings)
    assert not delivery.ok and delivery.error


def test_events_route_to_their_own_targets(receiver: Receiver, settings: Settings):
    hooks = {
        event: [{"type": "webhook", "url": receiver.url(f"/{event}")}] for event in notify.EVENTS
    }
    running = make_record(RunStatus.RUNNING, finished_at=None, duration_s=None)
    notify.send("on_start", running, hooks, settings=settings)
    succeeded = make_record(RunStatus.SUCCEEDED)
    assert notify.end_event(succeeded.status) == "on_success"
    [delivery] = notify.send(
        notify.end_event(succeeded.status), succeeded, hooks, settings=settings
    )
    assert delivery.ok
    assert [r["path"] for r in receiver.requests] == ["/on_start", "/on_success"]
    assert [receiver.json(i)["event"] for i in range(2)] == ["on_start", "on_success"]
    assert receiver.json(1)["error"] is None
    # no target for the event: nothing is sent
    assert notify.send("on_failure", make_record(), {"on_success": []}, settings=settings) == []


@pytest.mark.parametrize(
    "status", [RunStatus.TIMED_OUT, RunStatus.KERNEL_DIED, RunStatus.CANCELLED, "lost"]
)
def test_every_other_terminal_status_is_a_failure(status):
    record = make_record(status)
    assert notify.end_event(record.status) == "on_failure"
    record.scheduled_for = "2026-11-26T14:00:00Z"  # the scheduler's field, when it exists
    doc = notify.payload("on_failure", record)
    assert doc["status"] == str(getattr(status, "value", status))
    assert doc["scheduled_for"] == "2026-11-26T14:00:00Z"
    summary = notify.slack_body(doc)["blocks"][0]["text"]["text"]
    assert "*Scheduled for:* 2026-11-26T14:00:00Z" in summary


def test_bad_targets_never_raise(settings: Settings):
    hooks = {
        "on_failure": [
            "not a mapping",
            {"type": "pager", "url": "http://x"},
            {"type": "webhook", "url": "file:///etc/passwd"},
            {"type": "webhook", "url": "http://127.0.0.1:1/", "headers": ["bad"]},
        ]
    }
    deliveries = notify.send("on_failure", make_record(), hooks, settings=settings, timeout=5)
    assert [d.ok for d in deliveries] == [False] * 4
    assert all(d.error for d in deliveries)
    assert notify.send("on_failure", make_record(), None, settings=settings) == []  # type: ignore[arg-type]


# --- a real SMTP server ---------------------------------------------------------------------


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, Mailbox]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


def smtp_settings(tmp_path: Path, port: int) -> Settings:
    return Settings.load(
        environ={
            "NBPROD_HOME": str(tmp_path),
            "NBPROD_CONFIG": str(tmp_path / "none.toml"),
            "NBPROD_SMTP_HOST": "127.0.0.1",
            "NBPROD_SMTP_PORT": str(port),
            "NBPROD_SMTP_FROM": "jobs@example.org",
            "NBPROD_SMTP_STARTTLS": "no",
        }
    )


def test_email_arrives_with_subject_body_and_run_json(smtp_server, tmp_path: Path):
    controller, mailbox = smtp_server
    settings = smtp_settings(tmp_path, controller.port)
    hooks = {"on_failure": [{"type": "email", "to": ["a@example.org", "b@example.org"]}]}
    [delivery] = notify.send(
        "on_failure", make_record(), hooks, settings=settings, output_location="/store/o.ipynb"
    )
    assert delivery.ok, delivery.error
    assert delivery.target == "email a@example.org, b@example.org"
    [(rcpts, raw)] = mailbox.messages
    assert rcpts == ["a@example.org", "b@example.org"]
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message["Subject"] == "[nbprod] daily-sales failed (20261126T144248354Z-37981dc9)"
    assert message["From"] == "jobs@example.org"
    text = message.get_body(("plain",)).get_content()
    for fact in ("daily-sales", "failed", "KeyError: 'revenue' at cell 2", "/store/o.ipynb"):
        assert fact in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "run.json"
    assert attachment.get_content_type() == "application/json"
    doc = json.loads(attachment.get_content())
    assert doc["run_id"] == "20261126T144248354Z-37981dc9"
    assert doc["error"]["ename"] == "KeyError" and doc["scraps"] == {"total_revenue": 1234.5}


def test_email_subject_template(smtp_server, tmp_path: Path):
    controller, mailbox = smtp_server
    settings = smtp_settings(tmp_path, controller.port)
    target = {"type": "email", "to": "ops@example.org", "subject": "{job} is {status} {x}"}
    record = make_record(RunStatus.SUCCEEDED)
    [delivery] = notify.send("on_success", record, {"on_success": [target]}, settings=settings)
    assert delivery.ok, delivery.error
    message = email.message_from_bytes(mailbox.messages[0][1], policy=policy.default)
    assert message["Subject"] == "daily-sales is succeeded {x}"


def test_email_to_a_stopped_server_fails_quietly(tmp_path: Path):
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    controller.stop()
    settings = smtp_settings(tmp_path, controller.port)
    hooks = {"on_failure": [{"type": "email", "to": "a@example.org"}]}
    [delivery] = notify.send("on_failure", make_record(), hooks, settings=settings, timeout=5)
    assert not delivery.ok and delivery.error
    assert mailbox.messages == []


def test_email_without_smtp_host_says_so(settings: Settings):
    hooks = {"on_failure": [{"type": "email", "to": "a@example.org"}]}
    [delivery] = notify.send("on_failure", make_record(), hooks, settings=settings)
    assert not delivery.ok
    assert delivery.error == "no SMTP server configured (NBPROD_SMTP_HOST)"


def test_smtp_settings_are_typed(tmp_path: Path):
    base = {"NBPROD_HOME": str(tmp_path), "NBPROD_CONFIG": str(tmp_path / "none.toml")}
    for text, expected in [("true", True), ("1", True), ("YES", True), ("no", False)]:
        settings = Settings.load(environ={**base, "NBPROD_SMTP_STARTTLS": text})
        assert settings.smtp_starttls is expected
    settings = Settings.load(environ={**base, "NBPROD_SMTP_PORT": "2525"})
    assert settings.smtp_port == 2525 and settings.smtp_from == "nbprod@localhost"
    with pytest.raises(BadInput):
        Settings.load(environ={**base, "NBPROD_SMTP_STARTTLS": "maybe"})
    secret = Settings.load(environ={**base, "NBPROD_SMTP_PASSWORD": "hunter2"})
    assert secret.smtp_password == "hunter2" and "hunter2" not in repr(secret)
