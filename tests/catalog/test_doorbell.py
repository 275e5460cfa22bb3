"""The doorbell: a ring wakes every idle listener of one catalog, and only of that one."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

from nbprod.catalog import doorbell
from nbprod.catalog.doorbell import Listener


def test_a_ring_wakes_every_listener_of_the_catalog_and_no_other(tmp_path) -> None:
    url, other = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"
    with Listener(url) as one, Listener(url) as two, Listener(other) as stranger:
        assert not one.wait(0.05)
        assert doorbell.ring(url) == 2
        assert one.wait(1) and two.wait(1)
        assert not stranger.wait(0.05)
        # rings while busy are drained: they wake one wait, not one each
        doorbell.ring(url)
        doorbell.ring(url)
        assert one.wait(1) and not one.wait(0.05)


def test_a_ring_interrupts_a_long_wait_at_once(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/a.db"
    with Listener(url) as listener:
        threading.Timer(0.2, doorbell.ring, args=(url,)).start()
        started = time.monotonic()
        assert listener.wait(30)
        assert time.monotonic() - started < 5


def test_a_dead_listeners_socket_is_removed_by_the_next_ring(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/a.db"
    code = (
        "import os, sys; from nbprod.catalog.doorbell import Listener; "
        f"l = Listener({url!r}); print(l.path, flush=True); os._exit(0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    left = done.stdout.strip()
    assert os.path.exists(left)  # killed without closing: its socket file stays
    assert doorbell.ring(url) == 0
    assert not os.path.exists(left)


def test_the_bell_folder_is_private_and_short(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/{'x' * 200}/catalog.db"
    with Listener(url) as listener:
        assert listener.path is not None and len(str(listener.path)) < 100
        assert oct(listener.path.parent.parent.stat().st_mode & 0o777) == "0o700"


def test_queueing_a_due_run_rings_and_a_later_one_does_not(tmp_path) -> None:
    from nbprod.catalog.db import Catalog
    from nbprod.catalog.queue import Queue

    catalog = Catalog.open(f"sqlite:///{tmp_path}/catalog.db")
    try:
        queue = Queue(catalog)
        now = datetime.now(timezone.utc)
        with Listener(queue.url) as listener:
            queue.enqueue(
                "store", "job", now, run_id="r-later", available_at=now + timedelta(hours=1)
            )
            assert not listener.wait(0.1)
            queue.enqueue("store", "job", now, run_id="r-now")
            assert listener.wait(1)
    finally:
        catalog.close()
