"""JupyterLab's *Run now* vs. ``nbprod exec`` for a trivial notebook.

Usage::

    python benchmarks/bench_lab.py [--repeat 5] [--json PATH]

A real ``jupyter lab`` (127.0.0.1, a token, NBPROD_HOME in a temporary folder, the embedded
scheduler with its worker processes) is driven in Debian's headless Chromium. Each round opens
the Schedule dialog on ``trivial.ipynb`` (two code cells), sets a fresh job name and clicks
*Run now*; a script in the page notes ``performance.now()`` at the click and, polling the Jobs
panel's DOM every 10 ms, when the run's row first shows ``running`` and ``succeeded`` (the
panel refreshes every 0.5 s here, so each figure includes up to 0.5 s of refresh delay). The
same notebook is then run ``--repeat`` times with ``nbprod exec`` (whole command, wall clock).
Prints a table of medians (and min/max).
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
    if (status === 'succeeded') { clearInterval(timer); resolve(seen); }
    if (status === 'failed') { clearInterval(timer); reject(new Error('run failed')); }
  }, 10);
  setTimeout(() => {
    clearInterval(timer);
    reject(new Error('timeout: ' + JSON.stringify(seen)));
  }, 120000);
})
"""


def lab_rounds(server: LabServer, repeat: int) -> list[dict[str, float]]:
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
            seen = page.evaluate(WATCH, [job, t0])
            if index:
                results.append({k: v / 1000 for k, v in seen.items()})
                print(
                    f"  lab run {index}: running {seen.get('running', float('nan')) / 1000:.2f} s,"
                    f" succeeded {seen['succeeded'] / 1000:.2f} s",
                    flush=True,
                )
        browser.close()
    return results


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


def describe(values: list[float]) -> str:
    if not values:
        return "—"
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nbprod-bench-lab-") as tmp:
        base = Path(tmp)
        lab_settings(base / "lab-settings")
        server = LabServer(base, app="lab").start()
        try:
            print("JupyterLab Run now (browser clock):", flush=True)
            lab = lab_rounds(server, args.repeat)
            print("nbprod exec (wall clock):", flush=True)
            cli = exec_rounds(server, args.repeat)
        finally:
            server.stop()
    running = [r["running"] for r in lab if "running" in r]
    succeeded = [r["succeeded"] for r in lab]
    print()
    print(f"trivial notebook, {args.repeat} runs each; median (min–max) seconds")
    print()
    print("| path | click → `running` | click → `succeeded` |")
    print("|---|---|---|")
    print(f"| JupyterLab *Run now* (Jobs panel) | {describe(running)} | {describe(succeeded)} |")
    print(f"| `nbprod exec` (whole command) | — | {describe(cli)} |")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": platform.platform(),
                    "python": sys.version.split()[0],
                    "lab": lab,
                    "exec": cli,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
