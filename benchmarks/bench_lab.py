"""JupyterLab's *Run now* (run changes pushed, and polled) vs. ``nbprod exec``, trivial notebook.

Usage::

    python benchmarks/bench_lab.py [--repeat 5] [--json PATH]

A real ``jupyter lab`` (127.0.0.1, a token, NBPROD_HOME in a temporary folder, the embedded
scheduler with its worker processes) is driven in Debian's headless Chromium. Each round opens
the Schedule dialog on ``trivial.ipynb`` (two code cells), sets a fresh job name and clicks
*Run now*; a script in the page notes ``performance.now()`` at the click and, watching the Jobs
panel's DOM every 10 ms, when the run's row first shows ``running`` and ``succeeded``. Two
servers in turn: one pushing run changes (``/nbprod/api/events``, the default), one with
``NBPROD_LIVE_EVENTS=off`` where the panel polls every 0.5 s (so its figures include up to
0.5 s of refresh delay). The same notebook is then run ``--repeat`` times with ``nbprod exec``
(whole command, wall clock). Prints a table of medians (and min/max).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import nbprod_command  # noqa: E402
from tests.lab.conftest import TOKEN, LabServer  # noqa: E402
from tests.lab.test_lab_ui import lab_settings  # noqa: E402

WATCH = """
([job, t0]) => new Promise((resolve, reject) => {
  const seen = {};
  const timer = setInterval(() => {
    const row = document.querySelector(`.nbprod-run[data-job="${job}"]`);
    const status = row && row.dataset.status;
    if (status && !(status in seen)) { seen[status] = performance.now() - t0; }
    if (status === 'succeeded') {
      clearInterval(timer);
      resolve({ seen, shownAt: Date.now(), runId: row.dataset.runId });
    }
    if (status === 'failed') { clearInterval(timer); reject(new Error('run failed')); }
  }, 10);
  setTimeout(() => {
    clearInterval(timer);
    reject(new Error('timeout: ' + JSON.stringify(seen)));
  }, 120000);
})
"""


def lab_rounds(server: LabServer, repeat: int, live: str) -> list[dict[str, float]]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 950})
        page.goto(f"{server.base}/lab/tree/trivial.ipynb?token={TOKEN}&reset")
        button = page.locator(".nbprod-schedule-button").first
        button.wait_for(timeout=60_000)
        panel = page.locator(f'.nbprod-jobs-panel[data-live="{live}"]')
        panel.wait_for(state="attached", timeout=30_000)  # pushed, or polled, as meant
        for index in range(repeat + 1):  # round 0 warms up (worker imports, kernel caches)
            job = f"bench-{index}"
            button.click()
            form = page.locator(".nbprod-dialog .nbprod-form")
            form.locator('input[name="name"]').fill(job)
            run_now = form.locator(".nbprod-run-now")
            run_now.evaluate(
                "b => b.addEventListener('click', () => { window.__t0 = performance.now(); },"
                " {capture: true, once: true})"
            )
            run_now.click()
            t0 = page.evaluate("window.__t0")
            watched = page.evaluate(WATCH, [job, t0])
            seen = watched["seen"]
            if index:
                result = {k: v / 1000 for k, v in seen.items()}
                result["end_to_panel"] = watched["shownAt"] / 1000 - finished_at(
                    server, watched["runId"]
                )
                results.append(result)
                running = result.get("running", float("nan"))
                print(
                    f"  lab run {index} ({live}): running {running:.2f} s,"
                    f" succeeded {result['succeeded']:.2f} s,"
                    f" run's end -> panel {result['end_to_panel']:.3f} s",
                    flush=True,
                )
        browser.close()
    return results


def finished_at(server: LabServer, run_id: str) -> float:
    """When the run ended by its record (the runner's clock, the machine the browser is on):
    what follows is publishing, indexing and getting the news to the panel."""
    from nbprod.records import parse_iso

    return parse_iso(server.get(f"/nbprod/api/runs/{run_id}").json()["finished_at"]).timestamp()


def exec_rounds(server: LabServer, repeat: int) -> list[float]:
    times = []
    for index in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(
            [*nbprod_command(), "exec", str(server.root / "trivial.ipynb"), "-q"],
            env=server.env,
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"nbprod exec failed:\n{done.stderr}")
        times.append(elapsed)
        print(f"  nbprod exec {index + 1}: {elapsed:.2f} s", flush=True)
    return times


def describe(values: list[float], digits: int = 2) -> str:
    if not values:
        return "—"
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{mid:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})"


def lab_server(base: Path, live: bool) -> LabServer:
    lab_settings(base / "lab-settings")  # polling (when the panel polls) every 0.5 s
    extra = {} if live else {"NBPROD_LIVE_EVENTS": "off"}
    return LabServer(base, app="lab", extra_env=extra).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    lab: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="nbprod-bench-lab-") as tmp:
        for mode, live in (("push", True), ("poll", False)):
            server = lab_server(Path(tmp) / mode, live)
            try:
                print(f"JupyterLab Run now, run changes {mode}ed (browser clock):", flush=True)
                lab[mode] = lab_rounds(server, args.repeat, mode)
                if mode == "poll":
                    print("nbprod exec (wall clock):", flush=True)
                    cli = exec_rounds(server, args.repeat)
            finally:
                server.stop()
    print()
    print(f"trivial notebook, {args.repeat} runs each; median (min–max) seconds")
    print()
    print("| path | click → `running` | click → `succeeded` | run's end → panel shows it |")
    print("|---|---|---|---|")
    for mode, label in (("push", "pushed (event stream)"), ("poll", "polled every 0.5 s")):
        running = [r["running"] for r in lab[mode] if "running" in r]
        succeeded = [r["succeeded"] for r in lab[mode]]
        shown = [r["end_to_panel"] for r in lab[mode]]
        print(
            f"| JupyterLab *Run now*, Jobs panel {label} | {describe(running)} |"
            f" {describe(succeeded)} | {describe(shown, 3)} |"
        )
    print(f"| `nbprod exec` (whole command) | — | {describe(cli)} | — |")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": platform.platform(),
                    "python": sys.version.split()[0],
                    "lab_push": lab["push"],
                    "lab_poll": lab["poll"],
                    "exec": cli,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
